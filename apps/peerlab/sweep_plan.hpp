#pragma once
// One sweep: the configurations of its --param grid crossed with its seeds.
// Run i is configuration i / seeds, seed lo + i % seeds; the worker processes
// of -j and --slurm rebuild the same plan from the same arguments.
#include "apps/peerlab/args.hpp"
#include "sim/results_merge.hpp"
#include "sim/simulator.hpp"
#include "sim/sweep_grid.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::app {

struct sweep_plan {
  std::string path;                     // the scenario file as given
  std::vector<std::string> param_specs; // the --param texts as given
  std::vector<sim::configuration> grid;
  std::uint64_t lo = 0, hi = 0;
  sim::engine eng = sim::engine::actors;
  std::uint64_t bound = 0; // --max-events-per-instant, 0 = default

  /// Parses the sweep's options; usage_error / config_error before anything runs.
  static sweep_plan from_args(const args& a);

  std::size_t seeds() const { return static_cast<std::size_t>(hi - lo + 1); }
  std::size_t runs() const { return grid.size() * seeds(); }
  std::size_t config_of(std::size_t run) const { return run / seeds(); }
  std::uint64_t seed_of(std::size_t run) const { return lo + run % seeds(); }
  /// runs.parameters of run `run` as results_db stores it (resolved + seed).
  nlohmann::json parameters(std::size_t run) const;
  /// The command that repeats run `run` alone.
  std::string repro(std::size_t run, const std::string& out) const;
  /// The arguments of a worker process running task `task` of `shard_dir`.
  std::vector<std::string> task_argv(const std::string& self, std::size_t task,
                                     const std::string& shard_dir) const;
  /// The same, for a shell: task index from $SLURM_ARRAY_TASK_ID.
  std::string slurm_wrap(const std::string& self, const std::string& shard_dir) const;
};

/// For every run of the plan, the newest matching run stored in `out` (same
/// scenario name, parameters and seed, world sim) whose status is not runtime_error;
/// nullopt where there is none.
std::vector<std::optional<sim::stored_run>> stored_matches(const sweep_plan& p,
                                                           const std::string& out);

/// Shell single-quoting.
std::string shell_quote(const std::string& s);

} // namespace peerlab::app
