#pragma once
// A deterministic in-test network of gossip roles: one event queue ordered by
// (time, sequence), a fixed latency per link derived from the seed, frames as
// bytes, an optional drop rule for fault injection. Reusable by any test that
// needs many gossipsub nodes without the simulator (tests link only
// proto_gossip).
#include "tests/kit/no_content.hpp"
#include "protocols/common/stable_hash.hpp"
#include "protocols/gossip/gossip.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include "protocols/common/memory_store.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace gossip_test {

using namespace peerlab;

/// Storage the gossip role never uses; present because context needs it.
using null_kv = memory_store;

using null_content = peerlab::test_kit::no_content;

/// One frame handed to the network (before the drop rule).
struct sent_frame {
  time_us at = 0;
  peer_id from = 0, to = 0;
  std::uint8_t type = 0; // frame byte 1
};

class harness {
public:
  struct node {
    std::shared_ptr<gossip::gossip_role> role;
    rng random;
    null_kv kv;
    null_content content;
    bool up = true;
    std::map<std::string, double> counters;
    std::map<std::string, double> observed; // last value of each observation
    std::vector<event> events;
    std::map<std::string, int> deliveries;         // msg id hex -> times delivered
    std::map<std::string, time_us> first_delivery; // msg id hex -> time
  };

  /// `n` nodes with peer ids 0..n-1, each started at time 0.
  harness(std::size_t n, std::function<gossip::config(std::size_t)> cfg_of, std::uint64_t seed = 1,
          time_us min_latency = 10 * us_per_ms, time_us max_latency = 60 * us_per_ms)
      : seed_(seed), min_lat_(min_latency), max_lat_(max_latency) {
    for (std::size_t i = 0; i < n; ++i) {
      auto nd = std::make_unique<node>();
      nd->role = gossip::make_gossip(cfg_of(i));
      nd->random.reseed(derive_seed(seed, i));
      nodes_.push_back(std::move(nd));
    }
    for (std::size_t i = 0; i < n; ++i)
      call(i, [](gossip::gossip_role& r, context& c, effects& fx) { r.start(c, fx); });
  }

  harness(std::size_t n, const gossip::config& cfg, std::uint64_t seed = 1)
      : harness(
          n, [cfg](std::size_t) { return cfg; }, seed) {}

  std::size_t size() const { return nodes_.size(); }
  node& at(std::size_t i) { return *nodes_.at(i); }
  gossip::gossip_role& role(std::size_t i) { return *nodes_.at(i)->role; }
  time_us now() const { return now_; }

  /// Fault injection: return true to drop the frame.
  std::function<bool(const sent_frame&, byte_view)> drop;
  /// Every frame sent, if enabled (before the drop rule).
  bool keep_log = false;
  std::vector<std::pair<sent_frame, bytes>> log;
  std::size_t dropped = 0;

  /// Runs `fn` against node `i` with a fresh context and applies its effects.
  template <class F>
  void call(std::size_t i, F&& fn) {
    auto& nd = *nodes_.at(i);
    if (!nd.up)
      return;
    context ctx{now_, static_cast<peer_id>(i), nd.random, nd.kv, nd.content, {}};
    effects fx;
    fn(*nd.role, ctx, fx);
    apply(i, fx);
  }

  void schedule(time_us at, std::function<void()> fn) {
    if (at < now_)
      throw std::logic_error("harness: scheduling in the past");
    queue_.push(ev{at, seq_++, std::move(fn)});
  }

  /// Issues a command now; returns the events it produced with its id.
  std::vector<event> command(std::size_t i, std::string verb, std::vector<std::string> args) {
    const std::uint64_t id = ++command_ids_;
    auto& evs = nodes_.at(i)->events;
    const std::size_t before = evs.size();
    call(i, [&](gossip::gossip_role& r, context& c, effects& fx) {
      deliver_command(r, c, text_command_of(id, std::move(verb), std::move(args)), fx);
    });
    std::vector<event> out;
    for (std::size_t k = before; k < evs.size(); ++k)
      if (evs[k].command_id == id)
        out.push_back(evs[k]);
    return out;
  }

  void connect(std::size_t a, std::size_t b) { command(a, "connect", {std::to_string(b)}); }

  /// Each node connects to `degree` distinct random others (links are
  /// symmetric once the hello arrives, so nodes end with about 2*degree peers).
  void random_graph(std::size_t degree) {
    rng r(derive_seed(seed_, 0x6772617068)); // "graph"
    for (std::size_t i = 0; i < size(); ++i) {
      std::vector<std::size_t> chosen;
      while (chosen.size() < std::min(degree, size() - 1)) {
        auto j = static_cast<std::size_t>(r.below(size()));
        if (j != i && std::find(chosen.begin(), chosen.end(), j) == chosen.end())
          chosen.push_back(j);
      }
      for (auto j : chosen) {
        connect(i, j);
        links_.insert({std::min(i, j), std::max(i, j)});
      }
    }
  }

  bool linked(std::size_t a, std::size_t b) const {
    return links_.count({std::min(a, b), std::max(a, b)}) != 0;
  }

  void subscribe_all(const std::string& topic) {
    for (std::size_t i = 0; i < size(); ++i)
      command(i, "subscribe", {topic});
  }

  /// Publishes through the command interface; returns the message id (hex).
  std::string publish(std::size_t i, const std::string& topic, const bytes& data) {
    auto evs = command(i, "publish", {topic, to_hex(data)});
    if (evs.size() != 1 || evs[0].kind != "gossip_published")
      throw std::runtime_error(
        "publish failed: " +
        (evs.empty()
           ? std::string("no reply")
           : evs[0].kind + " " + (evs[0].field("reason") ? *evs[0].field("reason") : "")));
    return *evs[0].field("msg_id");
  }

  void run_until(time_us t) {
    while (!queue_.empty() && queue_.top().at <= t) {
      auto e = queue_.top();
      queue_.pop();
      now_ = e.at;
      e.fn();
      if (++processed_ > max_events)
        throw std::runtime_error("harness: event limit reached");
    }
    now_ = t;
  }
  void run_for(time_us d) { run_until(now_ + d); }

  /// Takes a node down (graceful: the role's stop runs) or brings it back.
  void set_up(std::size_t i, bool up, bool graceful = true) {
    auto& nd = *nodes_.at(i);
    if (!up && nd.up && graceful)
      call(i, [](gossip::gossip_role& r, context& c, effects& fx) { r.stop(c, fx); });
    nd.up = up;
    if (up)
      call(i, [](gossip::gossip_role& r, context& c, effects& fx) { r.start(c, fx); });
  }

  double counter(std::size_t i, const std::string& name) const {
    auto& c = nodes_.at(i)->counters;
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
  }
  double total(const std::string& name) const {
    double s = 0;
    for (std::size_t i = 0; i < size(); ++i)
      s += counter(i, name);
    return s;
  }
  /// Nodes that delivered message `id` at least once.
  std::size_t reached(const std::string& id) const {
    std::size_t n = 0;
    for (auto& nd : nodes_)
      n += nd->deliveries.count(id) != 0;
    return n;
  }
  int deliveries(std::size_t i, const std::string& id) const {
    auto& d = nodes_.at(i)->deliveries;
    auto it = d.find(id);
    return it == d.end() ? 0 : it->second;
  }

  time_us latency(std::size_t a, std::size_t b) const {
    const std::uint64_t key[3] = {seed_, std::min<std::uint64_t>(a, b),
                                  std::max<std::uint64_t>(a, b)};
    const auto h = stable_hash(key, sizeof key);
    return min_lat_ + static_cast<time_us>(h % static_cast<std::uint64_t>(max_lat_ - min_lat_ + 1));
  }

  static constexpr std::size_t max_events = 50'000'000;

private:
  struct ev {
    time_us at;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  struct later {
    bool operator()(const ev& a, const ev& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void apply(std::size_t i, effects& fx) {
    auto& nd = *nodes_[i];
    for (auto& f : fx.frames) {
      sent_frame sf{now_, static_cast<peer_id>(i), f.to,
                    f.data.size() > 1 ? f.data[1] : std::uint8_t{0}};
      if (keep_log)
        log.emplace_back(sf, f.data);
      if (f.to >= size())
        continue;
      if (drop && drop(sf, f.data)) {
        ++dropped;
        continue;
      }
      const std::size_t to = static_cast<std::size_t>(f.to);
      schedule(now_ + latency(i, to), [this, to, from = i, data = std::move(f.data)] {
        call(to, [&](gossip::gossip_role& r, context& c, effects& out) {
          r.frame(c, static_cast<peer_id>(from), data, out);
        });
      });
    }
    for (auto& t : fx.timers) {
      schedule(now_ + t.delay, [this, i, token = t.token] {
        call(i, [&](gossip::gossip_role& r, context& c, effects& out) { r.timer(c, token, out); });
      });
    }
    for (auto& m : fx.metrics) {
      if (m.is_counter)
        nd.counters[m.name] += m.value;
      else
        nd.observed[m.name] = m.value;
    }
    for (auto& e : fx.events) {
      if (e.kind == "gossip_delivered") {
        auto id = *e.field("msg_id");
        if (nd.deliveries[id]++ == 0)
          nd.first_delivery[id] = now_;
      }
      nd.events.push_back(std::move(e));
    }
    fx.clear();
  }

  std::uint64_t seed_;
  time_us min_lat_, max_lat_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::priority_queue<ev, std::vector<ev>, later> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t command_ids_ = 0;
  std::size_t processed_ = 0;
  std::set<std::pair<std::size_t, std::size_t>> links_;
  time_us now_ = 0;
};

} // namespace gossip_test
