#include "protocols/droplog/packet_sizer.hpp"

#include <algorithm>

namespace peerlab::droplog {

packet_sizer::packet_sizer(const session_config& cfg)
    : adaptive_(cfg.adaptive_packet_size), min_(cfg.min_packet_bytes), max_(cfg.max_packet_bytes),
      step_(cfg.size_increase_bytes),
      target_(cfg.adaptive_packet_size ? std::clamp(cfg.initial_packet_bytes, min_, max_) : max_),
      decrease_(cfg.size_decrease_factor) {}

void packet_sizer::on_intact(std::uint64_t packet_bytes) {
  rate_ += (0.0 - rate_) / 16;
  // Only packets that used most of the target say the target itself works.
  if (adaptive_ && packet_bytes * 2 >= target_)
    target_ = std::min(max_, target_ + step_);
}

void packet_sizer::on_truncated(time_us sent_at, time_us now) {
  rate_ += (1.0 - rate_) / 16;
  if (!adaptive_ || sent_at <= last_decrease_)
    return;
  auto next = static_cast<std::uint64_t>(static_cast<double>(target_) * decrease_);
  target_ = std::max(min_, next);
  last_decrease_ = now;
}

} // namespace peerlab::droplog
