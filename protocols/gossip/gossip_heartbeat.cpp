// The heartbeat of the gossipsub role: score decay, mesh maintenance between
// D_lo and D_hi, fanout upkeep, IHAVE gossip, cache shifting.
#include "protocols/gossip/gossip.hpp"

#include <algorithm>

namespace peerlab::gossip {

void gossip_role::heartbeat(context& ctx, effects& fx) {
  const time_us now = ctx.now;
  scores_.refresh(now);
  for (auto& [p, ps] : peers_) {
    const bool gray = graylisted(p);
    if (gray && !ps.graylisted) {
      fx.count("gossip.graylisted");
      fx.emit(event{
        "gossip_graylisted", 0, {{"peer", std::to_string(p)}}, {{"score", scores_.score(p)}}});
    }
    ps.graylisted = gray;
    ps.ihaves_this_heartbeat = 0;
    ps.iwant_ids_this_heartbeat = 0;
  }
  if (!cfg_.flood) {
    for (auto& t : topics_)
      maintain_mesh(ctx, t, fx);
    maintain_fanout(ctx, fx);
  }
  mcache_.shift();
  seen_.expire(now);
  for (auto it = backoff_.begin(); it != backoff_.end();)
    it = it->second + cfg_.heartbeat <= now ? backoff_.erase(it) : std::next(it);
  for (auto it = pending_iwant_.begin(); it != pending_iwant_.end();)
    it = it->second <= now ? pending_iwant_.erase(it) : std::next(it);
}

// Grafts random eligible peers of the topic (not in the mesh yet, not
// negatively scored, not backing off) until its mesh would hold D.
void gossip_role::graft_up_to_d(context& ctx, const std::string& topic, effects& fx) {
  auto& m = mesh_[topic];
  std::vector<peer_id> candidates;
  for (auto p : topic_peers(topic))
    if (!m.count(p) && scores_.score(p) >= 0 && may_graft(p, topic, ctx.now))
      candidates.push_back(p);
  for (auto p : pick(ctx, std::move(candidates), cfg_.d - m.size()))
    send_graft(ctx, p, topic, fx);
}

void gossip_role::maintain_mesh(context& ctx, const std::string& topic, effects& fx) {
  auto& m = mesh_[topic];
  // Peers with a negative score leave the mesh.
  for (auto it = m.begin(); it != m.end();) {
    const peer_id p = *it;
    if (scores_.score(p) < 0 || !peer_subscribed(p, topic)) {
      it = m.erase(it);
      scores_.pruned(p, topic);
      send_prune(ctx, p, topic, cfg_.prune_backoff, fx);
    } else {
      ++it;
    }
  }
  if (m.size() < cfg_.d_lo)
    graft_up_to_d(ctx, topic, fx);
  if (m.size() > cfg_.d_hi) {
    // Keep the d_score best by score, then random others up to d.
    auto v = pick(ctx, std::vector<peer_id>(m.begin(), m.end()), m.size());
    std::stable_sort(v.begin(), v.end(),
                     [&](peer_id a, peer_id b) { return scores_.score(a) > scores_.score(b); });
    std::vector<peer_id> rest(v.begin() + static_cast<std::ptrdiff_t>(cfg_.d_score), v.end());
    rest = pick(ctx, std::move(rest), rest.size());
    const std::size_t keep_rest = cfg_.d - cfg_.d_score;
    for (std::size_t i = keep_rest; i < rest.size(); ++i) {
      m.erase(rest[i]);
      scores_.pruned(rest[i], topic);
      send_prune(ctx, rest[i], topic, cfg_.prune_backoff, fx);
    }
  }
  fx.observe("gossip.mesh_size", static_cast<double>(m.size()));
  emit_gossip(ctx, topic, m, fx);
}

void gossip_role::maintain_fanout(context& ctx, effects& fx) {
  for (auto it = fanout_.begin(); it != fanout_.end();) {
    const std::string& topic = it->first;
    if (fanout_last_pub_[topic] + cfg_.fanout_ttl <= ctx.now) {
      fanout_last_pub_.erase(topic);
      it = fanout_.erase(it);
      continue;
    }
    auto& f = it->second;
    for (auto p = f.begin(); p != f.end();)
      p = (!peer_subscribed(*p, topic) || scores_.score(*p) < cfg_.score.publish_threshold)
            ? f.erase(p)
            : std::next(p);
    if (f.size() < cfg_.d) {
      std::vector<peer_id> candidates;
      for (auto p : topic_peers(topic))
        if (!f.count(p) && scores_.score(p) >= cfg_.score.publish_threshold)
          candidates.push_back(p);
      for (auto p : pick(ctx, std::move(candidates), cfg_.d - f.size()))
        f.insert(p);
    }
    emit_gossip(ctx, topic, f, fx);
    ++it;
  }
}

void gossip_role::emit_gossip(context& ctx, const std::string& topic,
                              const std::set<peer_id>& exclude, effects& fx) {
  auto ids = mcache_.gossip_ids(topic);
  if (ids.empty())
    return;
  if (ids.size() > cfg_.max_ihave_length) {
    // Announce a random subset (ids are in cache order; shuffle by index).
    std::vector<peer_id> idx(ids.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
      idx[i] = i;
    idx = pick(ctx, std::move(idx), cfg_.max_ihave_length);
    std::sort(idx.begin(), idx.end());
    std::vector<msg_id> chosen;
    for (auto i : idx)
      chosen.push_back(ids[i]);
    ids = std::move(chosen);
  }
  std::vector<peer_id> candidates;
  for (auto p : topic_peers(topic))
    if (!exclude.count(p) && scores_.score(p) >= cfg_.score.gossip_threshold)
      candidates.push_back(p);
  const auto adaptive =
    static_cast<std::size_t>(cfg_.gossip_factor * static_cast<double>(candidates.size()));
  const auto targets = pick(ctx, std::move(candidates), std::max(cfg_.d_lazy, adaptive));
  if (targets.empty())
    return;
  const auto frame = encode(ihave_msg{topic, ids});
  for (auto p : targets) {
    fx.send(p, frame);
    fx.count("gossip.ihave");
  }
}

} // namespace peerlab::gossip
