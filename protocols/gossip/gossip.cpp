// Lifecycle, commands and the in-process API of the gossipsub role. Frame
// handlers: gossip_frames.cpp; heartbeat: gossip_heartbeat.cpp.
#include "protocols/gossip/gossip.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/sha256.hpp"

#include <charconv>
#include <stdexcept>

namespace peerlab::gossip {

namespace {

std::uint64_t heartbeat_token(std::uint64_t epoch) { return (epoch << 8) | 1; }

void done(effects& fx, const peerlab::command& cmd) {
  fx.emit(event{"command_done", cmd.id, {{"verb", std::string(cmd.verb())}}, {}});
}

} // namespace

gossip_role::gossip_role(config cfg)
    : cfg_(std::move(cfg)), mcache_(cfg_.mcache_len, cfg_.mcache_gossip,
                                    limits::cached_messages_max, limits::cached_bytes_max),
      seen_(cfg_.seen_ttl, limits::seen_max), scores_(cfg_.score) {
  if (auto err = cfg_.check(); !err.empty())
    throw std::invalid_argument("gossip config: " + err);
}

std::shared_ptr<gossip_role> make_gossip(const config& cfg) {
  return std::make_shared<gossip_role>(cfg);
}

void gossip_role::reset_state() {
  peers_.clear();
  topics_.clear();
  mesh_.clear();
  fanout_.clear();
  fanout_last_pub_.clear();
  backoff_.clear();
  pending_iwant_.clear();
  mcache_.clear();
  seen_.clear();
  scores_.clear();
}

void gossip_role::start(context&, effects& fx) {
  // A (re)start begins from nothing but the configuration: in-memory state
  // does not survive a crash, and timers of the previous life are ignored.
  reset_state();
  ++epoch_;
  for (auto& t : cfg_.topics) {
    topics_.insert(t);
    mesh_[t];
  }
  fx.after(cfg_.heartbeat_initial_delay, heartbeat_token(epoch_));
}

void gossip_role::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != heartbeat_token(epoch_))
    return;
  heartbeat(ctx, fx);
  fx.after(cfg_.heartbeat, heartbeat_token(epoch_));
}

void gossip_role::stop(context&, effects& fx) {
  // Graceful leave: tell every peer we left our topics, so they drop us from
  // their meshes at once instead of at their next failed delivery.
  if (topics_.empty())
    return;
  subscriptions_msg bye;
  for (auto& t : topics_)
    bye.subs.push_back({false, t});
  auto frame = encode(bye);
  for (auto& [p, _] : peers_)
    fx.send(p, frame);
}

// ---- commands -------------------------------------------------------------

void gossip_role::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<gossip::command>();
  if (!body)
    return fx.fail(
      cmd, peerlab::fail_code::bad_request,
      "gossip knows the commands connect, disconnect, subscribe, unsubscribe, publish");
  auto fail = [&](std::string reason) { fx.fail(cmd, peerlab::fail_code::conflict, reason); };
  if (auto* c = std::get_if<connect_peers>(body)) {
    for (auto p : c->peers)
      if (auto err = connect(ctx, p, fx); !err.empty())
        return fail(err);
    return done(fx, cmd);
  }
  if (auto* c = std::get_if<disconnect_peers>(body)) {
    for (auto p : c->peers)
      disconnect(ctx, p, fx);
    return done(fx, cmd);
  }
  if (auto* c = std::get_if<subscribe_topic>(body)) {
    if (auto err = subscribe(ctx, c->topic, fx); !err.empty())
      return fail(err);
    return done(fx, cmd);
  }
  if (auto* c = std::get_if<unsubscribe_topic>(body)) {
    if (auto err = unsubscribe(ctx, c->topic, fx); !err.empty())
      return fail(err);
    return done(fx, cmd);
  }
  auto& p = std::get<publish_message>(*body);
  std::string err;
  std::size_t frames_before = fx.frames.size();
  auto id = publish(ctx, p.topic, p.payload, fx, err);
  if (!id)
    return fail(err);
  fx.emit(event{"gossip_published",
                cmd.id,
                {{"topic", p.topic}, {"msg_id", to_hex(*id)}},
                {{"size", static_cast<double>(p.payload.size())},
                 {"peers", static_cast<double>(fx.frames.size() - frames_before)}}});
}

// ---- in-process API -------------------------------------------------------

std::string gossip_role::connect(context& ctx, peer_id p, effects& fx) {
  if (p == ctx.self)
    return "cannot connect to self";
  if (!known(p)) {
    if (peers_.size() >= limits::peers_max)
      return "peer table full (4096 peers)";
    peers_[p];
    scores_.connected(p);
  }
  // (Re)send our subscriptions: also the way a restarted peer learns them.
  subscriptions_msg hello;
  for (auto& t : topics_)
    hello.subs.push_back({true, t});
  fx.send(p, encode(hello));
  return {};
}

void gossip_role::disconnect(context& ctx, peer_id p, effects&) {
  if (!known(p))
    return;
  for (auto& [_, m] : mesh_)
    m.erase(p);
  for (auto& [_, f] : fanout_)
    f.erase(p);
  scores_.disconnected(p, ctx.now);
  peers_.erase(p);
}

std::string gossip_role::subscribe(context& ctx, const std::string& topic, effects& fx) {
  if (!valid_topic(topic))
    return "topic must be 1..256 printable ASCII characters without spaces";
  if (subscribed(topic))
    return {};
  if (topics_.size() >= limits::topics_max)
    return "already subscribed to 64 topics";
  topics_.insert(topic);
  auto& m = mesh_[topic];
  auto announce = encode(subscriptions_msg{{{true, topic}}});
  for (auto& [p, _] : peers_)
    fx.send(p, announce);
  if (cfg_.flood)
    return {};
  // Join: fanout peers first (they already carry our messages), then others.
  if (auto f = fanout_.find(topic); f != fanout_.end()) {
    for (auto p : f->second)
      if (m.size() < cfg_.d && peer_subscribed(p, topic) && scores_.score(p) >= 0 &&
          may_graft(p, topic, ctx.now))
        send_graft(ctx, p, topic, fx);
    fanout_.erase(f);
    fanout_last_pub_.erase(topic);
  }
  if (m.size() < cfg_.d)
    graft_up_to_d(ctx, topic, fx);
  return {};
}

std::string gossip_role::unsubscribe(context& ctx, const std::string& topic, effects& fx) {
  if (!subscribed(topic))
    return {};
  auto announce = encode(subscriptions_msg{{{false, topic}}});
  for (auto& [p, _] : peers_)
    fx.send(p, announce);
  for (auto p : mesh_[topic]) {
    scores_.pruned(p, topic);
    send_prune(ctx, p, topic, cfg_.unsubscribe_backoff, fx);
  }
  mesh_.erase(topic);
  topics_.erase(topic);
  scores_.forget_topic(topic);
  return {};
}

std::optional<msg_id> gossip_role::publish(context& ctx, const std::string& topic, byte_view data,
                                           effects& fx, std::string& error) {
  if (!valid_topic(topic)) {
    error = "topic must be 1..256 printable ASCII characters without spaces";
    return std::nullopt;
  }
  if (data.size() > cfg_.max_message_bytes) {
    error = "message of " + std::to_string(data.size()) + " bytes exceeds max_message_bytes (" +
            std::to_string(cfg_.max_message_bytes) + ")";
    return std::nullopt;
  }
  const msg_id id = message_id(topic, data);
  if (seen_.contains(id)) {
    error = "duplicate: this message was already published or received";
    return std::nullopt;
  }
  if (validator_ && validator_(topic, data, ctx.self) != validation::accept) {
    error = "the validator refused the message";
    return std::nullopt;
  }
  const bool joined = subscribed(topic);
  if (!joined && !cfg_.flood && !fanout_.count(topic) && fanout_.size() >= limits::topics_max) {
    error = "publishing to more than 64 topics without subscribing";
    return std::nullopt;
  }
  if (seen_.insert(id, ctx.now))
    fx.count("gossip.seen_evicted");
  bytes copy(data.begin(), data.end());
  if (!mcache_.put(id, topic, copy, 0))
    fx.count("gossip.mcache_full");
  fx.count("gossip.published");
  if (joined)
    deliver(topic, id, data, ctx.self, true, 0, fx);

  std::vector<peer_id> targets;
  const double publish_min = cfg_.score.publish_threshold;
  auto eligible = [&] {
    std::vector<peer_id> v;
    for (auto p : topic_peers(topic))
      if (cfg_.flood || scores_.score(p) >= publish_min)
        v.push_back(p);
    return v;
  };
  if (cfg_.flood || cfg_.flood_publish) {
    targets = eligible();
  } else if (joined) {
    auto& m = mesh_[topic];
    targets.assign(m.begin(), m.end());
    if (targets.empty()) // joined but the mesh is not built yet
      targets = pick(ctx, eligible(), cfg_.d);
  } else {
    auto& f = fanout_[topic];
    if (f.empty())
      for (auto p : pick(ctx, eligible(), cfg_.d))
        f.insert(p);
    fanout_last_pub_[topic] = ctx.now;
    targets.assign(f.begin(), f.end());
  }
  const auto frame = encode(message_msg{topic, 1, copy});
  for (auto p : targets)
    fx.send(p, frame);
  return id;
}

// ---- inspection and helpers ----------------------------------------------

std::vector<peer_id> gossip_role::peers() const {
  std::vector<peer_id> out;
  for (auto& [p, _] : peers_)
    out.push_back(p);
  return out;
}

std::vector<peer_id> gossip_role::mesh(const std::string& topic) const {
  auto it = mesh_.find(topic);
  if (it == mesh_.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<peer_id> gossip_role::fanout(const std::string& topic) const {
  auto it = fanout_.find(topic);
  if (it == fanout_.end())
    return {};
  return {it->second.begin(), it->second.end()};
}

bool gossip_role::peer_subscribed(peer_id p, const std::string& topic) const {
  auto it = peers_.find(p);
  return it != peers_.end() && it->second.topics.count(topic) != 0;
}

bool gossip_role::in_backoff(peer_id p, const std::string& topic, time_us now) const {
  auto it = backoff_.find({topic, p});
  return it != backoff_.end() && now < it->second;
}

bool gossip_role::may_graft(peer_id p, const std::string& topic, time_us now) const {
  auto it = backoff_.find({topic, p});
  return it == backoff_.end() || now >= it->second + cfg_.heartbeat;
}

bool gossip_role::graylisted(peer_id p) const {
  return cfg_.score.enabled && scores_.score(p) < cfg_.score.graylist_threshold;
}

std::vector<peer_id> gossip_role::topic_peers(const std::string& topic) const {
  std::vector<peer_id> out;
  for (auto& [p, st] : peers_)
    if (st.topics.count(topic) && !graylisted(p))
      out.push_back(p);
  return out;
}

std::vector<peer_id> gossip_role::pick(context& ctx, std::vector<peer_id> from,
                                       std::size_t n) const {
  // Partial Fisher-Yates on the node's seeded generator; `from` is in id
  // order, so the result depends only on the seed and the inputs.
  n = std::min(n, from.size());
  for (std::size_t i = 0; i < n; ++i)
    std::swap(from[i], from[i + ctx.random.below(from.size() - i)]);
  from.resize(n);
  return from;
}

void gossip_role::set_backoff(peer_id p, const std::string& topic, time_us until) {
  auto key = std::make_pair(topic, p);
  auto it = backoff_.find(key);
  if (it != backoff_.end())
    it->second = std::max(it->second, until);
  else if (backoff_.size() < limits::backoffs_max)
    backoff_.emplace(std::move(key), until);
}

void gossip_role::send_graft(context& ctx, peer_id p, const std::string& topic, effects& fx) {
  mesh_[topic].insert(p);
  scores_.grafted(p, topic, ctx.now);
  fx.send(p, encode(graft_msg{topic}));
  fx.count("gossip.graft");
}

void gossip_role::send_prune(context& ctx, peer_id p, const std::string& topic, time_us backoff,
                             effects& fx) {
  fx.send(p, encode(prune_msg{topic, static_cast<std::uint32_t>(backoff / us_per_s)}));
  set_backoff(p, topic, ctx.now + backoff);
  fx.count("gossip.prune");
}

void gossip_role::deliver(const std::string& topic, const msg_id& id, byte_view data, peer_id from,
                          bool local, std::uint8_t hops, effects& fx) {
  fx.count("gossip.delivered");
  fx.emit(event{"gossip_delivered",
                0,
                {{"topic", topic}, {"msg_id", to_hex(id)}, {"from", std::to_string(from)}},
                {{"size", static_cast<double>(data.size())}, {"hops", static_cast<double>(hops)}}});
  if (on_delivery_)
    on_delivery_(delivery{topic, id, data, from, local, hops});
}

void gossip_role::forward(const std::string& topic, const msg_id&, const bytes& data,
                          std::uint8_t hops, peer_id from, effects& fx) {
  std::vector<peer_id> targets;
  if (cfg_.flood) {
    targets = topic_peers(topic);
  } else {
    auto it = mesh_.find(topic);
    if (it != mesh_.end())
      targets.assign(it->second.begin(), it->second.end());
  }
  const std::uint8_t next = hops == 255 ? 255 : static_cast<std::uint8_t>(hops + 1);
  bytes frame;
  for (auto p : targets) {
    if (p == from)
      continue;
    if (frame.empty())
      frame = encode(message_msg{topic, next, data});
    fx.send(p, frame);
    fx.count("gossip.forwarded");
  }
}

} // namespace peerlab::gossip
