#include "protocols/gossip/gossip.hpp"

namespace peerlab::gossip {

std::string config::check() const {
  if (d == 0)
    return "d must be at least 1";
  if (d_lo > d || d > d_hi)
    return "need d_lo <= d <= d_hi";
  if (d_hi > limits::peers_max)
    return "d_hi must not exceed 4096";
  if (d_score > d)
    return "d_score must not exceed d";
  if (!(gossip_factor >= 0 && gossip_factor <= 1))
    return "gossip_factor must be in [0, 1]";
  if (heartbeat <= 0 || heartbeat_initial_delay < 0)
    return "heartbeat must be positive and its initial delay not negative";
  if (mcache_len == 0 || mcache_gossip > mcache_len)
    return "need 1 <= mcache_len and mcache_gossip <= mcache_len";
  if (seen_ttl <= 0 || fanout_ttl <= 0 || iwant_followup <= 0)
    return "seen_ttl, fanout_ttl and iwant_followup must be positive";
  if (prune_backoff < 0 || unsubscribe_backoff < 0 ||
      prune_backoff > time_us{limits::backoff_s_max} * us_per_s ||
      unsubscribe_backoff > time_us{limits::backoff_s_max} * us_per_s)
    return "backoffs must be between 0 and 1 hour";
  if (max_message_bytes == 0 || max_message_bytes > limits::message_bytes_max)
    return "max_message_bytes must be between 1 B and 1 MiB";
  if (max_ihave_length == 0 || max_ihave_length > limits::ids_per_frame_max)
    return "max_ihave_length must be between 1 and 5000";
  if (topics.size() > limits::topics_max)
    return "at most 64 topics";
  for (auto& t : topics)
    if (!valid_topic(t))
      return "topic \"" + t.substr(0, 64) +
             "\" is not 1..256 printable ASCII characters without spaces";
  const auto& s = score;
  if (!(s.graylist_threshold < s.publish_threshold && s.publish_threshold <= s.gossip_threshold &&
        s.gossip_threshold <= 0))
    return "score thresholds must satisfy graylist < publish <= gossip <= 0";
  for (double decay : {s.first_deliveries_decay, s.mesh_deliveries_decay, s.mesh_failure_decay,
                       s.invalid_decay, s.behaviour_decay})
    if (!(decay > 0 && decay < 1))
      return "score decays must be in (0, 1)";
  if (s.invalid_weight > 0 || s.mesh_deliveries_weight > 0 || s.mesh_failure_weight > 0 ||
      s.behaviour_weight > 0)
    return "penalty weights (invalid, mesh deliveries, mesh failure, behaviour) must not be "
           "positive";
  return {};
}

} // namespace peerlab::gossip
