#pragma once
// The file-transfer workload and its checkers (protocols/filexfer in the
// simulator). Workload item, one per group that downloads:
//
//   {"kind": "downloads", "group": "leechers", "files": "media",
//    "interval": "30s", "start": "0s", "stop": "10m", "max_per_node": 3}
//
// Every node of `group` picks, every `interval` (a duration distribution), a
// file of the file set `files` that it neither holds nor is downloading, and
// tells its downloader role to fetch it from the file's holders (shuffled,
// bounded by limits::providers_per_download_max).
//
// One driver serves every downloads item of a scenario and also runs when a
// scenario names only its checkers (downloads issued by other drivers, e.g.
// dht): it follows the downloaders' events and the simulator's own re-hash
// of every committed file. Checkers:
//   no_corrupt_accepted   no committed file failed the simulator's re-hash and
//                         no download reported done without a verified commit
//   downloads_end         every download started before end - "grace" (60s) ended
//   download_success      completed / ended >= "min"
// Summary: "downloads"; run-wide totals downloads_completed, downloads_failed,
// corrupt_detected (metric checkers and the "*" metric series).
#include "sim/run_stats.hpp"
#include "sim/workload_driver.hpp"

#include <map>
#include <string>
#include <vector>

namespace peerlab::sim {

class run_view;

struct download_spec {
  std::string group;
  std::string files;
  distribution interval;
  time_us start = 0, stop = 0;
  std::uint64_t max_per_node = 1;
};

struct download_record {
  time_us end;
  std::uint32_t node;
  bool completed;
  double duration_us;
  double bytes;
  double attempts;
  std::string reason; // failures only
};

struct download_outcomes {
  std::uint64_t started = 0, completed = 0, failed = 0, interrupted = 0;
  std::uint64_t resumed = 0; // interrupted downloads a restarted node took up again
  std::uint64_t bytes = 0;
  std::uint64_t corrupt_detected = 0;    // reported by downloaders
  std::uint64_t corrupt_accepted = 0;    // the simulator's own re-hash disagreed at commit
  std::uint64_t done_without_commit = 0; // download_done with no verified commit before it
  samples duration_us;
  std::map<std::string, std::uint64_t> failure_reasons;
  /// Open downloads per (node, hash hex) with their start time, for downloads_end.
  std::map<std::pair<std::uint32_t, std::string>, std::vector<time_us>> open;
  std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> verified_commits;
  std::vector<download_record> records; // bounded, for the results file
};

namespace filexfer_sim {

driver_kind filexfer_driver_kind();

/// The download outcomes of a run (empty when the scenario has no
/// file-transfer driver): for the results file and tests.
const download_outcomes& outcomes_of(const run_view& sim);

} // namespace filexfer_sim

} // namespace peerlab::sim
