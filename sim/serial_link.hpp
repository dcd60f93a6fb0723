#pragma once
// One FIFO serialisation queue (a node's upload or download link) that keeps
// link time exactly: whole microseconds plus the carried fraction of one, so a
// 104-byte frame at 10 Gbit/s costs its 83.2 ns instead of rounding down to
// zero whole microseconds (which made small frames free).
#include "protocols/common/types.hpp"
#include "sim/sim_time.hpp"

#include <cmath>
#include <cstdint>

namespace peerlab::sim {

class serial_link {
public:
  /// Queues `bytes` at `now` on a link of `bytes_per_s` (> 0). Returns the
  /// time the frame's last byte has left, rounded up to a whole microsecond
  /// and saturating at time_never.
  time_us transmit(time_us now, std::uint64_t bytes, double bytes_per_s) {
    if (now > free_us_ || (now == free_us_ && frac_us_ == 0)) { // idle: nothing to carry
      free_us_ = now;
      frac_us_ = 0;
    }
    double us = static_cast<double>(bytes) * 1e6 / bytes_per_s + frac_us_;
    double whole = std::floor(us);
    frac_us_ = us - whole;
    free_us_ = later(free_us_, delay_us(whole));
    return frac_us_ > 0 ? later(free_us_, 1) : free_us_;
  }

  /// Forgets every queued frame (the node went down): idle from `now`.
  void clear(time_us now) {
    if (free_us_ > now || (free_us_ == now && frac_us_ > 0)) {
      free_us_ = now;
      frac_us_ = 0;
    }
  }

  /// Microseconds (whole and fraction) at which the link becomes idle.
  double free_at_us() const { return static_cast<double>(free_us_) + frac_us_; }

private:
  time_us free_us_ = 0;
  double frac_us_ = 0; // in [0, 1): the part of a microsecond already used
};

} // namespace peerlab::sim
