#include "protocols/filexfer/range_set.hpp"

#include <algorithm>

namespace peerlab::filexfer {

std::uint64_t range_set::add(std::uint64_t b, std::uint64_t e) {
  if (b >= e)
    return 0;
  std::uint64_t before = total_;
  // Start from the range that begins at or before b, if it reaches b.
  auto it = ranges_.upper_bound(b);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= b)
      it = prev;
  }
  // Swallow every range that overlaps or touches [b, e).
  while (it != ranges_.end() && it->first <= e) {
    b = std::min(b, it->first);
    e = std::max(e, it->second);
    total_ -= it->second - it->first;
    it = ranges_.erase(it);
  }
  ranges_.emplace(b, e);
  total_ += e - b;
  return total_ - before;
}

std::vector<range_set::range> range_set::missing(std::uint64_t b, std::uint64_t e) const {
  std::vector<range> out;
  std::uint64_t x = b;
  while (x < e) {
    x = first_gap_from(x);
    if (x >= e)
      break;
    std::uint64_t gap_end = std::min(e, next_start_after(x));
    out.emplace_back(x, gap_end);
    x = gap_end;
  }
  return out;
}

bool range_set::covers(std::uint64_t b, std::uint64_t e) const {
  return b >= e || end_of_run(b) >= e;
}

std::uint64_t range_set::end_of_run(std::uint64_t x) const {
  auto it = ranges_.upper_bound(x);
  if (it == ranges_.begin())
    return x;
  --it;
  return it->second > x ? it->second : x;
}

std::uint64_t range_set::first_gap_from(std::uint64_t x) const { return end_of_run(x); }

std::uint64_t range_set::next_start_after(std::uint64_t x) const {
  auto it = ranges_.upper_bound(x);
  return it == ranges_.end() ? UINT64_MAX : it->first;
}

std::uint64_t range_set::missing_end(std::uint64_t b, std::uint64_t e) const {
  if (b >= e)
    return b;
  // The range holding e - 1, if any, hides the tail; what precedes it is missing.
  auto it = ranges_.upper_bound(e - 1);
  if (it == ranges_.begin())
    return e;
  --it;
  if (it->second < e)
    return e; // e - 1 itself is missing
  return it->first <= b ? b : it->first;
}

} // namespace peerlab::filexfer
