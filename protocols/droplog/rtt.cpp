#include "protocols/droplog/rtt.hpp"

#include <algorithm>
#include <cstdlib>

namespace peerlab::droplog {

rtt_estimator::rtt_estimator(const session_config& cfg)
    : cfg_(cfg), srtt_(cfg.initial_rtt), rttvar_(cfg.initial_rtt / 2) {}

void rtt_estimator::sample(time_us latest, time_us ack_delay) {
  if (latest <= 0)
    latest = 1;
  latest_ = adjusted_ = latest;
  if (samples_ == 0) {
    min_rtt_ = latest;
    srtt_ = latest;
    rttvar_ = latest / 2;
    ++samples_;
    return;
  }
  min_rtt_ = std::min(min_rtt_, latest);
  // RFC 9002 5.3: subtract the peer's ack delay unless that would go below min_rtt.
  time_us adjusted = latest;
  if (ack_delay > 0 && latest >= min_rtt_ + ack_delay)
    adjusted = latest - ack_delay;
  adjusted_ = adjusted;
  rttvar_ = (3 * rttvar_ + std::llabs(srtt_ - adjusted)) / 4;
  srtt_ = (7 * srtt_ + adjusted) / 8;
  ++samples_;
}

time_us rtt_estimator::timeout_around(time_us rtt, time_us deviation) const {
  if (cfg_.timeouts == timeout_mode::fixed)
    return cfg_.fixed_timeout;
  time_us base = rtt + std::max(4 * deviation, cfg_.granularity) + cfg_.max_ack_delay;
  base = std::clamp(base, cfg_.min_rto, cfg_.max_rto);
  for (unsigned i = 0; i < std::min<unsigned>(backoff_, cfg_.max_backoff) && base < cfg_.max_rto;
       ++i)
    base *= 2;
  return std::min(base, cfg_.max_rto);
}

time_us rtt_estimator::loss_delay_around(time_us rtt, unsigned reorder_steps) const {
  const double factor = 1 + (cfg_.time_threshold - 1) * (1 + reorder_steps);
  auto d = static_cast<time_us>(factor * static_cast<double>(rtt));
  return std::max(d, cfg_.granularity);
}

} // namespace peerlab::droplog
