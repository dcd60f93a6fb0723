// The simulated drop channel: the droplog role's packet files travel
// as frames through the simulator's network model, which truncates, flips
// bits and delays them; the droplog driver checks exactly-once in-order intact
// delivery, HTTP answers and that forged files are never accepted.
#include "drop_helpers.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace peerlab;
using namespace peerlab::drop_test;

namespace {
const nlohmann::json& adaptive_scenario() {
  static const auto j = load_json("scenarios/filedrop_truncation.json");
  return j;
}
const nlohmann::json& coded_scenario() {
  static const auto j = load_json("scenarios/filedrop_coded.json");
  return j;
}
const nlohmann::json& fixed_scenario() {
  static const auto j = load_json("scenarios/filedrop_fixed_timeout.json");
  return j;
}
} // namespace

TEST_CASE("drop channel scenario passes every checker under 75 percent truncation",
          "[sim][droplog]") {
  auto r = run_drop(adaptive_scenario());
  INFO(failures(r.verdicts));
  REQUIRE(r.verdicts.size() == 3);
  for (auto& v : r.verdicts)
    CHECK(v.passed);
  auto& d = r.summary["droplog"];
  CHECK(d["messages_delivered"].get<std::uint64_t>() == 600);
  CHECK(d["violations"].get<std::uint64_t>() == 0);
  CHECK(d["http_ok"].get<std::uint64_t>() == 30);
  CHECK(d["forged_sent"].get<std::uint64_t>() > 0);
  // The channel really was hostile: most frames were cut, some bit-flipped.
  auto& f = r.summary["frames"];
  CHECK(f["truncated"].get<double>() > 0.6 * f["sent"].get<double>());
  CHECK(f["corrupted"].get<double>() > 0);
}

TEST_CASE("drop channel with erasure coding passes every checker and answers HTTP sooner",
          "[sim][droplog]") {
  auto r = run_drop(coded_scenario());
  INFO(failures(r.verdicts));
  REQUIRE(r.verdicts.size() == 3);
  for (auto& v : r.verdicts)
    CHECK(v.passed);
  auto& d = r.summary["droplog"];
  CHECK(d["messages_delivered"].get<std::uint64_t>() == 600);
  CHECK(d["http_ok"].get<std::uint64_t>() == 30);
  CHECK(d["forged_sent"].get<std::uint64_t>() > 0);
  auto plain = run_drop(adaptive_scenario());
  INFO("HTTP p50 " << d.dump() << " vs " << plain.summary["droplog"].dump());
  CHECK(d["http_latency_p50_s"].get<double>() <
        plain.summary["droplog"]["http_latency_p50_s"].get<double>());
  auto again = run_drop(coded_scenario());
  CHECK(again.fingerprint == r.fingerprint);
}

TEST_CASE("drop channel baseline with the original fixed 5 s timeout also delivers everything",
          "[sim][droplog]") {
  auto r = run_drop(fixed_scenario());
  INFO(failures(r.verdicts));
  REQUIRE_FALSE(r.verdicts.empty());
  for (auto& v : r.verdicts)
    CHECK(v.passed);
  CHECK(r.summary["droplog"]["messages_delivered"].get<std::uint64_t>() == 600);
}

TEST_CASE("drop channel runs are deterministic and the actor shell adds no behaviour",
          "[sim][droplog]") {
  auto a = run_drop(adaptive_scenario());
  auto b = run_drop(adaptive_scenario());
  auto c = run_drop(adaptive_scenario(), sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.fingerprint == c.fingerprint);
  CHECK(a.summary["droplog"] == c.summary["droplog"]);
}

TEST_CASE("drop channel side b crashing and restarting mid-transfer loses nothing acknowledged",
          "[sim][droplog]") {
  auto j = adaptive_scenario();
  // b crashes every few seconds (state kept only in its kv_store) and comes back.
  j["churn"] = {{{"group", "side_b"},
                 {"session", {{"dist", "exponential"}, {"mean", "6s"}}},
                 {"downtime", {{"dist", "exponential"}, {"mean", "2s"}}},
                 {"crash", 1.0}}};
  auto r = run_drop(j);
  INFO(failures(r.verdicts));
  CHECK(r.summary["churn"]["crashes"].get<std::uint64_t>() >= 3);
  for (auto& v : r.verdicts)
    CHECK(v.passed);
  CHECK(r.summary["droplog"]["messages_delivered"].get<std::uint64_t>() == 600);
}

TEST_CASE("drop channel side a crashing mid-transfer still delivers every message once",
          "[sim][droplog]") {
  auto j = adaptive_scenario();
  j["churn"] = {{{"group", "side_a"},
                 {"session", {{"dist", "exponential"}, {"mean", "8s"}}},
                 {"downtime", {{"dist", "exponential"}, {"mean", "2s"}}},
                 {"crash", 1.0}}};
  // A crashed caller's HTTP calls are gone with it; only the log is checked.
  j["checkers"] = {{{"check", "droplog_delivery"}}, {{"check", "droplog_no_forgery"}}};
  auto r = run_drop(j);
  INFO(failures(r.verdicts));
  CHECK(r.summary["churn"]["crashes"].get<std::uint64_t>() >= 2);
  REQUIRE(r.verdicts.size() == 2);
  for (auto& v : r.verdicts)
    CHECK(v.passed);
}

TEST_CASE("drop channel scenario passes every checker under size-dependent truncation and "
          "per-byte bit rot",
          "[sim][droplog]") {
  auto j = adaptive_scenario();
  // 75 % of 4 KiB files cut (scale = 4096 / ln 4), 1e-4 bit rot per byte.
  j["network"]["faults"] = {{"truncate_scale", 2955}, {"corrupt_per_byte", 1e-4}};
  auto r = run_drop(j);
  INFO(failures(r.verdicts));
  REQUIRE(r.verdicts.size() == 3);
  for (auto& v : r.verdicts)
    CHECK(v.passed);
  CHECK(r.summary["droplog"]["messages_delivered"].get<std::uint64_t>() == 600);
  auto& f = r.summary["frames"];
  CHECK(f["truncated"].get<double>() > 0.2 * f["sent"].get<double>());
  CHECK(f["corrupted"].get<double>() > 0);
}

TEST_CASE("drop channel checker fails when the shared keys differ", "[sim][droplog]") {
  auto j = adaptive_scenario();
  j["groups"][1]["roles"][0]["key"] = "a different key, 32 bytes long!!";
  j["duration"] = "60s";
  auto r = run_drop(j);
  REQUIRE(r.verdicts.size() == 3);
  CHECK_FALSE(r.verdicts[0].passed); // nothing can be delivered
  CHECK(r.verdicts[1].passed);       // but nothing forged is accepted either
  CHECK(r.summary["droplog"]["messages_delivered"].get<std::uint64_t>() == 0);
}

TEST_CASE("drop channel scenario errors name the workload field", "[sim][droplog]") {
  auto j = adaptive_scenario();
  j["workload"][0]["b"] = "nowhere";
  try {
    sim::parse_scenario(j.dump(), "test");
    FAIL("no error");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("workload[0].b") != std::string::npos);
  }
  j = adaptive_scenario();
  j["workload"][0]["min_size"] = 4;
  CHECK_THROWS_WITH(sim::parse_scenario(j.dump(), "test"), Catch::Contains("min_size"));
  j = adaptive_scenario();
  j["groups"][0]["roles"][0]["timeouts"] = "sometimes";
  CHECK_THROWS_WITH(sim::parse_scenario(j.dump(), "test"), Catch::Contains("timeouts"));
}

// The figures of docs/protocols/droplog.md: goodput and latency by truncation
// rate, adaptive design against the original's fixed-timeout design, in the
// same simulator. Run with: test_sim "[.figures]"
TEST_CASE("drop channel figures goodput and latency by truncation rate", "[.figures]") {
  std::printf("| design | truncate | goodput | msg latency mean s | p95 s | last delivery s | http "
              "p50 s | http p95 s | files | 504s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (double t : {0.0, 0.10, 0.50, 0.75})
    for (int design = 0; design < 2; ++design) {
      auto j = design ? fixed_scenario() : adaptive_scenario();
      j["network"]["faults"]["truncate"] = t;
      j["checkers"] = nlohmann::json::array();
      auto r = run_drop(j);
      auto& d = r.summary["droplog"];
      std::printf("| %s | %.2f | %.3f | %.2f | %.2f | %.1f | %.2f | %.2f | %llu | %llu |\n",
                  design ? "fixed5s" : "adaptive", t, d["goodput"].get<double>(),
                  d["latency_mean_s"].get<double>(), d["latency_p95_s"].get<double>(),
                  d["last_delivery_s"].get<double>(), d["http_latency_p50_s"].get<double>(),
                  d["http_latency_p95_s"].get<double>(),
                  static_cast<unsigned long long>(d["files"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(d["http_timeouts"].get<std::uint64_t>()));
    }
}
