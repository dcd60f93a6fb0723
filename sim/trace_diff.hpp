#pragma once
// Compares the recorded hash chains of two runs and locates the first event
// where they part (peerlab check).
#include "sim/fingerprint.hpp"

#include <optional>
#include <vector>

namespace peerlab::sim {

struct divergence {
  std::size_t index;                 // first differing event
  std::optional<trace_entry> first;  // that event in run 1 (absent if run 1 ended)
  std::optional<trace_entry> second; // that event in run 2 (absent if run 2 ended)
};

/// nullopt when both traces are identical.
std::optional<divergence> first_divergence(const std::vector<trace_entry>& a,
                                           const std::vector<trace_entry>& b);

} // namespace peerlab::sim
