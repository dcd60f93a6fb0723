// The simulator runs shared by run, sweep and check: one run into a results
// file, seeds and engines, the reproduce line.
#include "apps/peerlab/sim_run.hpp"

#include "apps/peerlab/scenario_io.hpp"

#include "sim/checkers.hpp"
#include "sim/simulator.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/printable.hpp"
#include "sim/results.hpp"
#include "sim/summary.hpp"

#include <chrono>
#include <cstdio>

namespace peerlab::app {

std::uint64_t parse_seed(const std::string& s, const char* option) {
  auto v = parse_count(s);
  if (!v)
    throw usage_error(std::string(option) + ": expected a non-negative integer, got \"" + s + "\"");
  return *v;
}

sim::engine parse_engine(const args& a, const char* key) {
  auto e = a.value(key);
  if (!e || *e == "actors")
    return sim::engine::actors;
  if (*e == "direct")
    return sim::engine::direct;
  throw usage_error(std::string("--") + key + ": expected actors or direct, got \"" + *e + "\"");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string repro_command(const std::string& path, std::uint64_t seed, sim::engine eng) {
  return "peerlab run " + path + " --seed " + std::to_string(seed) +
         (eng == sim::engine::direct ? " --engine direct" : "");
}

// The livelock watchdog's bound (0 = the default).
std::uint64_t watchdog_bound(const args& a) {
  auto n = a.count("max-events-per-instant");
  if (n && *n == 0)
    throw usage_error("--max-events-per-instant: expected a positive integer, got \"0\"");
  return n.value_or(0);
}

std::string failure_line(const sim::simulator& sim, const std::string& what,
                         const std::string& path, sim::engine eng) {
  return "runtime failure at virtual " + cfg::format_duration(sim.now_time()) + " (" +
         std::to_string(sim.now_time()) + " us): " + what + "\nreproduce with:\n  " +
         repro_command(path, sim.seed(), eng);
}

one_run run_once(const sim::scenario& s, const std::string& path, std::optional<std::uint64_t> seed,
                 sim::engine eng, sim::results_db* db, bool print, bool progress,
                 std::uint64_t max_events_per_instant, const std::string& repro) {
  sim::sim_options o;
  o.eng = eng;
  o.progress = progress;
  o.max_events_per_instant = max_events_per_instant;
  if (seed) {
    o.has_seed_override = true;
    o.seed_override = *seed;
  }
  auto t0 = std::chrono::steady_clock::now();
  sim::simulator sim(s, o);
  if (print) {
    auto params = s.resolved();
    params["seed"] = sim.seed();
    std::printf("peerlab run %s  seed %llu\nparameters %s\n", path.c_str(),
                static_cast<unsigned long long>(sim.seed()), params.dump().c_str());
    std::fflush(stdout);
  }
  one_run r;
  try {
    sim.run();
  } catch (const config_error&) {
    throw;
  } catch (const std::exception& e) {
    r.failure = printable(e.what());
    r.passed = false;
  }
  double wall = seconds_since(t0);
  if (r.failure.empty())
    r.verdicts = sim::evaluate_checkers(sim);
  r.summary = sim::summarize(sim, wall);
  r.fingerprint = sim.chain().hex();
  for (auto& v : r.verdicts)
    r.passed = r.passed && v.passed;
  if (db) {
    sim::run_info info{git_commit(), wall, r.summary, r.verdicts};
    if (!r.failure.empty()) {
      info.status = "runtime_error";
      info.message = r.failure;
    }
    db->append(sim, info);
  }
  if (!r.failure.empty()) {
    auto line = failure_line(sim, r.failure, path, eng);
    if (!repro.empty())
      line = line.substr(0, line.find("\nreproduce with:")) + "\nreproduce with:\n  " + repro;
    std::fprintf(stderr, "peerlab run: %s\n", line.c_str());
  } else if (print) {
    std::printf("%s", sim::render_summary(sim, r.summary, r.verdicts).c_str());
    if (!r.passed)
      std::printf("a checker failed; reproduce with:\n  %s\n",
                  repro_command(path, sim.seed(), eng).c_str());
  }
  return r;
}

} // namespace peerlab::app
