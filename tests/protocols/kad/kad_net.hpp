#pragma once
// A small deterministic network for kad roles, without CAF or the simulator:
// one event queue ordered by (virtual time, sequence) moves frames between
// nodes and fires their timers. Latency per pair is fixed (base + a
// deterministic per-pair jitter); frames may be lost at a seeded rate; nodes
// can depart (everything to and from them vanishes) or go mute (they receive
// and process, but nothing they send leaves). Frames sent to peer ids that are
// not nodes are kept in `stray` so a test can play a hand-written peer.
// Header-only so that a benchmark can reuse it.
#include "tests/kit/no_content.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/stable_hash.hpp"
#include "protocols/kad/node.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace peerlab::kad::testnet {

using mem_kv = peerlab::memory_store;

using no_content = peerlab::test_kit::no_content;

struct net_config {
  time_us base_latency = 20 * us_per_ms;
  time_us jitter = 30 * us_per_ms; // per-pair extra latency in [0, jitter)
  double loss = 0;                 // probability that a frame is lost
  std::uint64_t seed = 1;
};

class network {
public:
  struct node_slot {
    peer_id id = 0;
    std::shared_ptr<kad::node> role;
    rng random;
    mem_kv kv;
    no_content content;
    bool online = true;
    bool mute = false;
    std::uint64_t incarnation = 0; // timers of an earlier life are dropped
    std::vector<event> events;
  };
  struct stray_frame {
    time_us at;
    peer_id from, to;
    bytes data;
  };

  explicit network(net_config c = {}) : cfg_(c), loss_rng_(derive_seed(c.seed, 0xfeed)) {}

  /// Adds a node and starts it now.
  node_slot& add_node(peer_id id, const config& c = {}) {
    auto& s = nodes_[id];
    s.id = id;
    s.role = std::make_shared<kad::node>(c);
    s.random.reseed(derive_seed(cfg_.seed, id));
    s.online = true;
    ++s.incarnation;
    call(s, [&](context& ctx, effects& fx) { s.role->start(ctx, fx); });
    return s;
  }

  node_slot& at(peer_id id) { return nodes_.at(id); }
  bool has(peer_id id) const { return nodes_.count(id) != 0; }
  const std::map<peer_id, node_slot>& nodes() const { return nodes_; }
  time_us now() const { return now_; }

  /// Runs a command on a node now; returns its id.
  std::uint64_t command(peer_id id, std::string verb, std::vector<std::string> args = {}) {
    auto c = text_command_of(next_command_++, std::move(verb), std::move(args));
    auto& s = nodes_.at(id);
    call(s, [&](context& ctx, effects& fx) { deliver_command(*s.role, ctx, c, fx); });
    return c.id;
  }

  /// The node departs: frames to and from it vanish, its timers are dropped.
  void depart(peer_id id) { nodes_.at(id).online = false; }
  /// Restarts a departed node (its in-memory state is lost, its store kept).
  void restart(peer_id id) {
    auto& s = nodes_.at(id);
    s.online = true;
    ++s.incarnation;
    call(s, [&](context& ctx, effects& fx) { s.role->start(ctx, fx); });
  }
  /// A mute node keeps receiving and processing but nothing it sends leaves.
  void set_mute(peer_id id, bool m) { nodes_.at(id).mute = m; }

  /// Delivers `data` to `to` as if `from` sent it, after `delay`.
  void inject(peer_id from, peer_id to, bytes data, time_us delay = 0) {
    push({now_ + delay, 0, kind::frame, from, to, std::move(data), 0, 0});
  }

  /// Processes every event up to and including time `t`.
  void run_until(time_us t) {
    while (!queue_.empty() && queue_.front().at <= t)
      step();
    now_ = std::max(now_, t);
  }
  void run_for(time_us d) { run_until(now_ + d); }

  /// Runs until `id` emitted an event answering `command_id`, or `limit`.
  const event* run_until_reply(peer_id id, std::uint64_t command_id, time_us limit) {
    for (;;) {
      if (auto* e = reply(id, command_id))
        return e;
      if (queue_.empty() || queue_.front().at > limit) {
        now_ = std::max(now_, limit);
        return nullptr;
      }
      step();
    }
  }

  const event* reply(peer_id id, std::uint64_t command_id) const {
    for (auto& e : nodes_.at(id).events)
      if (e.command_id == command_id)
        return &e;
    return nullptr;
  }

  /// Ids of the k online, responsive nodes closest to `target` (brute force).
  std::vector<peer_id> true_closest(const kad_id& target, std::size_t k,
                                    peer_id exclude = 0) const {
    std::vector<std::pair<kad_id, peer_id>> all;
    for (auto& [id, s] : nodes_)
      if (s.online && !s.mute && id != exclude)
        all.push_back({distance(target, id_of(id)), id});
    std::sort(all.begin(), all.end());
    std::vector<peer_id> out;
    for (std::size_t i = 0; i < all.size() && i < k; ++i)
      out.push_back(all[i].second);
    return out;
  }

  double counter(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  const std::vector<double>& samples(const std::string& name) const {
    static const std::vector<double> none;
    auto it = samples_.find(name);
    return it == samples_.end() ? none : it->second;
  }

  std::vector<stray_frame> stray;
  /// Called for every frame just before a node receives it.
  std::function<void(time_us at, peer_id from, peer_id to, byte_view data)> on_deliver;
  std::uint64_t frames_sent = 0, frames_delivered = 0, frames_dropped = 0;
  std::uint64_t addresses_learned = 0;
  /// Hash of every delivered frame and timer, in order (determinism checks).
  std::uint64_t fingerprint = 0;

private:
  enum class kind : std::uint8_t { frame, timer };
  struct ev {
    time_us at;
    std::uint64_t seq;
    kind what;
    peer_id from, to;
    bytes data;
    std::uint64_t token;
    std::uint64_t incarnation;
  };
  struct later {
    bool operator()(const ev& a, const ev& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void push(ev e) {
    e.seq = next_seq_++;
    queue_.push_back(std::move(e));
    std::push_heap(queue_.begin(), queue_.end(), later{});
  }

  void step() {
    std::pop_heap(queue_.begin(), queue_.end(), later{});
    ev e = std::move(queue_.back());
    queue_.pop_back();
    now_ = e.at;
    if (e.what == kind::timer) {
      auto it = nodes_.find(e.to);
      if (it == nodes_.end() || !it->second.online || it->second.incarnation != e.incarnation)
        return;
      fingerprint = hash_combine(hash_combine(fingerprint, e.at), e.token);
      auto& s = it->second;
      call(s, [&](context& ctx, effects& fx) { s.role->timer(ctx, e.token, fx); });
      return;
    }
    auto it = nodes_.find(e.to);
    if (it == nodes_.end()) {
      stray.push_back({e.at, e.from, e.to, std::move(e.data)});
      return;
    }
    if (!it->second.online) {
      ++frames_dropped;
      return;
    }
    ++frames_delivered;
    if (on_deliver)
      on_deliver(e.at, e.from, e.to, e.data);
    fingerprint = hash_combine(fingerprint, stable_hash(e.data.data(), e.data.size(), e.at));
    auto& s = it->second;
    call(s, [&](context& ctx, effects& fx) { s.role->frame(ctx, e.from, e.data, fx); });
  }

  time_us latency(peer_id a, peer_id b) const {
    if (cfg_.jitter <= 0)
      return cfg_.base_latency;
    std::uint64_t h = mix64(std::min(a, b) * 0x9e3779b97f4a7c15ULL ^ std::max(a, b) ^ cfg_.seed);
    return cfg_.base_latency + static_cast<time_us>(h % static_cast<std::uint64_t>(cfg_.jitter));
  }

  template <class F>
  void call(node_slot& s, F&& f) {
    context ctx{now_, s.id, s.random, s.kv, s.content, {}};
    fx_.clear();
    f(ctx, fx_);
    apply(s);
  }

  void apply(node_slot& s) {
    for (auto& m : fx_.metrics) {
      if (m.is_counter)
        counters_[m.name] += m.value;
      else
        samples_[m.name].push_back(m.value);
    }
    for (auto& e : fx_.events)
      s.events.push_back(std::move(e));
    addresses_learned += fx_.addresses.size();
    for (auto& t : fx_.timers)
      push({now_ + t.delay, 0, kind::timer, s.id, s.id, {}, t.token, s.incarnation});
    for (auto& f : fx_.frames) {
      ++frames_sent;
      if (!s.online || s.mute || (cfg_.loss > 0 && loss_rng_.chance(cfg_.loss))) {
        ++frames_dropped;
        continue;
      }
      push({now_ + latency(s.id, f.to), 0, kind::frame, s.id, f.to, std::move(f.data), 0, 0});
    }
    fx_.clear();
  }

  net_config cfg_;
  rng loss_rng_;
  std::map<peer_id, node_slot> nodes_;
  std::vector<ev> queue_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t next_command_ = 1;
  time_us now_ = 0;
  effects fx_;
  std::map<std::string, double> counters_;
  std::map<std::string, std::vector<double>> samples_;
};

/// Adds nodes 1..n; node 1 starts alone, node i bootstraps from node 1 at
/// (i - 1) * spacing. Returns the bootstrap command ids by node.
inline std::map<peer_id, std::uint64_t> grow(network& net, std::size_t n, const config& c,
                                             time_us spacing = 100 * us_per_ms) {
  std::map<peer_id, std::uint64_t> cmds;
  net.add_node(1, c);
  for (peer_id i = 2; i <= n; ++i) {
    net.run_until(static_cast<time_us>(i - 1) * spacing);
    net.add_node(i, c);
    cmds[i] = net.command(i, "bootstrap", {"1"});
  }
  return cmds;
}

inline std::vector<peer_id> parse_peers(const std::string& csv) {
  std::vector<peer_id> out;
  std::size_t pos = 0;
  while (pos < csv.size()) {
    auto comma = csv.find(',', pos);
    if (comma == std::string::npos)
      comma = csv.size();
    out.push_back(std::stoull(csv.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

} // namespace peerlab::kad::testnet
