#include "protocols/droplog/range_set.hpp"

#include <iterator>
#include <limits>

namespace peerlab::droplog {

bool range_set::contains(std::uint64_t id) const {
  auto it = ranges_.upper_bound(id);
  if (it == ranges_.begin())
    return false;
  --it;
  return id <= it->second;
}

bool range_set::insert(std::uint64_t first, std::uint64_t last) {
  if (last < first)
    return false;
  // Already fully covered?
  auto it = ranges_.upper_bound(first);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= last && prev->first <= first)
      return false;
  }
  std::uint64_t lo = first, hi = last;
  // Merge with a range that ends at or just before `first`.
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= first || (first > 0 && prev->second == first - 1)) {
      lo = prev->first;
      hi = std::max(hi, prev->second);
      it = ranges_.erase(prev);
    }
  }
  // Merge with ranges that start inside or just after [lo, hi].
  constexpr auto top = std::numeric_limits<std::uint64_t>::max();
  while (it != ranges_.end() && (it->first <= hi || (hi != top && it->first == hi + 1))) {
    hi = std::max(hi, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(lo, hi);
  collapse();
  return true;
}

void range_set::collapse() {
  while (ranges_.size() > max_ranges_) {
    auto a = ranges_.begin();
    auto b = std::next(a);
    std::uint64_t lo = a->first, hi = b->second;
    ranges_.erase(a);
    ranges_.erase(b);
    ranges_.emplace(lo, hi);
  }
}

std::vector<id_range> range_set::highest(std::size_t n) const {
  std::vector<id_range> out;
  for (auto it = ranges_.rbegin(); it != ranges_.rend() && out.size() < n; ++it)
    out.push_back({it->first, it->second});
  return out;
}

std::vector<id_range> range_set::all() const {
  std::vector<id_range> out;
  for (auto& [f, l] : ranges_)
    out.push_back({f, l});
  return out;
}

} // namespace peerlab::droplog
