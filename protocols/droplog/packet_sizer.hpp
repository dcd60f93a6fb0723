#pragma once
// Packet size from the observed truncation rate, AIMD between the configured
// bounds (docs/protocols/droplog.md, "Packet sizing"): an intact full-size
// packet grows the target additively, a truncated or damaged one shrinks it
// multiplicatively, at most once per round trip (only packets sent after the
// last decrease can cause the next one).
#include "protocols/droplog/droplog.hpp"

namespace peerlab::droplog {

class packet_sizer {
public:
  explicit packet_sizer(const session_config& cfg);

  std::uint64_t target() const { return target_; }
  void on_intact(std::uint64_t packet_bytes);
  void on_truncated(time_us sent_at, time_us now);
  /// Share of reported packets that were truncated or damaged (EWMA, 1/16).
  double truncation_rate() const { return rate_; }

private:
  bool adaptive_;
  std::uint64_t min_, max_, step_, target_;
  double decrease_;
  time_us last_decrease_ = -1;
  double rate_ = 0;
};

} // namespace peerlab::droplog
