#pragma once
// Gossipsub v1.1 (libp2p pubsub) as a pure role on ports::gossip: topic
// meshes kept between D_lo and D_hi by a heartbeat, eager push to the mesh,
// lazy IHAVE/IWANT gossip to other peers, GRAFT/PRUNE with backoff, fanout for
// topics published to without subscribing, message and seen caches, peer
// scoring with a graylist, and a flooding mode for comparison.
// Wire format, parameters and policy choices: docs/protocols/gossipsub.md.
#include "protocols/gossip/commands.hpp"
#include "protocols/common/role.hpp"
#include "protocols/gossip/caches.hpp"
#include "protocols/gossip/codec.hpp"
#include "protocols/gossip/score.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <nlohmann/json_fwd.hpp>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t gossip = 6; // gossipsub
} // namespace ports
} // namespace peerlab

namespace peerlab::gossip {

struct config {
  std::size_t d = 6;           // target mesh degree
  std::size_t d_lo = 4;        // graft when the mesh is smaller
  std::size_t d_hi = 12;       // prune when the mesh is larger
  std::size_t d_lazy = 6;      // minimum peers that get IHAVE per heartbeat and topic
  std::size_t d_score = 4;     // peers kept by score when pruning an oversized mesh
  double gossip_factor = 0.25; // share of eligible peers that get IHAVE
  time_us heartbeat = us_per_s;
  time_us heartbeat_initial_delay = 100 * us_per_ms;
  std::size_t mcache_len = 5;    // heartbeat windows kept in the message cache
  std::size_t mcache_gossip = 3; // windows announced by IHAVE
  time_us seen_ttl = 120 * us_per_s;
  time_us fanout_ttl = 60 * us_per_s;
  time_us prune_backoff = 60 * us_per_s;
  time_us unsubscribe_backoff = 10 * us_per_s;
  time_us iwant_followup = 3 * us_per_s; // an id asked for is not asked again before
  std::size_t max_message_bytes = 1u << 20;
  std::size_t max_ihave_length = 5000;   // ids asked per peer and heartbeat
  std::size_t max_ihave_messages = 10;   // IHAVE frames accepted per peer and heartbeat
  std::size_t gossip_retransmission = 3; // IWANT answers per message and peer
  bool flood = false;                    // flooding mode: forward to every subscribed peer, no mesh
  bool flood_publish = false;            // v1.1 flood publishing of own messages (go default off)
  std::vector<std::string> topics;       // subscribed at start
  score_params score;

  /// Empty if the configuration is usable, else what is wrong.
  std::string check() const;
};

/// Application verdict on a message (gossipsub v1.1 validation).
enum class validation { accept, reject, ignore };

/// A message handed to the application.
struct delivery {
  std::string topic;
  msg_id id{};
  byte_view data;        // valid during the callback only
  peer_id from = 0;      // the peer it came from (self for own messages)
  bool local = false;    // published by this node
  std::uint8_t hops = 0; // links travelled (0 for own messages)
};

class gossip_role : public role {
public:
  using validator_fn =
    std::function<validation(const std::string& topic, byte_view data, peer_id from)>;
  using delivery_fn = std::function<void(const delivery&)>;

  explicit gossip_role(config cfg);

  port_t port() const override { return ports::gossip; }
  const char* name() const override { return "gossip"; }
  void start(context& ctx, effects& fx) override;
  void frame(context& ctx, peer_id from, byte_view data, effects& fx) override;
  void timer(context& ctx, std::uint64_t token, effects& fx) override;
  /// Verbs: connect <peer>..., disconnect <peer>..., subscribe <topic>,
  /// unsubscribe <topic>, publish <topic> <hex payload>.
  void command(context& ctx, const peerlab::command& cmd, effects& fx) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, gossip::parse_command(verb, args, err));
  }
  void stop(context& ctx, effects& fx) override;
  const char* message_name(std::uint8_t type) const override { return type_name(type); }

  /// Validation callback (default: accept everything).
  void set_validator(validator_fn v) { validator_ = std::move(v); }
  /// Called for every delivered message, besides the gossip_delivered event.
  void set_delivery_hook(delivery_fn f) { on_delivery_ = std::move(f); }

  // In-process API, the same operations as the commands. Errors are returned
  // as text (empty string = done).
  std::string connect(context& ctx, peer_id p, effects& fx);
  void disconnect(context& ctx, peer_id p, effects& fx);
  std::string subscribe(context& ctx, const std::string& topic, effects& fx);
  std::string unsubscribe(context& ctx, const std::string& topic, effects& fx);
  /// Publishes; on success returns the message id.
  std::optional<msg_id> publish(context& ctx, const std::string& topic, byte_view data, effects& fx,
                                std::string& error);

  // Inspection for tests and checkers.
  const config& cfg() const { return cfg_; }
  std::vector<peer_id> peers() const;
  std::vector<peer_id> mesh(const std::string& topic) const;
  std::vector<peer_id> fanout(const std::string& topic) const;
  bool subscribed(const std::string& topic) const { return topics_.count(topic) != 0; }
  bool peer_subscribed(peer_id p, const std::string& topic) const;
  double score(peer_id p) const { return scores_.score(p); }
  bool in_backoff(peer_id p, const std::string& topic, time_us now) const;

private:
  struct peer_state {
    std::set<std::string> topics;
    std::size_t ihaves_this_heartbeat = 0;
    std::size_t iwant_ids_this_heartbeat = 0;
    bool graylisted = false; // last known side of the graylist threshold
  };

  // frames
  void on_subscriptions(context&, peer_id, const subscriptions_msg&, effects&);
  void on_message(context&, peer_id, message_msg&, effects&);
  void on_ihave(context&, peer_id, const ihave_msg&, effects&);
  void on_iwant(context&, peer_id, const iwant_msg&, effects&);
  void on_graft(context&, peer_id, const graft_msg&, effects&);
  void on_prune(context&, peer_id, const prune_msg&, effects&);

  // heartbeat
  void heartbeat(context&, effects&);
  void maintain_mesh(context&, const std::string& topic, effects&);
  void maintain_fanout(context&, effects&);
  void emit_gossip(context&, const std::string& topic, const std::set<peer_id>& exclude, effects&);

  // helpers
  void deliver(const std::string& topic, const msg_id& id, byte_view data, peer_id from, bool local,
               std::uint8_t hops, effects&);
  void forward(const std::string& topic, const msg_id& id, const bytes& data, std::uint8_t hops,
               peer_id from, effects&);
  void send_graft(context&, peer_id p, const std::string& topic, effects&);
  void graft_up_to_d(context&, const std::string& topic, effects&);
  void send_prune(context&, peer_id p, const std::string& topic, time_us backoff, effects&);
  void set_backoff(peer_id p, const std::string& topic, time_us until);
  /// Whether we may GRAFT `p` now: its backoff plus one heartbeat of slack has
  /// passed, so our GRAFT cannot reach it before its own backoff for us ends.
  bool may_graft(peer_id p, const std::string& topic, time_us now) const;
  std::vector<peer_id> topic_peers(const std::string& topic) const;
  std::vector<peer_id> pick(context&, std::vector<peer_id> from, std::size_t n) const;
  bool graylisted(peer_id p) const;
  bool known(peer_id p) const { return peers_.count(p) != 0; }
  void reset_state();

  config cfg_;
  validator_fn validator_;
  delivery_fn on_delivery_;

  std::uint64_t epoch_ = 0; // start() count; stale timers carry an older epoch
  std::map<peer_id, peer_state> peers_;
  std::set<std::string> topics_;                    // our subscriptions
  std::map<std::string, std::set<peer_id>> mesh_;   // per subscribed topic
  std::map<std::string, std::set<peer_id>> fanout_; // per topic published to, not joined
  std::map<std::string, time_us> fanout_last_pub_;
  std::map<std::pair<std::string, peer_id>, time_us> backoff_; // no GRAFT before this time
  std::map<msg_id, time_us> pending_iwant_;                    // asked for, until when
  message_cache mcache_;
  seen_cache seen_;
  peer_scores scores_;
};

std::shared_ptr<gossip_role> make_gossip(const config& cfg);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

/// The parameters of a gossip role ({"d": 6, ...}) read from JSON; throws config_error.
config config_from_json(const nlohmann::json& params, const std::string& path);

} // namespace peerlab::gossip
