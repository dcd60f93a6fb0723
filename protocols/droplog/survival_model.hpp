#pragma once
// What the channel does to files of a given size, learnt from what arrives
// (docs/protocols/droplog.md, "Size-aware sending"): for each size class
// (powers of two), the share of files cut and where the cuts fall (16 bins
// of the fraction read). Every data packet the peer acknowledges whole or
// NACKs with the bytes it could read is one sample. Classes with few samples
// lean on the next smaller classes, then on the estimate pooled over all
// sizes, so an unseen size is judged like the sizes below it until tried.
#include "protocols/common/types.hpp"

#include <array>
#include <cstdint>

namespace peerlab::droplog {

class survival_model {
public:
  static constexpr std::size_t bins = 16;
  static constexpr std::size_t classes = 32; // size class = floor(log2(bytes))

  /// One data packet of `size` bytes: read whole, or cut after `bytes_read`.
  void observe(std::uint64_t size, std::uint64_t bytes_read, bool intact);

  /// P(the first `end` bytes of a `size`-byte file arrive).
  double survive(std::uint64_t end, std::uint64_t size) const;
  /// Expected share of a `size`-byte file that arrives.
  double mean_share(std::uint64_t size) const;
  /// Samples seen for files of about this size.
  double samples(std::uint64_t size) const;

private:
  struct stats {
    double n = 0;                  // decayed sample count
    double cut = 0;                // decayed count of cut files
    std::array<double, bins> at{}; // decayed cut counts by fraction read
  };
  static std::size_t class_of(std::uint64_t size);
  void add(stats& s, bool intact, std::size_t bin);
  /// P(cut before fraction f) for class stats `s`.
  static double cut_before(const stats& s, double f);
  /// P(cut before fraction f) for class `c`, leaning on smaller classes.
  double cut_in_class(std::size_t c, double f) const;

  std::array<stats, classes> by_size_{};
  stats pooled_{};
};

} // namespace peerlab::droplog
