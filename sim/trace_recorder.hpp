#pragma once
// What a run keeps of its hash chain for `peerlab check`, in bounded memory:
// either checkpoints (the chain value every `interval` events, at most
// `max_checkpoints` of them) or, for one short range of events, every step.
// sim/trace_diff.* compares two runs' checkpoints, narrows down the range
// where they part and re-runs both sides to record only that range.
#include "sim/fingerprint.hpp"

#include <cstdint>
#include <limits>
#include <vector>

namespace peerlab::sim {

/// The chain value after events [0, index): equal checkpoints mean equal runs up to there.
struct checkpoint {
  std::uint64_t index;
  std::uint64_t chain;
};

struct record_plan {
  static constexpr std::uint64_t no_end = std::numeric_limits<std::uint64_t>::max();
  /// Hard bound on recorded steps (40 bytes each).
  static constexpr std::uint64_t max_entries_bound = 1'000'000;

  std::uint64_t begin = 0;    // first event index of interest
  std::uint64_t end = no_end; // one past the last; the run may stop once it is reached
  /// Checkpoints at begin + k * interval (k >= 1); when the list is full,
  /// every other one is dropped and the interval doubles.
  std::uint64_t interval = 1024;
  std::size_t max_checkpoints = 4096;
  /// Keep every step in [begin, end) instead of checkpoints; end - begin must
  /// be at most max_entries_bound.
  bool entries = false;
};

class trace_recorder {
public:
  /// Throws std::invalid_argument when the plan is unbounded or empty.
  explicit trace_recorder(record_plan p);

  /// Called by the fingerprint for every closed step, in order.
  void on_event(std::uint64_t index, const trace_entry& e) {
    if (index < plan_.begin || done_)
      return;
    if (index + 1 >= plan_.end)
      done_ = true;
    if (index >= plan_.end)
      return;
    if (plan_.entries)
      entries_.push_back(e);
    else if (index + 1 == next_)
      add_checkpoint(index + 1, e.chain);
  }

  /// Every step the plan asked for has been seen.
  bool done() const { return done_; }
  const record_plan& plan() const { return plan_; }
  /// The current spacing (the plan's, doubled once per thinning).
  std::uint64_t interval() const { return interval_; }
  const std::vector<checkpoint>& checkpoints() const { return checkpoints_; }
  const std::vector<trace_entry>& entries() const { return entries_; }

private:
  void add_checkpoint(std::uint64_t index, std::uint64_t chain);

  record_plan plan_;
  std::uint64_t interval_;
  std::uint64_t next_; // index of the next checkpoint
  bool done_ = false;
  std::vector<checkpoint> checkpoints_;
  std::vector<trace_entry> entries_;
};

} // namespace peerlab::sim
