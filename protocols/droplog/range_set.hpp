#pragma once
// A bounded set of u64 ids kept as disjoint inclusive ranges. When it would
// hold more than `max_ranges` ranges it fills its lowest gap, so old ids that
// never arrived count as seen: this is the replay window of received packet ids.
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace peerlab::droplog {

struct id_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0; // inclusive
  bool operator==(const id_range&) const = default;
};

class range_set {
public:
  explicit range_set(std::size_t max_ranges = 256) : max_ranges_(max_ranges ? max_ranges : 1) {}

  /// Adds [first, last]; returns true if any id in it was new.
  bool insert(std::uint64_t first, std::uint64_t last);
  bool insert(std::uint64_t id) { return insert(id, id); }
  bool contains(std::uint64_t id) const;
  bool empty() const { return ranges_.empty(); }
  std::size_t size() const { return ranges_.size(); }
  std::uint64_t max() const { return ranges_.empty() ? 0 : ranges_.rbegin()->second; }

  /// Up to `n` ranges, highest first.
  std::vector<id_range> highest(std::size_t n) const;
  /// All ranges, lowest first.
  std::vector<id_range> all() const;
  void clear() { ranges_.clear(); }

private:
  void collapse();
  std::size_t max_ranges_;
  std::map<std::uint64_t, std::uint64_t> ranges_; // first -> last
};

} // namespace peerlab::droplog
