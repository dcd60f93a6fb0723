#pragma once
// Round-trip estimate and retransmission timeout (RFC 6298 / RFC 9002 section 5
// and 6.2): srtt, rttvar, min_rtt, and a timeout that doubles on each
// consecutive expiry. In fixed mode the timeout is one constant, as in the
// original Python design (RETRANSMISSION_TIMEOUT = 5 s).
#include "protocols/droplog/droplog.hpp"

#include <algorithm>

namespace peerlab::droplog {

class rtt_estimator {
public:
  explicit rtt_estimator(const session_config& cfg);

  /// One sample: time from sending a packet to receiving its first ack, and
  /// the delay the peer reports between receiving it and writing the ack.
  void sample(time_us latest, time_us ack_delay);

  /// Timeout for the oldest outstanding packet, including backoff.
  time_us timeout() const { return timeout_around(srtt_, rttvar_); }
  /// The same rules (floors, clamps, backoff, fixed mode) around another
  /// estimate of the round trip and its deviation (the size model's).
  time_us timeout_around(time_us rtt, time_us deviation) const;
  /// Loss delay of the RFC 9002 time threshold, 9/8 x max(srtt, latest),
  /// widened by 1/8 per reordering step.
  time_us loss_delay(unsigned reorder_steps = 0) const {
    return loss_delay_around(std::max(srtt_, latest_), reorder_steps);
  }
  /// The same threshold around another round trip (the size model's).
  time_us loss_delay_around(time_us rtt, unsigned reorder_steps = 0) const;
  void on_timeout() {
    if (backoff_ < 30)
      ++backoff_;
  }
  void on_progress() { backoff_ = 0; }

  bool has_sample() const { return samples_ > 0; }
  time_us srtt() const { return srtt_; }
  time_us rttvar() const { return rttvar_; }
  time_us min_rtt() const { return min_rtt_; }
  time_us latest() const { return latest_; }
  /// The latest sample less the peer's ack delay where that was subtracted.
  time_us latest_adjusted() const { return adjusted_; }
  unsigned backoff() const { return backoff_; }
  std::uint64_t samples() const { return samples_; }

private:
  session_config cfg_; // a copy, so sessions stay movable
  time_us srtt_, rttvar_, min_rtt_ = 0, latest_ = 0, adjusted_ = 0;
  std::uint64_t samples_ = 0;
  unsigned backoff_ = 0;
};

} // namespace peerlab::droplog
