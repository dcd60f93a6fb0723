#pragma once
// Locates the first event where two runs part (peerlab check) without keeping
// either run's whole trace: both runs record bounded checkpoints of their hash
// chains; the first unequal checkpoint brackets a range of events; both sides
// are re-run up to that range with finer checkpoints until it is at most
// `max_window` events long, then once more keeping each step of that range.
#include "sim/fingerprint.hpp"
#include "sim/trace_recorder.hpp"

#include <functional>
#include <optional>
#include <vector>

namespace peerlab::sim {

struct divergence {
  std::uint64_t index;               // first differing event
  std::optional<trace_entry> first;  // that event in run 1 (absent if run 1 ended)
  std::optional<trace_entry> second; // that event in run 2 (absent if run 2 ended)
};

/// nullopt when both step lists are identical. `offset` is the event index of
/// their first entries.
std::optional<divergence> first_divergence(const std::vector<trace_entry>& a,
                                           const std::vector<trace_entry>& b,
                                           std::uint64_t offset = 0);

/// What a traced run reports when it ends (or stops early: its recorder is done).
struct traced_result {
  std::uint64_t chain;
  std::uint64_t events;
};
/// Runs one side with the given recorder attached to its fingerprint.
using traced_run = std::function<traced_result(trace_recorder&)>;

struct check_limits {
  std::uint64_t interval = 1024;      // first pass: initial checkpoint spacing
  std::size_t max_checkpoints = 4096; // per recorder
  std::uint64_t max_window = 65'536;  // steps kept per side in the last pass
};

struct check_report {
  traced_result first{}, second{}; // the full runs
  bool identical = false;
  /// Set when the runs differ and the re-runs reproduced the difference.
  std::optional<divergence> diff;
  unsigned passes = 0; // runs of each side
  // The largest recorder seen: the memory bound the test checks.
  std::size_t peak_checkpoints = 0;
  std::size_t peak_entries = 0;
};

check_report compare_runs(const traced_run& a, const traced_run& b, const check_limits& lim = {});

} // namespace peerlab::sim
