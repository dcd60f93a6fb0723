// Frame handlers of the gossipsub role.
#include "protocols/gossip/gossip.hpp"

namespace peerlab::gossip {

void gossip_role::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  frame_body body;
  std::string error;
  if (!decode(data, cfg_.max_message_bytes, body, error)) {
    fx.count("frames_rejected");
    return;
  }
  if (!known(from)) {
    // An inbound connection: the first frame of a peer that connected to us.
    if (peers_.size() >= limits::peers_max) {
      fx.count("gossip.peers_refused");
      return;
    }
    std::string err = connect(ctx, from, fx); // answers with our subscriptions
    if (!err.empty())
      return;
  }
  if (graylisted(from)) {
    fx.count("gossip.graylisted_frames");
    return;
  }
  std::visit(
    [&](auto& m) {
      using T = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<T, subscriptions_msg>)
        on_subscriptions(ctx, from, m, fx);
      else if constexpr (std::is_same_v<T, message_msg>)
        on_message(ctx, from, m, fx);
      else if constexpr (std::is_same_v<T, ihave_msg>)
        on_ihave(ctx, from, m, fx);
      else if constexpr (std::is_same_v<T, iwant_msg>)
        on_iwant(ctx, from, m, fx);
      else if constexpr (std::is_same_v<T, graft_msg>)
        on_graft(ctx, from, m, fx);
      else
        on_prune(ctx, from, m, fx);
    },
    body);
}

void gossip_role::on_subscriptions(context&, peer_id from, const subscriptions_msg& m,
                                   effects& fx) {
  auto& ps = peers_[from];
  for (auto& s : m.subs) {
    if (s.subscribe) {
      if (ps.topics.size() >= limits::topics_max && !ps.topics.count(s.topic)) {
        fx.count("gossip.peer_topics_full");
        continue;
      }
      ps.topics.insert(s.topic);
    } else {
      ps.topics.erase(s.topic);
      if (auto it = mesh_.find(s.topic); it != mesh_.end() && it->second.erase(from))
        scores_.pruned(from, s.topic);
      if (auto it = fanout_.find(s.topic); it != fanout_.end())
        it->second.erase(from);
    }
  }
}

void gossip_role::on_message(context& ctx, peer_id from, message_msg& m, effects& fx) {
  if (!subscribed(m.topic)) {
    // We relay only topics we joined (a fanout publisher never gets messages back).
    fx.count("gossip.unsubscribed_topic");
    return;
  }
  const msg_id id = message_id(m.topic, m.data);
  pending_iwant_.erase(id);
  if (auto first = seen_.first_seen(id)) {
    fx.count("gossip.duplicates");
    auto it = mesh_.find(m.topic);
    if (!cfg_.flood && it != mesh_.end() && it->second.count(from) &&
        ctx.now - *first <= cfg_.score.mesh_deliveries_window)
      scores_.near_first_delivery(from, m.topic);
    return;
  }
  if (seen_.insert(id, ctx.now))
    fx.count("gossip.seen_evicted");
  const validation verdict = validator_ ? validator_(m.topic, m.data, from) : validation::accept;
  if (verdict == validation::reject) {
    fx.count("gossip.invalid");
    scores_.invalid_message(from, m.topic);
    return;
  }
  if (verdict == validation::ignore) {
    fx.count("gossip.ignored");
    return;
  }
  const bool from_mesh = mesh_[m.topic].count(from) != 0;
  scores_.first_delivery(from, m.topic, from_mesh);
  if (!mcache_.put(id, m.topic, m.data, m.hops))
    fx.count("gossip.mcache_full");
  deliver(m.topic, id, m.data, from, false, m.hops, fx);
  forward(m.topic, id, m.data, m.hops, from, fx);
}

void gossip_role::on_ihave(context& ctx, peer_id from, const ihave_msg& m, effects& fx) {
  if (cfg_.flood || !subscribed(m.topic))
    return;
  if (scores_.score(from) < cfg_.score.gossip_threshold) {
    fx.count("gossip.ihave_ignored");
    return;
  }
  auto& ps = peers_[from];
  if (++ps.ihaves_this_heartbeat > cfg_.max_ihave_messages) {
    fx.count("gossip.ihave_ignored");
    return;
  }
  iwant_msg want;
  for (auto& id : m.ids) {
    if (ps.iwant_ids_this_heartbeat >= cfg_.max_ihave_length)
      break;
    if (seen_.contains(id))
      continue;
    auto it = pending_iwant_.find(id);
    if (it != pending_iwant_.end() && ctx.now < it->second)
      continue; // asked someone else recently; give them iwant_followup to answer
    if (it == pending_iwant_.end() && pending_iwant_.size() >= limits::pending_iwant_max)
      continue;
    pending_iwant_[id] = ctx.now + cfg_.iwant_followup;
    want.ids.push_back(id);
    ++ps.iwant_ids_this_heartbeat;
  }
  if (want.ids.empty())
    return;
  fx.send(from, encode(want));
  fx.count("gossip.iwant");
}

void gossip_role::on_iwant(context&, peer_id from, const iwant_msg& m, effects& fx) {
  if (cfg_.flood)
    return;
  if (scores_.score(from) < cfg_.score.gossip_threshold) {
    fx.count("gossip.iwant_ignored");
    return;
  }
  for (auto& id : m.ids) {
    auto* e = mcache_.get(id);
    if (!e) {
      fx.count("gossip.iwant_miss");
      continue;
    }
    auto& served = e->served[from];
    if (served >= cfg_.gossip_retransmission) {
      fx.count("gossip.iwant_ignored");
      continue;
    }
    ++served;
    const std::uint8_t next = e->hops == 255 ? 255 : static_cast<std::uint8_t>(e->hops + 1);
    fx.send(from, encode(message_msg{e->topic, next, e->data}));
    fx.count("gossip.iwant_served");
  }
}

void gossip_role::on_graft(context& ctx, peer_id from, const graft_msg& m, effects& fx) {
  if (cfg_.flood)
    return;
  if (!subscribed(m.topic)) {
    // Tell it we are not in this topic, so it drops us from its mesh. We keep
    // the backoff too: if we join soon, our GRAFT must not hit its backoff.
    send_prune(ctx, from, m.topic, cfg_.prune_backoff, fx);
    return;
  }
  auto& mesh = mesh_[m.topic];
  if (mesh.count(from))
    return;
  if (in_backoff(from, m.topic, ctx.now)) {
    // v1.1: grafting while backed off is misbehaviour; refuse and extend.
    scores_.behaviour_penalty(from);
    fx.count("gossip.graft_in_backoff");
    send_prune(ctx, from, m.topic, cfg_.prune_backoff, fx);
    return;
  }
  if (scores_.score(from) < 0 || mesh.size() >= cfg_.d_hi) {
    send_prune(ctx, from, m.topic, cfg_.prune_backoff, fx);
    return;
  }
  mesh.insert(from);
  scores_.grafted(from, m.topic, ctx.now);
}

void gossip_role::on_prune(context& ctx, peer_id from, const prune_msg& m, effects&) {
  if (cfg_.flood)
    return;
  if (auto it = mesh_.find(m.topic); it != mesh_.end() && it->second.erase(from))
    scores_.pruned(from, m.topic);
  const time_us backoff = m.backoff_s > 0 ? time_us{m.backoff_s} * us_per_s : cfg_.prune_backoff;
  set_backoff(from, m.topic, ctx.now + backoff);
}

} // namespace peerlab::gossip
