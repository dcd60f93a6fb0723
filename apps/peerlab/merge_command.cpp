// peerlab merge OUT SHARD...: the shard files of a parallel or Slurm sweep
// (or any results files) into one (sim/results_merge.hpp).
#include "apps/peerlab/merge_command.hpp"

#include "apps/peerlab/args.hpp"
#include "sim/results_merge.hpp"

#include <cstdio>

namespace peerlab::app {

namespace {

const command_help merge_help{
  "merge",
  "OUT SHARD...",
  "Copies every run of the SHARD results files into OUT (created if missing) under new run_ids.",
  {},
  "Every table and column is copied by name. A run OUT already holds (same scenario_name,\n"
  "parameters, seed, fingerprint and world) is not copied again, so merging a shard twice\n"
  "adds nothing. A file that is not a peerlab results file is refused before OUT is touched."};

} // namespace

int merge_command(int argc, char** argv) {
  return run_parsed(merge_help, argc, argv, [&](const args& a) {
    if (a.positional().size() < 2)
      throw usage_error("merge needs OUT and at least one SHARD");
    std::vector<std::string> shards(a.positional().begin() + 1, a.positional().end());
    sim::merge_report rep;
    try {
      rep = sim::merge_results(a.positional()[0], shards);
    } catch (const std::runtime_error& e) {
      throw usage_error(e.what());
    }
    std::printf("merged %zu files into %s: %zu runs added, %zu already there\n", shards.size(),
                a.positional()[0].c_str(), rep.added, rep.duplicates);
    return exit_code::ok;
  });
}

} // namespace peerlab::app
