#include "protocols/kad/rtt.hpp"

#include <algorithm>

namespace peerlab::kad {

void rtt_estimator::estimate::update(time_us r) {
  if (!valid) { // RFC 6298 2.2: the first measurement
    srtt = r;
    rttvar = r / 2;
    valid = true;
    return;
  }
  // 2.3 with alpha = 1/8, beta = 1/4, in integer microseconds.
  time_us err = srtt > r ? srtt - r : r - srtt;
  rttvar = (3 * rttvar + err) / 4;
  srtt = (7 * srtt + r) / 8;
}

std::size_t rtt_estimator::index(peer_id p) const {
  std::size_t i = 0;
  while (i < peers_.size() && peers_[i].peer != p)
    ++i;
  return i;
}

void rtt_estimator::sample(peer_id p, time_us rtt) {
  rtt = std::max<time_us>(rtt, 0);
  all_.update(rtt);
  ++tick_;
  if (max_ == 0)
    return;
  std::size_t i = index(p);
  if (i == peers_.size()) {
    if (peers_.size() < max_)
      peers_.push_back({p, {}, 0});
    else {
      i = static_cast<std::size_t>(
        std::min_element(peers_.begin(), peers_.end(),
                         [](const slot& a, const slot& b) { return a.used < b.used; }) -
        peers_.begin());
      peers_[i] = slot{p, {}, 0};
    }
  }
  peers_[i].e.update(rtt);
  peers_[i].used = tick_;
}

std::optional<time_us> rtt_estimator::rto(peer_id p) const {
  if (std::size_t i = index(p); i < peers_.size())
    return peers_[i].e.rto();
  if (all_.valid)
    return all_.rto();
  return std::nullopt;
}

void rtt_estimator::clear() {
  peers_.clear();
  all_ = {};
  tick_ = 0;
}

} // namespace peerlab::kad
