// run, check, validate: the simulator side of the CLI (sweep: sweep_command.cpp).
#include "apps/peerlab/commands.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/scenario_io.hpp"
#include "apps/peerlab/sim_run.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"
#include "protocols/common/printable.hpp"
#include "sim/checkers.hpp"
#include "sim/results.hpp"
#include "sim/simulator.hpp"
#include "sim/summary.hpp"
#include "sim/trace_diff.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::app {

namespace {

const command_help run_help{"run",
                            "SCENARIO [options]",
                            "Simulates SCENARIO once and appends the run to a results file.",
                            {{"seed", "N", "the run seed (default: the scenario's seed)"},
                             {"out", "FILE", "results file to append to (default results.db)"},
                             {"engine", "E", "actors (default) or direct"},
                             {"quiet", "", "print only \"passed|FAILED FINGERPRINT\""},
                             watchdog_option},
                            "A failing checker prints the command that reproduces the run; so "
                            "does a runtime failure,\nwhich is still appended with status "
                            "runtime_error."};

const command_help check_help{
  "check",
  "SCENARIO [options]",
  "Runs SCENARIO twice and compares fingerprints; shows the first differing event.",
  {{"seed", "N", "the run seed (default: the scenario's seed)"},
   {"engine", "E", "engine of the first run: actors (default) or direct"},
   {"against", "E", "engine of the second run (default: the same as --engine)"},
   watchdog_option},
  "Exit 1 means the two runs differ."};

const command_help validate_help{
  "validate",
  "SCENARIO...",
  "Checks scenario files against the schema; errors name the JSON path.",
  {},
  ""};

} // namespace

int run_command(int argc, char** argv) {
  return run_parsed(run_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("run needs exactly one scenario file");
    auto& path = a.positional()[0];
    auto s = load_scenario_or_fail(path); // invalid scenario: error, nothing written
    std::optional<std::uint64_t> seed;
    if (auto sd = a.value("seed"))
      seed = parse_seed(*sd);
    auto eng = parse_engine(a);
    std::unique_ptr<sim::results_db> db;
    std::string out = a.value_or("out", "results.db");
    try {
      db = std::make_unique<sim::results_db>(out);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    auto r = run_once(s, path, seed, eng, db.get(), !a.flag("quiet"), true, watchdog_bound(a));
    if (a.flag("quiet"))
      std::printf("%s %s\n",
                  !r.failure.empty() ? "RUNTIME-ERROR"
                  : r.passed         ? "passed"
                                     : "FAILED",
                  r.fingerprint.c_str());
    else
      std::printf("results appended to %s\n", out.c_str());
    if (!r.failure.empty())
      return exit_code::runtime;
    return r.passed ? exit_code::ok : exit_code::failed;
  });
}

int validate_command(int argc, char** argv) {
  return run_parsed(validate_help, argc, argv, [&](const args& a) {
    if (a.positional().empty())
      throw usage_error("validate needs at least one scenario file");
    int rc = 0;
    for (auto& path : a.positional()) {
      try {
        auto s = load_scenario_or_fail(path);
        std::printf("ok  %s: \"%s\", %llu nodes in %zu groups, %s virtual, seed %llu\n",
                    path.c_str(), s.name.c_str(), static_cast<unsigned long long>(s.node_count()),
                    s.groups.size(), cfg::format_duration(s.duration).c_str(),
                    static_cast<unsigned long long>(s.seed));
      } catch (const config_error& e) {
        std::fprintf(stderr, "peerlab validate: %s\n", e.what());
        rc = exit_code::usage;
      }
    }
    return rc;
  });
}

int check_command(int argc, char** argv) {
  return run_parsed(check_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("check needs exactly one scenario file");
    auto& path = a.positional()[0];
    auto s = load_scenario_or_fail(path);
    auto first = parse_engine(a);
    auto second = a.value("against") ? parse_engine(a, "against") : first;
    sim::sim_options base;
    base.max_events_per_instant = watchdog_bound(a);
    if (auto sd = a.value("seed")) {
      base.has_seed_override = true;
      base.seed_override = parse_seed(*sd);
    }
    auto seed = base.has_seed_override ? base.seed_override : s.seed;
    // A runtime failure in either side ends the check with its reproduce line.
    struct run_failed {
      std::string line;
    };
    // Each side runs as often as the search needs; only one simulator lives at a time.
    auto side = [&](sim::engine eng) -> sim::traced_run {
      return [&, eng](sim::trace_recorder& rec) {
        auto o = base;
        o.eng = eng;
        o.recorder = &rec;
        sim::simulator sim(s, o);
        try {
          sim.run();
        } catch (const config_error&) {
          throw;
        } catch (const std::exception& e) {
          throw run_failed{failure_line(sim, printable(e.what()), path, eng)};
        }
        return sim::traced_result{sim.chain().value(), sim.chain().events()};
      };
    };
    sim::check_report rep;
    try {
      rep = sim::compare_runs(side(first), side(second));
    } catch (const run_failed& f) {
      std::fprintf(stderr, "peerlab check: %s\n", f.line.c_str());
      return exit_code::runtime;
    }
    if (rep.identical) {
      std::printf(
        "deterministic: two runs of %s (seed %llu%s) gave fingerprint %s over %llu events\n",
        path.c_str(), static_cast<unsigned long long>(seed),
        first != second ? ", actors engine against direct engine" : "",
        sim::hex64(rep.first.chain).c_str(), static_cast<unsigned long long>(rep.first.events));
      return 0;
    }
    // Name message types through the roles the scenario uses.
    std::map<port_t, std::shared_ptr<role>> by_port;
    for (auto& g : s.groups)
      for (auto& r : make_roles(g.roles, "groups", g.adversary))
        by_port.emplace(r->port(), r);
    auto describe = [&](const sim::trace_entry& e) {
      std::string msg;
      if (e.kind == sim::event_kind::deliver) {
        auto it = by_port.find(e.port);
        msg = std::string(" port ") + port_name(e.port) + " message " +
              (it != by_port.end() ? it->second->message_name(e.msg) : std::to_string(e.msg)) +
              " from node " + std::to_string(e.detail);
      } else if (e.kind == sim::event_kind::timer) {
        msg = std::string(" port ") + port_name(e.port) + " token " + std::to_string(e.detail);
      } else if (e.kind == sim::event_kind::command) {
        msg = std::string(" port ") + port_name(e.port) + " command " + std::to_string(e.detail);
      } else if (e.kind == sim::event_kind::control && e.detail == sim::end_of_run_detail) {
        msg = " end of run (final generator states and counters)";
      }
      return "virtual " + cfg::format_duration(e.time) + " (" + std::to_string(e.time) +
             " us) node " + std::to_string(e.node) + " " + sim::kind_name(e.kind) + msg;
    };
    std::printf(
      "NOT deterministic: %s seed %llu\n  run 1: fingerprint %s, %llu events\n  run 2: "
      "fingerprint %s, %llu events\n",
      path.c_str(), static_cast<unsigned long long>(seed), sim::hex64(rep.first.chain).c_str(),
      static_cast<unsigned long long>(rep.first.events), sim::hex64(rep.second.chain).c_str(),
      static_cast<unsigned long long>(rep.second.events));
    if (auto& d = rep.diff) {
      std::printf("first differing event: index %llu (found in %u runs of each side)\n  run 1: "
                  "%s\n  run 2: %s\n",
                  static_cast<unsigned long long>(d->index), rep.passes,
                  d->first ? describe(*d->first).c_str() : "(no more events)",
                  d->second ? describe(*d->second).c_str() : "(no more events)");
    } else {
      std::printf("the re-runs did not reproduce the difference: the runs differ from one "
                  "execution to the next\n");
    }
    return 1;
  });
}

} // namespace peerlab::app
