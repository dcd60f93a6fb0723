// run, check, sweep, validate: the simulator side of the CLI.
#include "apps/peerlab/commands.hpp"

#include "apps/peerlab/args.hpp"

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

std::uint64_t parse_seed(const std::string& s, const char* option = "--seed") {
  auto v = parse_count(s);
  if (!v)
    throw usage_error(std::string(option) + ": expected a non-negative integer, got \"" + s + "\"");
  return *v;
}

sim::engine parse_engine(const args& a, const char* key = "engine") {
  auto e = a.value(key);
  if (!e || *e == "actors")
    return sim::engine::actors;
  if (*e == "direct")
    return sim::engine::direct;
  throw usage_error(std::string("--") + key + ": expected actors or direct, got \"" + *e + "\"");
}

std::string git_commit() {
#ifdef PEERLAB_SOURCE_DIR
  std::string cmd =
    std::string("git -C '") + PEERLAB_SOURCE_DIR + "' rev-parse --short=12 HEAD 2>/dev/null";
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[64] = {0};
    bool ok = std::fgets(buf, sizeof buf, p) != nullptr;
    pclose(p);
    if (ok) {
      std::string s = buf;
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
      if (!s.empty())
        return s;
    }
  }
#endif
  return "unknown";
}

sim::scenario load_or_fail(const std::string& path) {
  try {
    return sim::load_scenario(path);
  } catch (const config_error& e) {
    std::string msg = e.what();
    if (msg.rfind(path, 0) != 0)
      msg = path + ": " + msg;
    throw config_error(msg);
  }
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

const option_help watchdog_option{"max-events-per-instant", "N",
                                  "stop a run after N events at one virtual time (a livelock)"};

std::string failure_line(const sim::simulator& sim, const std::string& what,
                         const std::string& path, sim::engine eng) {
  return "runtime failure at virtual " + cfg::format_duration(sim.now_time()) + " (" +
         std::to_string(sim.now_time()) + " us): " + what + "\nreproduce with:\n  " +
         repro_command(path, sim.seed(), eng);
}

// Runs one seed. A runtime failure (invariant, watchdog, a role threw) ends
// the run where it happened; it is still appended to the results file.
struct one_run {
  bool passed = true;
  std::string failure; // non-empty: the runtime failure
  nlohmann::json summary;
  std::string fingerprint;
  std::vector<sim::verdict> verdicts;
};

one_run run_once(const sim::scenario& s, const std::string& path, std::optional<std::uint64_t> seed,
                 sim::engine eng, sim::results_db* db, bool print, bool progress,
                 std::uint64_t max_events_per_instant) {
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
    std::fprintf(stderr, "peerlab run: %s\n", failure_line(sim, r.failure, path, eng).c_str());
  } else if (print) {
    std::printf("%s", sim::render_summary(sim, r.summary, r.verdicts).c_str());
    if (!r.passed)
      std::printf("a checker failed; reproduce with:\n  %s\n",
                  repro_command(path, sim.seed(), eng).c_str());
  }
  return r;
}

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

const command_help sweep_help{
  "sweep",
  "SCENARIO --seeds A..B [options]",
  "Runs SCENARIO once per seed from A to B and appends every run to a results file.",
  {{"seeds", "A..B", "the seeds, inclusive (at most 100000)"},
   {"out", "FILE", "results file to append to (default results.db)"},
   {"engine", "E", "actors (default) or direct"},
   watchdog_option},
  "Exit 1 means a checker failed for at least one seed, 3 that a run failed at runtime."};

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
    auto s = load_or_fail(path); // invalid scenario: error, nothing written
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
        auto s = load_or_fail(path);
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

int sweep_command(int argc, char** argv) {
  return run_parsed(sweep_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("sweep needs exactly one scenario file");
    auto seeds = a.value("seeds");
    if (!seeds)
      throw usage_error("sweep needs --seeds A..B");
    auto dots = seeds->find("..");
    if (dots == std::string::npos)
      throw usage_error("--seeds: expected A..B, got \"" + *seeds + "\"");
    auto lo = parse_seed(seeds->substr(0, dots), "--seeds"),
         hi = parse_seed(seeds->substr(dots + 2), "--seeds");
    if (hi < lo || hi - lo > 100000)
      throw usage_error("--seeds: expected A..B with A <= B and at most 100000 seeds");
    auto& path = a.positional()[0];
    auto s = load_or_fail(path);
    auto eng = parse_engine(a);
    std::string out = a.value_or("out", "results.db");
    std::unique_ptr<sim::results_db> db;
    try {
      db = std::make_unique<sim::results_db>(out);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    std::printf("%-8s %-18s %-7s %10s %10s %10s %10s %12s\n", "seed", "fingerprint", "checks",
                "completed", "failed", "median_s", "p99_s", "events");
    int failures = 0, runtime_failures = 0;
    auto bound = watchdog_bound(a);
    for (auto seed = lo; seed <= hi; ++seed) {
      auto r = run_once(s, path, seed, eng, db.get(), false, false, bound);
      auto& d = r.summary["downloads"];
      std::printf("%-8llu %-18s %-7s %10llu %10llu %10.3f %10.3f %12llu\n",
                  static_cast<unsigned long long>(seed), r.fingerprint.c_str(),
                  !r.failure.empty() ? "ERROR"
                  : r.passed         ? "ok"
                                     : "FAIL",
                  static_cast<unsigned long long>(d["completed"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(d["failed"].get<std::uint64_t>()),
                  d["time_median_s"].get<double>(), d["time_p99_s"].get<double>(),
                  static_cast<unsigned long long>(r.summary["events"].get<std::uint64_t>()));
      std::fflush(stdout);
      if (!r.passed) {
        ++(r.failure.empty() ? failures : runtime_failures);
        std::printf("         reproduce with: %s\n", repro_command(path, seed, eng).c_str());
      }
    }
    std::printf("%llu runs appended to %s; %d with failing checkers, %d runtime failures\n",
                static_cast<unsigned long long>(hi - lo + 1), out.c_str(), failures,
                runtime_failures);
    if (runtime_failures)
      return exit_code::runtime;
    return failures ? exit_code::failed : exit_code::ok;
  });
}

int check_command(int argc, char** argv) {
  return run_parsed(check_help, argc, argv, [&](const args& a) {
    if (a.positional().size() != 1)
      throw usage_error("check needs exactly one scenario file");
    auto& path = a.positional()[0];
    auto s = load_or_fail(path);
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
