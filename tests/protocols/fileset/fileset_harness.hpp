#pragma once
// A deterministic in-test network of file-set roles (tests link only
// proto_fileset): one event queue ordered by (time, sequence), a latency per
// link derived from the seed, frames as bytes, an optional drop rule, nodes
// that start late, crash (rows kept) and restart, and commands whose replies
// are collected by command id.
#include "tests/kit/no_content.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/common/stable_hash.hpp"
#include "protocols/fileset/fileset.hpp"

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace fileset_test {

using namespace peerlab;

/// kv_store in memory: survives a crash of the role like a disk would.
using memory_kv = peerlab::memory_store;

using no_content = peerlab::test_kit::no_content;

class harness {
public:
  struct node {
    fileset::config cfg;
    std::shared_ptr<fileset::fileset_role> role;
    rng random;
    memory_kv kv;
    no_content content;
    bool up = false;
    std::uint32_t incarnation = 0;
    std::map<std::string, double> counters;
    std::vector<event> events;
  };

  /// `n` nodes with peer ids 0..n-1; none started yet.
  harness(std::size_t n, std::function<fileset::config(std::size_t)> cfg_of, std::uint64_t seed = 1)
      : seed_(seed) {
    for (std::size_t i = 0; i < n; ++i) {
      auto nd = std::make_unique<node>();
      nd->cfg = cfg_of(i);
      nd->random.reseed(derive_seed(seed, i));
      nodes_.push_back(std::move(nd));
    }
  }

  static fileset::config fast_config() {
    fileset::config c;
    c.sync_initial_delay = 200 * us_per_ms;
    c.sync_interval = 2 * us_per_s;
    return c;
  }

  std::size_t size() const { return nodes_.size(); }
  node& at(std::size_t i) { return *nodes_[i]; }
  fileset::fileset_role& role(std::size_t i) { return *nodes_[i]->role; }
  time_us now() const { return now_; }

  /// Starts (or restarts) node i with a fresh role: memory state is lost, rows kept.
  void start(std::size_t i) {
    auto& nd = *nodes_[i];
    nd.role = fileset::make_fileset(nd.cfg);
    nd.up = true;
    ++nd.incarnation;
    call(i, [](fileset::fileset_role& r, context& c, effects& fx) { r.start(c, fx); });
  }
  void crash(std::size_t i) {
    nodes_[i]->up = false;
    ++nodes_[i]->incarnation;
  }

  /// Connects node i to each of `peers` (the fileset "connect" command).
  void connect(std::size_t i, const std::vector<std::size_t>& peers) {
    std::vector<std::string> args;
    for (auto p : peers)
      args.push_back(std::to_string(p));
    command(i, text_command_of(next_cmd_++, "connect", std::move(args)));
  }

  /// Issues a command now and returns its reply event (runs the queue until
  /// the reply is there; commands answer synchronously).
  event command(std::size_t i, peerlab::command c) {
    if (c.id == 0)
      c.id = next_cmd_++;
    std::size_t before = nodes_[i]->events.size();
    call(i, [&](fileset::fileset_role& r, context& ctx, effects& fx) {
      deliver_command(r, ctx, c, fx);
    });
    for (std::size_t k = before; k < nodes_[i]->events.size(); ++k)
      if (nodes_[i]->events[k].command_id == c.id)
        return nodes_[i]->events[k];
    return event{"no_reply", c.id, {}, {}};
  }
  event command(std::size_t i, const std::string& verb, std::vector<std::string> args) {
    return command(i, text_command_of(0, verb, std::move(args)));
  }

  void run_until(time_us t) {
    while (!queue_.empty() && queue_.top().t <= t) {
      auto e = queue_.top();
      queue_.pop();
      now_ = e.t;
      auto& nd = *nodes_[e.node];
      if (!nd.up || (e.is_timer && e.incarnation != nd.incarnation))
        continue;
      if (e.is_timer) {
        call(e.node,
             [&](fileset::fileset_role& r, context& c, effects& fx) { r.timer(c, e.token, fx); });
      } else {
        bytes data = std::move(frames_[e.slot]);
        call(e.node, [&](fileset::fileset_role& r, context& c, effects& fx) {
          r.frame(c, e.from, data, fx);
        });
      }
    }
    now_ = std::max(now_, t);
  }
  void run_for(time_us d) { run_until(now_ + d); }

  /// Frames for which `drop(from, to, frame)` is true are lost.
  std::function<bool(peer_id, peer_id, const bytes&)> drop;
  std::uint64_t frames_sent = 0;

  double counter(std::size_t i, const std::string& name) const {
    auto it = nodes_[i]->counters.find(name);
    return it == nodes_[i]->counters.end() ? 0 : it->second;
  }

private:
  struct queued {
    time_us t;
    std::uint64_t seq;
    std::size_t node;
    bool is_timer;
    std::uint64_t token;
    std::uint32_t incarnation;
    peer_id from;
    std::size_t slot;
  };
  struct later {
    bool operator()(const queued& a, const queued& b) const {
      return a.t != b.t ? a.t > b.t : a.seq > b.seq;
    }
  };

  time_us latency(peer_id a, peer_id b) const {
    auto h = hash_combine(hash_combine(seed_, a), b);
    return 5 * us_per_ms + static_cast<time_us>(h % (20 * us_per_ms));
  }

  template <class F>
  void call(std::size_t i, F&& f) {
    auto& nd = *nodes_[i];
    effects fx;
    context ctx{now_, static_cast<peer_id>(i), nd.random, nd.kv, nd.content, {}};
    f(*nd.role, ctx, fx);
    for (auto& fr : fx.frames) {
      ++frames_sent;
      if (fr.to >= nodes_.size() || (drop && drop(i, fr.to, fr.data)))
        continue;
      frames_.push_back(std::move(fr.data));
      queue_.push({now_ + latency(i, fr.to), seq_++, static_cast<std::size_t>(fr.to), false, 0, 0,
                   static_cast<peer_id>(i), frames_.size() - 1});
    }
    for (auto& t : fx.timers)
      queue_.push({now_ + t.delay, seq_++, i, true, t.token, nd.incarnation, 0, 0});
    for (auto& m : fx.metrics)
      if (m.is_counter)
        nd.counters[m.name] += m.value;
    for (auto& e : fx.events)
      nd.events.push_back(std::move(e));
  }

  std::uint64_t seed_;
  time_us now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t next_cmd_ = 1;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<bytes> frames_; // grows; tests are short
  std::priority_queue<queued, std::vector<queued>, later> queue_;
};

/// Deterministic file content for (set, index).
inline bytes file_bytes(std::uint64_t seed, std::size_t size) {
  rng r(seed);
  bytes b(size);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(r.next());
  return b;
}

inline std::string hex_of(const bytes& b) { return "0x" + to_hex(byte_view{b.data(), b.size()}); }

} // namespace fileset_test
