// Extreme but well-formed scenario values: each is either rejected by
// validation with a named JSON path, or runs with virtual time that never
// goes backwards. Livelocks stop with the watchdog; peer text stays printable.
#include "sim_helpers.hpp"

#include "protocols/registry.hpp"
#include "protocols/common/invariant.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/printable.hpp"
#include "sim/drivers/filexfer_driver.hpp"
#include "sim/results.hpp"
#include "sim/sim_time.hpp"
#include "sim/summary.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <limits>

using namespace peerlab;

namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    sim::parse_scenario(j.dump(), "test");
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

// Safe for JSON, SQLite and a terminal: valid UTF-8, no control characters.
bool safe_text(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  try {
    (void)nlohmann::json(s).dump(); // strict: throws on invalid UTF-8
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Runs `s` and checks that virtual time never decreases between role events
// and that every ended download has a duration between 0 and the run.
void require_monotone_run(const sim::scenario& s, sim::engine eng) {
  sim::sim_options o;
  o.eng = eng;
  time_us last = 0;
  std::uint64_t backwards = 0, events = 0;
  o.on_event = [&](std::uint32_t, time_us t, const event&) {
    ++events;
    if (t < last)
      ++backwards;
    last = t;
  };
  sim::simulator sim(s, o);
  sim.run();
  CHECK(backwards == 0);
  CHECK(events > 0);
  CHECK(sim.now_time() == s.duration);
  for (auto& r : sim::filexfer_sim::outcomes_of(sim).records) {
    CHECK(r.end >= 0);
    CHECK(r.end <= s.duration);
    CHECK(r.duration_us >= 0);
    CHECK(r.duration_us <= static_cast<double>(s.duration));
  }
}

// A churn scenario small enough for unit tests.
nlohmann::json churning() {
  auto j = test::small_transfer(3, 8, false);
  j["duration"] = "3m";
  j["churn"] = {{{"group", "leechers"},
                 {"session", {{"dist", "exponential"}, {"mean", "40s"}}},
                 {"downtime", "10s"}}};
  return j;
}

} // namespace

TEST_CASE("time conversions saturate instead of overflowing", "[sim][time]") {
  CHECK(sim::delay_us(1.5) == 1);
  CHECK(sim::delay_us(-3) == 0);
  CHECK(sim::delay_us(std::nan("")) == 0);
  CHECK(sim::delay_us(1e300) == sim::time_never);
  CHECK(sim::delay_us(INFINITY) == sim::time_never);
  CHECK(sim::delay_us(9223372036854775808.0) == sim::time_never);
  CHECK(sim::delay_us(9.2e18) == static_cast<time_us>(9.2e18));
  CHECK(sim::later(10, 5) == 15);
  CHECK(sim::later(10, -5) == 10);
  CHECK(sim::later(sim::time_never - 3, 10) == sim::time_never);
  CHECK(sim::later(sim::time_never, sim::time_never) == sim::time_never);
  CHECK(sim::times(3, 7) == 21);
  CHECK(sim::times(0, sim::time_never) == 0);
  CHECK(sim::times(std::numeric_limits<std::uint64_t>::max(), 2) == sim::time_never);
}

TEST_CASE("bandwidth below 1kbit/s or zero is rejected with its path", "[sim][trust]") {
  auto j = test::small_transfer();
  j["network"]["bandwidth"]["up"] = 1e-20;
  CHECK(error_of(j) == "network.bandwidth.up: expected a rate of at least 1kbit/s (125 B/s), or "
                       "\"unlimited\", got 1e-20");
  j["network"]["bandwidth"]["up"] = 0;
  CHECK(error_of(j) ==
        "network.bandwidth.up: expected a rate above zero, or \"unlimited\" for no limit, got 0");
  j["network"]["bandwidth"]["up"] = "0Mbit/s";
  CHECK(starts_with(error_of(j), "network.bandwidth.up: expected a rate above zero"));
  j["network"]["bandwidth"]["up"] = "unlimited";
  CHECK(error_of(j) == "(no error)");
  j = test::small_transfer();
  j["groups"][1]["bandwidth"] = {{"down", "100bit/s"}};
  CHECK(starts_with(error_of(j), "groups[1].bandwidth.down: expected a rate of at least 1kbit/s"));
  j["groups"][1]["bandwidth"] = {{"down", "1kbit/s"}};
  CHECK(error_of(j) == "(no error)");
}

TEST_CASE("a tiny bandwidth built through the API keeps time monotone", "[sim][trust]") {
  // Validation no longer accepts it; the simulator must still stay sane.
  auto s = test::parse(test::small_transfer());
  s.duration = 2 * 60 * us_per_s;
  s.default_up_bps = 1e-20;
  for (auto eng : {sim::engine::actors, sim::engine::direct}) {
    CAPTURE(eng == sim::engine::actors);
    require_monotone_run(s, eng);
  }
}

TEST_CASE("the slowest accepted bandwidth runs with monotone time", "[sim][trust]") {
  auto j = test::small_transfer();
  j["duration"] = "2m";
  j["network"]["bandwidth"]["up"] = "1kbit/s";
  require_monotone_run(test::parse(j), sim::engine::direct);
}

TEST_CASE("a pareto session with shape 0.02 is rejected, and saturates through the API",
          "[sim][trust]") {
  auto j = churning();
  j["churn"][0]["session"] = {{"dist", "pareto"}, {"min", "10m"}, {"shape", 0.02}};
  auto err = error_of(j);
  CHECK(starts_with(err, "churn[0].session: pareto(min 10m00s, shape 0.020000) puts one sample in "
                         "1000 beyond "));
  CHECK(err.find("its 99.9th percentile must stay within 1000 years") != std::string::npos);
  // Heavy tails that stay within the horizon are fine.
  j["churn"][0]["session"] = {{"dist", "pareto"}, {"min", "10s"}, {"shape", 0.5}};
  CHECK(error_of(j) == "(no error)");
  // The same check covers every duration distribution.
  j = churning();
  j["network"]["latency"] = {{"model", "lognormal"}, {"median", "40ms"}, {"sigma", 20}};
  CHECK(starts_with(error_of(j), "network.latency: lognormal(median 40.0ms, sigma 20.000000) "
                                 "puts one sample in 1000 beyond"));
  j = churning();
  j["churn"][0]["downtime"] = {{"dist", "weibull"}, {"scale", "1m"}, {"shape", 0.03}};
  CHECK(starts_with(error_of(j), "churn[0].downtime: weibull(scale"));
  j = churning();
  j["churn"][0]["downtime"] = "400000d";
  CHECK(starts_with(error_of(j), "churn[0].downtime: constant("));

  // Built through the API, the samples are infinite: nodes simply never leave.
  auto s = test::parse(churning());
  s.churn[0].session.k = sim::distribution::kind::pareto;
  s.churn[0].session.a = 600.0 * us_per_s;
  s.churn[0].session.b = 0.02;
  require_monotone_run(s, sim::engine::direct);
}

TEST_CASE("zero session and downtime are rejected, through the API the watchdog stops them",
          "[sim][trust]") {
  auto j = churning();
  j["churn"][0]["session"] = "0s";
  j["churn"][0]["downtime"] = "0s";
  CHECK(error_of(j) == "churn[0]: session and downtime average 0us together: nodes would leave "
                       "and restart without virtual time passing; make their means add up to at "
                       "least 1ms");
  j["churn"][0]["downtime"] = "1ms";
  CHECK(error_of(j) == "(no error)");
  j["churn"][0]["downtime"] = "0s";
  j["churn"][0]["restart"] = false; // leaves once: progress
  CHECK(error_of(j) == "(no error)");

  auto s = test::parse(churning());
  s.churn[0].session = sim::distribution{};
  s.churn[0].downtime = sim::distribution{};
  for (auto eng : {sim::engine::actors, sim::engine::direct}) {
    CAPTURE(eng == sim::engine::actors);
    sim::sim_options o;
    o.eng = eng;
    o.max_events_per_instant = 5000;
    sim::simulator sim(s, o);
    try {
      sim.run();
      FAIL("the livelock ran to the end");
    } catch (const sim::watchdog_error& e) {
      std::string msg = e.what();
      CHECK(starts_with(msg, "watchdog: more than 5000 events at virtual time "));
      CHECK(msg.find("without time advancing (a livelock)") != std::string::npos);
      // Churn alternates a departure and a restart of one leecher.
      bool named = msg.find("control (churn leave) event on node") != std::string::npos ||
                   msg.find("node_up event on node") != std::string::npos;
      CHECK(named);
      CHECK(msg.find("of group \"leechers\"") != std::string::npos);
    }
    CHECK(sim.now_time() < s.duration);
  }
}

TEST_CASE("the watchdog leaves scenarios with many simultaneous events alone", "[sim][trust]") {
  auto s = test::parse(test::small_transfer());
  sim::simulator sim(s, {});
  CHECK(sim.max_events_per_instant() == limits::events_per_instant_max);
  sim.run();
  CHECK(sim.now_time() == s.duration);
}

TEST_CASE("peer text is escaped before stats, events and results", "[sim][trust]") {
  auto j = test::small_transfer(3, 6, false);
  j["duration"] = "90s";
  j["record_events"] = true;
  j["network"]["faults"] = {{"corrupt", 1.0}};
  auto s = test::parse(j);
  sim::sim_options o;
  std::uint64_t fields = 0, unsafe = 0;
  o.on_event = [&](std::uint32_t, time_us, const event& e) {
    for (auto& [k, v] : e.fields) {
      ++fields;
      unsafe += safe_text(v) ? 0 : 1;
    }
  };
  sim::simulator sim(s, o);
  sim.run();
  CHECK(fields > 0);
  CHECK(unsafe == 0);
  // Inject the worst a peer could send, through the seam.
  event bad{
    "download_failed", 0, {{"hash", "00"}, {"reason", "provider 2: \xff\xfe\x1b[2J\n"}}, {}};
  sim.emit(0, 0, std::move(bad));
  auto& reasons = sim::filexfer_sim::outcomes_of(sim).failure_reasons;
  CHECK(reasons.count("provider 2: \\xff\\xfe\\x1b[2J\\x0a") == 1);
  for (auto& [reason, n] : reasons)
    CHECK(safe_text(reason));
  for (auto& row : sim.recorded_events())
    CHECK_NOTHROW(nlohmann::json::parse(row.detail));
  auto summary = sim::summarize(sim, 0);
  CHECK_NOTHROW(summary.dump()); // strict UTF-8: would throw on raw peer bytes

  auto path = std::filesystem::temp_directory_path() / "peerlab_trust_corrupt.db";
  std::filesystem::remove(path);
  {
    sim::results_db db(path.string());
    sim::run_info info{"test", 0, summary, sim::evaluate_checkers(sim)};
    CHECK(db.append(sim, info) == 1);
  }
  std::filesystem::remove(path);
}

TEST_CASE("the number of distinct failure reasons is bounded", "[sim][trust]") {
  auto s = test::parse(test::small_transfer(1, 1, false));
  sim::simulator sim(s, {});
  for (std::size_t i = 0; i < limits::failure_reasons_max + 50; ++i)
    sim.emit(0, 0, event{"download_failed", 0, {{"reason", "r" + std::to_string(i)}}, {}});
  auto& reasons = sim::filexfer_sim::outcomes_of(sim).failure_reasons;
  CHECK(reasons.size() == limits::failure_reasons_max + 1);
  CHECK(reasons.at("other") == 50);
}

TEST_CASE("metric intervals giving too many rows are rejected, long runs stay bounded",
          "[sim][trust]") {
  auto j = test::small_transfer();
  j["duration"] = "100000d";
  CHECK(error_of(j) ==
        "metrics.interval: a sample every 10.00s for 2400000h00m gives at least 6.05e+09 metric "
        "rows (7 per sample); at most 10000000 are kept: use an interval of at least 6049s");
  j["metrics"] = {{"interval", "6049s"}};
  CHECK(error_of(j) == "(no error)");
  j["duration"] = "400000d";
  CHECK(error_of(j) == "duration: expected a duration of at most 365000d (1000 years), got "
                       "\"400000d\"");

  // 100000 days with a daily sample: the run ends (the workload stops after
  // minutes) and keeps one sample per day.
  j["duration"] = "100000d";
  j["metrics"] = {{"interval", "1d"}};
  auto s = test::parse(j);
  sim::simulator sim(s, {});
  sim.run();
  CHECK(sim.now_time() == s.duration);
  CHECK_FALSE(sim.metrics_truncated());
  std::size_t samples = 0;
  for (auto& row : sim.metric_series())
    samples += row.name == "downloads_completed" ? 1 : 0;
  CHECK(samples == 100001);
}

TEST_CASE("the simulator stops sampling metrics at its row bound", "[sim][trust]") {
  // Built through the API: a 1 ms interval over 5 minutes needs 300001 samples.
  auto s = test::parse(test::small_transfer());
  s.metrics_interval = us_per_ms;
  sim::sim_options o;
  o.max_metric_rows = 20'000;
  sim::simulator sim(s, o);
  sim.run();
  CHECK(sim.metrics_truncated());
  CHECK(sim.metric_series().size() <= 20'000);
  CHECK(sim.metric_series().size() > 19'000);
  CHECK(sim.now_time() == s.duration);
}

TEST_CASE("a failure inside a role actor stops the run like in the direct engine", "[sim][trust]") {
  auto s = test::parse(test::small_transfer());
  sim::simulator sim(s, {});
  // What role_actor's exception handler does when a role throws.
  CHECK(sim.failed(0, std::make_exception_ptr(invariant_violation("a role broke"))));
  CHECK_THROWS_WITH(sim.run(), "a role broke");
  CHECK(sim.now_time() == 0);
}
