#include "protocols/gossip/score.hpp"

#include "protocols/gossip/codec.hpp"

#include <algorithm>

namespace peerlab::gossip {

void peer_scores::connected(peer_id p) {
  auto& s = peers_[p];
  s.connected = true;
}

void peer_scores::disconnected(peer_id p, time_us now) {
  auto it = peers_.find(p);
  if (it == peers_.end())
    return;
  for (auto& [topic, t] : it->second.topics)
    if (t.in_mesh)
      pruned(p, topic);
  it->second.connected = false;
  it->second.disconnected_at = now;
}

void peer_scores::grafted(peer_id p, const std::string& topic, time_us now) {
  auto& t = peers_[p].topics[topic];
  t.in_mesh = true;
  t.grafted_at = now;
  t.mesh_seconds = 0;
  t.mesh_active = false;
  t.mesh_deliveries = 0;
}

void peer_scores::pruned(peer_id p, const std::string& topic) {
  auto it = peers_.find(p);
  if (it == peers_.end())
    return;
  auto tt = it->second.topics.find(topic);
  if (tt == it->second.topics.end() || !tt->second.in_mesh)
    return;
  auto& t = tt->second;
  const double d = deficit(topic, t);
  t.mesh_failure += d * d;
  t.in_mesh = false;
  t.mesh_active = false;
}

void peer_scores::first_delivery(peer_id p, const std::string& topic, bool in_mesh) {
  auto& t = peers_[p].topics[topic];
  t.first_deliveries = std::min(t.first_deliveries + 1, p_.first_deliveries_cap);
  if (in_mesh)
    t.mesh_deliveries = std::min(t.mesh_deliveries + 1, p_.mesh_deliveries_cap);
  topic_traffic_[topic] += 1;
}

void peer_scores::near_first_delivery(peer_id p, const std::string& topic) {
  auto& t = peers_[p].topics[topic];
  t.mesh_deliveries = std::min(t.mesh_deliveries + 1, p_.mesh_deliveries_cap);
}

void peer_scores::invalid_message(peer_id p, const std::string& topic) {
  peers_[p].topics[topic].invalid += 1;
}

void peer_scores::behaviour_penalty(peer_id p, double amount) { peers_[p].behaviour += amount; }

double peer_scores::decayed(double v, double decay) const {
  v *= decay;
  return v < p_.decay_to_zero ? 0 : v;
}

void peer_scores::refresh(time_us now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto& s = it->second;
    if (!s.connected && s.disconnected_at + p_.retain_score <= now) {
      it = peers_.erase(it);
      continue;
    }
    for (auto& [topic, t] : s.topics) {
      t.first_deliveries = decayed(t.first_deliveries, p_.first_deliveries_decay);
      t.mesh_deliveries = decayed(t.mesh_deliveries, p_.mesh_deliveries_decay);
      t.mesh_failure = decayed(t.mesh_failure, p_.mesh_failure_decay);
      t.invalid = decayed(t.invalid, p_.invalid_decay);
      if (t.in_mesh) {
        t.mesh_seconds = static_cast<double>(now - t.grafted_at) / us_per_s;
        t.mesh_active = now - t.grafted_at >= p_.mesh_deliveries_activation;
      }
    }
    s.behaviour = decayed(s.behaviour, p_.behaviour_decay);
    ++it;
  }
  for (auto& [topic, v] : topic_traffic_)
    v = decayed(v, p_.mesh_deliveries_decay);
  // Bound the memory of disconnected peers: forget the longest-gone first.
  std::size_t gone = 0;
  for (auto& [_, s] : peers_)
    gone += !s.connected;
  while (gone > limits::retained_scores_max) {
    auto oldest = peers_.end();
    for (auto it = peers_.begin(); it != peers_.end(); ++it)
      if (!it->second.connected &&
          (oldest == peers_.end() || it->second.disconnected_at < oldest->second.disconnected_at))
        oldest = it;
    peers_.erase(oldest);
    --gone;
  }
}

void peer_scores::forget_topic(const std::string& topic) {
  topic_traffic_.erase(topic);
  for (auto& [_, s] : peers_) {
    auto it = s.topics.find(topic);
    if (it != s.topics.end() && !it->second.in_mesh)
      it->second.mesh_deliveries = 0;
  }
}

double peer_scores::deficit(const std::string& topic, const topic_stats& t) const {
  if (!t.mesh_active)
    return 0;
  auto it = topic_traffic_.find(topic);
  if (it == topic_traffic_.end() || it->second < p_.mesh_deliveries_min_topic)
    return 0;
  return t.mesh_deliveries < p_.mesh_deliveries_threshold
           ? p_.mesh_deliveries_threshold - t.mesh_deliveries
           : 0;
}

double peer_scores::score(peer_id p) const {
  if (!p_.enabled)
    return 0;
  auto it = peers_.find(p);
  if (it == peers_.end())
    return 0;
  double topics = 0;
  for (auto& [topic, t] : it->second.topics) {
    double s = 0;
    if (t.in_mesh)
      s += p_.time_in_mesh_weight * std::min(t.mesh_seconds, p_.time_in_mesh_cap);
    s += p_.first_deliveries_weight * t.first_deliveries;
    const double d = t.in_mesh ? deficit(topic, t) : 0;
    s += p_.mesh_deliveries_weight * d * d;
    s += p_.mesh_failure_weight * t.mesh_failure;
    s += p_.invalid_weight * t.invalid * t.invalid;
    topics += p_.topic_weight * s;
  }
  return topics + p_.behaviour_weight * it->second.behaviour * it->second.behaviour;
}

} // namespace peerlab::gossip
