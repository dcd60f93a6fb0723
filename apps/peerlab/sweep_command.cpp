// peerlab sweep: a scenario over seeds and a grid of --param settings, run in
// process, in local worker processes (-j) or as one Slurm job array
// (--slurm); runs already in the results file are skipped; ends with the key
// outcomes per configuration (mean and 95 % confidence interval).
#include "apps/peerlab/commands.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/sim_run.hpp"
#include "apps/peerlab/sweep_plan.hpp"
#include "apps/peerlab/sweep_workers.hpp"

#include "sim/confidence.hpp"
#include "sim/outcomes.hpp"
#include "sim/results.hpp"
#include "sim/results_merge.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

namespace peerlab::app {

namespace {

namespace fs = std::filesystem;

const command_help sweep_help{
  "sweep",
  "SCENARIO --seeds A..B [options]",
  "Runs SCENARIO per seed and configuration into a results file; prints outcomes with 95 % CIs.",
  {{"seeds", "A..B", "the seeds, inclusive (at most 100000)"},
   {"param", "PTR=V1,V2,...",
    "a grid axis: set the field at JSON pointer PTR to each value (repeatable)", true},
   {"jobs", "N", "run N local worker processes (default 1: in this process)", false, 'j'},
   {"slurm", "", "run every run as a task of one Slurm job array and wait for it"},
   {"out", "FILE", "results file to append to (default results.db)"},
   {"shard-dir", "DIR", "the workers' shard files (default FILE.shards; shared with --slurm)"},
   {"engine", "E", "actors (default) or direct"},
   {"task", "I", "internal: run task I of --shard-dir's task list into its shard"},
   watchdog_option},
  "A value is read as JSON, else as a string: --param /network/faults/loss=0,0.01\n"
  "--param /groups/2/count=10,20 --param /duration=5m. Axes cross; a pointer that is not in\n"
  "the file or a value the scenario check refuses is an error (exit 2) before anything runs.\n"
  "Runs already in FILE (same scenario name, parameters and seed; not runtime_error) are\n"
  "skipped. With --slurm, -j N limits how many tasks run at once.\n"
  "Exit 1 means a checker failed in at least one run, 3 that a run failed at runtime."};

std::string fmt_seconds(double s) {
  char buf[32];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else
    std::snprintf(buf, sizeof buf, "%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60));
  return buf;
}

// "run k/N, configuration c, seed s, elapsed, eta" on stderr.
struct progress {
  std::size_t total = 0, done = 0;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void step(const sweep_plan& p, std::size_t run, const std::string& outcome) {
    ++done;
    double el = seconds_since(t0);
    double eta = el / static_cast<double>(done) * static_cast<double>(total - done);
    std::fprintf(stderr, "run %zu/%zu, configuration %zu, seed %llu: %s; elapsed %s, eta %s\n",
                 done, total, p.config_of(run), static_cast<unsigned long long>(p.seed_of(run)),
                 outcome.c_str(), fmt_seconds(el).c_str(), fmt_seconds(eta).c_str());
  }
};

void remove_shard_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    auto n = e.path().filename().string();
    if (n == "tasks" || n.rfind("shard-", 0) == 0 || n.rfind("task-", 0) == 0 ||
        n.rfind("slurm-", 0) == 0)
      fs::remove(e.path(), ec);
  }
}

// Task mode: one run of the plan into shard-I.db of the shard folder.
int run_task(const sweep_plan& p, const args& a) {
  auto dir = a.value("shard-dir");
  if (!dir)
    throw usage_error("--task needs --shard-dir");
  auto task = a.count("task");
  if (!task)
    throw usage_error("--task: expected a non-negative integer");
  std::ifstream in(fs::path(*dir) / "tasks");
  std::string header;
  std::size_t runs = 0;
  if (!(in >> header >> runs) || header != "peerlab-sweep-tasks")
    throw usage_error(*dir + "/tasks: not a sweep's task list");
  if (runs != p.runs())
    throw usage_error(*dir + "/tasks: written for a sweep of " + std::to_string(runs) +
                      " runs, these arguments give " + std::to_string(p.runs()));
  std::size_t run = 0;
  for (std::uint64_t i = 0; i <= *task; ++i)
    if (!(in >> run))
      throw usage_error(*dir + "/tasks: has no task " + std::to_string(*task));
  if (run >= p.runs())
    throw usage_error(*dir + "/tasks: task " + std::to_string(*task) + " is out of range");
  auto shard = (fs::path(*dir) / ("shard-" + std::to_string(*task) + ".db")).string();
  std::unique_ptr<sim::results_db> db;
  try {
    db = std::make_unique<sim::results_db>(shard);
  } catch (const std::runtime_error& e) {
    throw usage_error(e.what());
  }
  auto r = run_once(p.grid[p.config_of(run)].spec, p.path, p.seed_of(run), p.eng, db.get(), false,
                    false, p.bound, p.repro(run, "repro.db"));
  std::printf("task %llu: configuration %zu seed %llu %s %s\n",
              static_cast<unsigned long long>(*task), p.config_of(run),
              static_cast<unsigned long long>(p.seed_of(run)),
              !r.failure.empty() ? "RUNTIME-ERROR"
              : r.passed         ? "passed"
                                 : "FAILED",
              r.fingerprint.c_str());
  if (!r.failure.empty())
    return exit_code::runtime;
  return r.passed ? exit_code::ok : exit_code::failed;
}

void print_table(const sweep_plan& p, const std::vector<std::optional<sim::stored_run>>& runs) {
  for (std::size_t c = 0; c < p.grid.size(); ++c) {
    std::map<std::pair<std::string, std::string>, std::vector<double>> values;
    std::vector<std::pair<std::string, std::string>> order;
    std::size_t n = 0;
    for (std::size_t s = 0; s < p.seeds(); ++s) {
      auto& r = runs[c * p.seeds() + s];
      if (!r)
        continue;
      ++n;
      for (auto& o : sim::key_outcomes(r->summary)) {
        auto key = std::make_pair(o.family, o.name);
        if (!values.count(key))
          order.push_back(key);
        values[key].push_back(o.value);
      }
    }
    std::printf("\nconfiguration %zu: %s  (%zu of %zu seeds stored%s)\n", c,
                p.grid[c].label().c_str(), n, p.seeds(),
                n == 1 ? "; one seed: no confidence interval" : "");
    if (order.empty()) {
      std::printf("  no key outcomes (no run, or no protocol family in the summaries)\n");
      continue;
    }
    std::printf("  %-45s %14s  %-31s %s\n", "outcome", "mean", "95 % CI (Student t)", "n");
    for (auto& key : order) {
      auto ci = sim::mean_ci95(values[key]);
      char interval[64] = "no interval (one seed)";
      if (ci.has_interval)
        std::snprintf(interval, sizeof interval, "[%.6g, %.6g]", ci.mean - ci.half_width,
                      ci.mean + ci.half_width);
      std::printf("  %-45s %14.6g  %-31s %zu\n", (key.first + "." + key.second).c_str(), ci.mean,
                  interval, ci.n);
    }
  }
}

} // namespace

int sweep_command(int argc, char** argv) {
  return run_parsed(sweep_help, argc, argv, [&](const args& a) {
    auto p = sweep_plan::from_args(a); // bad --param: exit 2, nothing written
    if (a.value("task"))
      return run_task(p, a);
    auto jobs = a.count("jobs");
    if (jobs && (*jobs == 0 || *jobs > 1024))
      throw usage_error("--jobs: expected 1..1024, got " + std::to_string(*jobs));
    bool slurm = a.flag("slurm");
    std::string out = a.value_or("out", "results.db");
    std::vector<std::optional<sim::stored_run>> before;
    try {
      // Creates or migrates the file; one that cannot be written fails here, before any run.
      sim::results_db create(out);
      before = stored_matches(p, out);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    std::vector<std::size_t> pending;
    for (std::size_t i = 0; i < p.runs(); ++i)
      if (!before[i])
        pending.push_back(i);
    std::size_t skipped = p.runs() - pending.size();
    if (pending.empty())
      std::fprintf(stderr, "all %zu runs already in %s: nothing to run\n", p.runs(), out.c_str());
    else if (skipped)
      std::fprintf(stderr,
                   "skipping %zu of %zu runs already in %s (same scenario, parameters and seed)\n",
                   skipped, p.runs(), out.c_str());
    progress prog;
    prog.total = pending.size();
    std::string shard_dir;
    if (!pending.empty() && !slurm && jobs.value_or(1) == 1) {
      sim::results_db db(out);
      for (auto run : pending) {
        auto r = run_once(p.grid[p.config_of(run)].spec, p.path, p.seed_of(run), p.eng, &db, false,
                          false, p.bound, p.repro(run, out));
        prog.step(p, run,
                  !r.failure.empty() ? "runtime error"
                  : r.passed         ? "ok"
                                     : "checker failed");
      }
    } else if (!pending.empty()) {
      shard_dir = fs::absolute(a.value_or("shard-dir", out + ".shards")).string();
      fs::create_directories(shard_dir);
      remove_shard_files(shard_dir);
      {
        std::ofstream t(fs::path(shard_dir) / "tasks");
        t << "peerlab-sweep-tasks " << p.runs() << "\n";
        for (auto run : pending)
          t << run << "\n";
        if (!t.flush())
          throw std::runtime_error(shard_dir + "/tasks: cannot write");
      }
      auto self = self_executable();
      // Workers resolve the scenario from their own working directory.
      sweep_plan worker = p;
      worker.path = fs::absolute(p.path).string();
      auto done = [&](std::size_t task, const std::string& outcome) {
        prog.step(p, pending[task], outcome);
      };
      if (slurm) {
        run_slurm(pending.size(), static_cast<unsigned>(jobs.value_or(0)),
                  worker.slurm_wrap(self, shard_dir), shard_dir, done);
      } else {
        run_local(
          pending.size(), static_cast<unsigned>(*jobs),
          [&](std::size_t t) { return worker.task_argv(self, t, shard_dir); },
          [&](std::size_t t) {
            return (fs::path(shard_dir) / ("task-" + std::to_string(t) + ".log")).string();
          },
          done);
      }
      std::vector<std::string> shards;
      for (std::size_t t = 0; t < pending.size(); ++t) {
        auto s = fs::path(shard_dir) / ("shard-" + std::to_string(t) + ".db");
        if (fs::exists(s))
          shards.push_back(s.string());
      }
      auto rep = sim::merge_results(out, shards);
      std::fprintf(stderr, "merged %zu shard files into %s: %zu runs added\n", shards.size(),
                   out.c_str(), rep.added);
    }
    auto after = stored_matches(p, out);
    // Runs stored with status runtime_error are not matches: find them to tell them apart.
    int failures = 0, runtime_failures = 0;
    std::printf("%-6s %-8s %-18s %-15s %s\n", "config", "seed", "fingerprint", "status", "note");
    for (std::size_t i = 0; i < p.runs(); ++i) {
      auto& r = after[i];
      const char* note = before[i] ? "skipped: already stored" : "";
      std::string status = r ? r->status : "runtime_error";
      std::printf("%-6zu %-8llu %-18s %-15s %s\n", p.config_of(i),
                  static_cast<unsigned long long>(p.seed_of(i)), r ? r->fingerprint.c_str() : "-",
                  status.c_str(), note);
      if (!r) {
        ++runtime_failures;
        std::printf("       reproduce with: %s\n", p.repro(i, "repro.db").c_str());
      } else if (r->status != "ok") {
        ++failures;
        std::printf("       reproduce with: %s\n", p.repro(i, "repro.db").c_str());
      }
    }
    print_table(p, after);
    std::printf("\n%zu runs (%zu configurations x %zu seeds) in %s: %zu run now, %zu skipped; "
                "%d with failing checkers, %d runtime failures\n",
                p.runs(), p.grid.size(), p.seeds(), out.c_str(), pending.size(), skipped, failures,
                runtime_failures);
    if (!shard_dir.empty()) {
      if (runtime_failures)
        std::printf("shard files and task logs kept in %s\n", shard_dir.c_str());
      else {
        remove_shard_files(shard_dir);
        std::error_code ec;
        fs::remove(shard_dir, ec); // only if empty
      }
    }
    if (runtime_failures)
      return exit_code::runtime;
    return failures ? exit_code::failed : exit_code::ok;
  });
}

} // namespace peerlab::app
