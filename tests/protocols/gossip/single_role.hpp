#pragma once
// Drives one gossip role by hand: the test plays every peer, feeds frames and
// timers at chosen times and inspects the effects of each step.
#include "gossip_harness.hpp"

#include <optional>

namespace gossip_test {

class single_role {
public:
  explicit single_role(gossip::config cfg = {}, peer_id self = 1)
      : role(gossip::make_gossip(std::move(cfg))), self_(self), random_(99) {
    step([&](context& c, effects& fx) { role->start(c, fx); });
    heartbeat_token = fx.timers.at(0).token;
  }

  std::shared_ptr<gossip::gossip_role> role;
  effects fx; // effects of the last step
  std::uint64_t heartbeat_token = 0;
  time_us now = 0;

  template <class F>
  effects& step(F&& f) {
    fx.clear();
    context c{now, self_, random_, kv_, content_, {}};
    f(c, fx);
    return fx;
  }

  effects& frame(peer_id from, const gossip::frame_body& body) {
    auto data = gossip::encode(body);
    return raw(from, data);
  }
  effects& raw(peer_id from, const bytes& data) {
    return step([&](context& c, effects& out) { role->frame(c, from, data, out); });
  }
  effects& command(std::string verb, std::vector<std::string> args) {
    return step([&](context& c, effects& out) {
      deliver_command(*role, c, text_command_of(7, std::move(verb), std::move(args)), out);
    });
  }
  /// Advances the clock to `t` and fires the heartbeat.
  effects& heartbeat_at(time_us t) {
    now = t;
    return step([&](context& c, effects& out) { role->timer(c, heartbeat_token, out); });
  }
  /// A peer that says hello with its topics.
  void add_peer(peer_id p, std::vector<std::string> topics) {
    gossip::subscriptions_msg m;
    for (auto& t : topics)
      m.subs.push_back({true, t});
    frame(p, m);
  }

  // ---- reading effects ----
  std::vector<std::pair<peer_id, gossip::frame_body>> sent() const {
    std::vector<std::pair<peer_id, gossip::frame_body>> out;
    for (auto& f : fx.frames) {
      gossip::frame_body b;
      std::string err;
      if (!gossip::decode(f.data, gossip::limits::message_bytes_max, b, err))
        throw std::runtime_error("role sent an undecodable frame: " + err);
      out.emplace_back(f.to, std::move(b));
    }
    return out;
  }
  template <class T>
  std::vector<std::pair<peer_id, T>> sent_of() const {
    std::vector<std::pair<peer_id, T>> out;
    for (auto& [to, b] : sent())
      if (auto* m = std::get_if<T>(&b))
        out.emplace_back(to, *m);
    return out;
  }
  template <class T>
  bool sent_to(peer_id p) const {
    for (auto& [to, m] : sent_of<T>())
      if (to == p)
        return true;
    return false;
  }
  double count(const std::string& name) const {
    double s = 0;
    for (auto& m : fx.metrics)
      if (m.is_counter && name == m.name)
        s += m.value;
    return s;
  }
  const event* find_event(const std::string& kind) const {
    for (auto& e : fx.events)
      if (e.kind == kind)
        return &e;
    return nullptr;
  }

private:
  peer_id self_;
  rng random_;
  null_kv kv_;
  null_content content_;
};

} // namespace gossip_test
