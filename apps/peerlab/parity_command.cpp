// peerlab parity: the same scenario and seed in the simulator and on the live
// testbed, key outcomes compared within tolerances (sim/parity.hpp).
#include "apps/peerlab/commands.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/scenario_io.hpp"
#include "apps/peerlab/testbed/testbed.hpp"
#include "sim/checkers.hpp"
#include "sim/outcomes.hpp"
#include "sim/parity.hpp"
#include "sim/results.hpp"
#include "sim/simulator.hpp"
#include "sim/summary.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace peerlab::app {

namespace {

const command_help parity_help{
  "parity",
  "SCENARIO [options]",
  "Runs SCENARIO in the simulator and as live nodes (peerlab testbed) with the same seed and\n"
  "  compares each protocol's key outcomes within tolerances.",
  {{"seed", "N", "the run seed (default: the scenario's seed)"},
   {"out", "FILE", "results file both runs are appended to (default results.db)"},
   {"time-scale", "F", "the testbed's wall seconds per scenario second (default 1)"},
   {"keep", "", "keep the testbed's work folder"}},
  "Prints one row per outcome: simulated value, live value, tolerance, verdict.\n"
  "Exit 1 means a judged outcome disagrees (docs/testbed.md, Parity)."};

std::string number(const std::optional<double>& v) {
  if (!v)
    return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.4g", *v);
  return b;
}

std::string tolerance_text(const sim::tolerance& t) {
  char b[64];
  if (t.rel > 0 && t.abs > 0)
    std::snprintf(b, sizeof b, "%g+%g%%", t.abs, t.rel * 100);
  else if (t.rel > 0)
    std::snprintf(b, sizeof b, "%g%%", t.rel * 100);
  else
    std::snprintf(b, sizeof b, "%g", t.abs);
  return b;
}

} // namespace

int parity_command(int argc, char** argv) {
  return run_parsed(parity_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("parity needs exactly one scenario file");
    auto& path = a.positional()[0];
    auto s = load_scenario_or_fail(path);
    sim::parity_spec spec;
    if (!s.parity.is_null())
      spec = sim::parse_parity(s.parity, "parity");
    testbed::options o;
    o.seed = s.seed;
    if (auto sd = seed_option(a))
      o.seed = *sd;
    if (auto ts = a.value("time-scale"))
      o.time_scale = parse_time_scale(*ts);
    o.keep = a.flag("keep");
    o.exe = self_exe();
    std::string out = a.value_or("out", "results.db");
    std::unique_ptr<sim::results_db> db;
    try {
      db = std::make_unique<sim::results_db>(out);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    auto commit = git_commit();

    // The simulated run.
    nlohmann::json sim_summary;
    bool sim_passed = true;
    try {
      sim::sim_options so;
      so.has_seed_override = true;
      so.seed_override = *o.seed;
      auto t0 = std::chrono::steady_clock::now();
      sim::simulator sim(s, so);
      sim.run();
      double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      sim_summary = sim::summarize(sim, wall);
      auto v = sim::evaluate_checkers(sim);
      for (auto& x : v)
        sim_passed = sim_passed && x.passed;
      db->append(sim, {commit, wall, sim_summary, v});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peerlab parity: the simulation failed: %s\n", e.what());
      return exit_code::runtime;
    }

    // The live run.
    std::signal(SIGPIPE, SIG_IGN);
    nlohmann::json live_summary;
    bool live_passed = true;
    try {
      auto t0 = std::chrono::steady_clock::now();
      testbed::live_world w(s, o);
      w.run();
      double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto r = testbed::record_run(w, wall, *db, commit);
      live_summary = std::move(r.summary);
      live_passed = r.passed;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "peerlab parity: the live run failed: %s\n", e.what());
      return exit_code::runtime;
    }

    auto rows =
      sim::compare_outcomes(sim::key_outcomes(sim_summary), sim::key_outcomes(live_summary), spec);
    std::printf("parity %s  seed %llu  (checkers: sim %s, live %s)\n", path.c_str(),
                static_cast<unsigned long long>(*o.seed), sim_passed ? "passed" : "FAILED",
                live_passed ? "passed" : "FAILED");
    std::printf("%-9s %-32s %12s %12s %12s  %s\n", "family", "outcome", "sim", "live", "tolerance",
                "verdict");
    std::size_t judged = 0, agree = 0;
    for (auto& r : rows) {
      const char* verdict = !r.judged ? "-" : r.agree ? "agree" : "DIFFERS";
      judged += r.judged;
      agree += r.judged && r.agree;
      std::printf("%-9s %-32s %12s %12s %12s  %s\n", r.family.c_str(), r.name.c_str(),
                  number(r.sim).c_str(), number(r.live).c_str(), tolerance_text(r.tol).c_str(),
                  verdict);
    }
    std::printf("%zu of %zu judged outcomes agree; both runs appended to %s\n", agree, judged,
                out.c_str());
    return sim::all_agree(rows) ? exit_code::ok : exit_code::failed;
  });
}

} // namespace peerlab::app
