#pragma once
// A set of byte ranges [begin, end), kept merged. The downloader uses it to
// know which bytes of a file have arrived, whatever order chunks come in.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace peerlab::filexfer {

class range_set {
public:
  using range = std::pair<std::uint64_t, std::uint64_t>; // [first, second)

  /// Adds [b, e); returns how many bytes were not in the set before.
  std::uint64_t add(std::uint64_t b, std::uint64_t e);
  /// The parts of [b, e) not in the set, in order.
  std::vector<range> missing(std::uint64_t b, std::uint64_t e) const;
  bool covers(std::uint64_t b, std::uint64_t e) const;
  /// End of the range holding `x`, or `x` if `x` is not in the set.
  std::uint64_t end_of_run(std::uint64_t x) const;
  /// Smallest value >= x not in the set.
  std::uint64_t first_gap_from(std::uint64_t x) const;
  /// Start of the first range beginning after x, or UINT64_MAX.
  std::uint64_t next_start_after(std::uint64_t x) const;
  /// One past the last byte of [b, e) not in the set, or b if the set covers [b, e).
  std::uint64_t missing_end(std::uint64_t b, std::uint64_t e) const;

  /// Every range, in order.
  std::vector<range> ranges() const { return {ranges_.begin(), ranges_.end()}; }
  std::uint64_t total() const { return total_; }
  std::size_t pieces() const { return ranges_.size(); }
  void clear() {
    ranges_.clear();
    total_ = 0;
  }

private:
  std::map<std::uint64_t, std::uint64_t> ranges_; // begin -> end, disjoint, not touching
  std::uint64_t total_ = 0;
};

} // namespace peerlab::filexfer
