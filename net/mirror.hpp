#pragma once
// A fault-injecting folder mirror, for tests and demos of the file-drop
// channel: copies every file of SRC/<sub>/ to DST/<sub>/ the way the real
// mirroring service does, late (a uniform delay up to `delay` per file), often
// truncated at a random byte, rarely bit-flipped, sometimes lost or copied
// twice, and atomically (temporary name + rename, so readers never see half a
// copy). Each file is one frame through the same link rule chain the
// simulator runs (protocols/common/link_rules.hpp), drawn when the file is
// first seen. Each file is judged once; deleting it in SRC makes the mirror
// forget it. Names starting with '.' are
// files still being written and are skipped. Time comes in through step(now),
// so the class is tested without waiting.
#include "protocols/common/link_rules.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/types.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace peerlab::net {

struct mirror_options {
  std::filesystem::path src, dst;
  double loss = 0;      // probability a file is never copied
  double duplicate = 0; // probability a file is copied a second time (its own delay and faults)
  double truncate = 0;  // probability a copy is cut at a uniformly random byte
  double corrupt = 0;   // probability that each byte of a copy gets one bit flipped
  time_us delay = 0;    // each file is copied after uniform [0, delay]
  std::uint64_t seed = 1;
  std::size_t max_scan_entries = 65536; // directory entries looked at per step
  std::size_t max_known = 65536;        // files remembered (scheduled or copied)
  std::uint64_t max_file_bytes = 1ull << 30;
};

/// Returns an empty string if usable, else what is wrong.
std::string validate(const mirror_options& o);

class mirror {
public:
  explicit mirror(mirror_options o); // throws std::invalid_argument

  /// Scans SRC, schedules new files, copies those that are due.
  void step(time_us now);
  /// Time of the next scheduled copy (max() if none).
  time_us next_due() const;

  struct counters {
    std::uint64_t copied = 0, truncated = 0, corrupted = 0, bytes_in = 0, bytes_out = 0;
    std::uint64_t vanished = 0, skipped_oversize = 0, errors = 0;
    std::uint64_t lost = 0, duplicated = 0;
  };
  const counters& stats() const { return stats_; }

private:
  struct pending_copy {
    time_us due = 0;
    link::copy_fate fate;
  };
  struct known_file {
    std::vector<pending_copy> copies; // empty once every copy is made
  };
  void copy(const std::string& rel, const link::copy_fate& fate);

  mirror_options o_;
  rng rng_;
  link::chain rules_;
  std::map<std::string, known_file> known_; // "sub/name"
  counters stats_;
};

} // namespace peerlab::net
