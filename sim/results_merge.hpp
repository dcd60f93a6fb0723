#pragma once
// Reading runs back from a results file (sweep resumption) and merging the
// shard files of a parallel or Slurm sweep into one (docs/results.md "Merge").
// Only reads what sim/results.cpp writes; every column of `runs` is copied by
// name, so columns added by later schema versions travel too.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peerlab::sim {

struct stored_run {
  std::int64_t run_id = 0;
  std::uint64_t seed = 0;
  nlohmann::json parameters; // runs.parameters, parsed
  std::string status;        // ok, checker_failed, runtime_error
  std::string fingerprint;
  std::string world; // sim or live ("sim" in files older than schema 3)
  nlohmann::json summary;
};

/// The runs of scenario `scenario_name` in `path`, oldest first; none if the
/// file does not exist. Throws std::runtime_error if it exists but is not a
/// peerlab results file.
std::vector<stored_run> read_runs(const std::string& path, const std::string& scenario_name);

struct merge_report {
  std::size_t added = 0;      // runs copied into the output
  std::size_t duplicates = 0; // runs the output already held (not copied again)
};

/// Copies every run of every shard, with the rows of every table that refers
/// to it, into `out` (created if missing) under new run_ids. A run whose
/// (scenario_name, parameters, seed, fingerprint, world) the output already holds is
/// skipped, so merging a shard twice adds nothing. One transaction per shard.
/// Throws std::runtime_error naming the file that is not a peerlab results
/// file, or has a table or column the output lacks.
merge_report merge_results(const std::string& out, const std::vector<std::string>& shards);

} // namespace peerlab::sim
