#pragma once
// Peer scoring of gossipsub v1.1 (spec "Peer Scoring"), the parts that apply
// without IP addresses or an application score: P1 time in mesh, P2 first
// message deliveries, P3 mesh message delivery deficit, P3b mesh failure
// penalty, P4 invalid messages, P7 behaviour penalty. Counters decay once per
// heartbeat. Parameters and their defaults: docs/protocols/gossipsub.md.
#include "protocols/common/types.hpp"

#include <map>
#include <string>

namespace peerlab::gossip {

struct score_params {
  bool enabled = true;
  double topic_weight = 1.0;

  double time_in_mesh_weight = 0.01; // P1, per second in mesh
  double time_in_mesh_cap = 100;     // seconds

  double first_deliveries_weight = 0.5; // P2
  double first_deliveries_decay = 0.9;
  double first_deliveries_cap = 10;

  double mesh_deliveries_weight = -1; // P3 (deficit squared)
  double mesh_deliveries_decay = 0.9;
  double mesh_deliveries_cap = 20;
  double mesh_deliveries_threshold = 1;
  /// P3 applies only when this node itself received at least this many
  /// (decayed) messages in the topic: no peer is blamed in a quiet topic.
  double mesh_deliveries_min_topic = 10;
  time_us mesh_deliveries_window = 50 * 1000; // duplicates this soon count
  time_us mesh_deliveries_activation = 5 * us_per_s;

  double mesh_failure_weight = -1; // P3b
  double mesh_failure_decay = 0.9;

  double invalid_weight = -20; // P4 (count squared)
  double invalid_decay = 0.99;

  double behaviour_weight = -10; // P7 (count squared)
  double behaviour_decay = 0.9;

  double decay_to_zero = 0.01;
  time_us retain_score = 60 * us_per_s; // after disconnect

  // Thresholds (spec: graylist < publish <= gossip < 0).
  double gossip_threshold = -10;   // below: no IHAVE/IWANT with the peer
  double publish_threshold = -50;  // below: not chosen for publishing
  double graylist_threshold = -80; // below: every frame from the peer is ignored
};

/// Scores of every known peer. Only topics this node is subscribed to count.
class peer_scores {
public:
  explicit peer_scores(const score_params& p) : p_(p) {}

  void connected(peer_id p);
  void disconnected(peer_id p, time_us now);
  void grafted(peer_id p, const std::string& topic, time_us now);
  /// Leaving the mesh turns a current P3 deficit into a sticky P3b penalty.
  void pruned(peer_id p, const std::string& topic);
  /// A valid message first received from `p`.
  void first_delivery(peer_id p, const std::string& topic, bool in_mesh);
  /// A duplicate from a mesh peer within the delivery window.
  void near_first_delivery(peer_id p, const std::string& topic);
  void invalid_message(peer_id p, const std::string& topic);
  void behaviour_penalty(peer_id p, double amount = 1);
  /// Heartbeat: decay counters, advance mesh time, forget old disconnected peers.
  void refresh(time_us now);
  /// Forgets topic counters of a topic this node left.
  void forget_topic(const std::string& topic);
  void clear() {
    peers_.clear();
    topic_traffic_.clear();
  }

  double score(peer_id p) const;

private:
  struct topic_stats {
    bool in_mesh = false;
    time_us grafted_at = 0;
    double mesh_seconds = 0;
    bool mesh_active = false; // in mesh longer than the activation time
    double first_deliveries = 0;
    double mesh_deliveries = 0;
    double mesh_failure = 0;
    double invalid = 0;
  };
  struct peer_stats {
    std::map<std::string, topic_stats> topics;
    double behaviour = 0;
    bool connected = true;
    time_us disconnected_at = 0;
  };

  double deficit(const std::string& topic, const topic_stats& t) const;
  double decayed(double v, double decay) const;

  score_params p_;
  std::map<peer_id, peer_stats> peers_;
  std::map<std::string, double> topic_traffic_; // decayed count of valid messages per topic
};

} // namespace peerlab::gossip
