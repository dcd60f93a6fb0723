#include "sim/trace_diff.hpp"

#include <algorithm>

namespace peerlab::sim {

std::optional<divergence> first_divergence(const std::vector<trace_entry>& a,
                                           const std::vector<trace_entry>& b) {
  std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  // Each entry holds the chain value after that event, so the first unequal
  // chain value is the first event that differs.
  while (i < n && a[i].chain == b[i].chain)
    ++i;
  if (i == a.size() && i == b.size())
    return std::nullopt;
  divergence d{i, std::nullopt, std::nullopt};
  if (i < a.size())
    d.first = a[i];
  if (i < b.size())
    d.second = b[i];
  return d;
}

} // namespace peerlab::sim
