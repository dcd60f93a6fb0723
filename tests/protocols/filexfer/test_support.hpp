#pragma once
// Test doubles for filexfer: in-memory stores and a tiny deterministic event
// loop that carries frames and timers between roles, ordered by (time, seq),
// with optional loss, duplication and latency jitter drawn from a seeded rng.
#include "protocols/common/memory_store.hpp"
#include "protocols/common/role.hpp"
#include "protocols/common/sha256.hpp"

#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace fxtest {

using namespace peerlab;

using memory_kv = peerlab::memory_store;

class memory_content final : public content_store {
public:
  struct sink {
    digest hash{};
    std::string name;
    bytes data;
  };

  digest add_file(std::string name, bytes data, std::uint64_t price = 0) {
    digest h = sha256::of(data);
    file_info info{h, std::move(name), data.size(), price};
    files[h] = {info, std::move(data)};
    return h;
  }

  std::optional<file_info> stat(const digest& h) const override {
    auto it = files.find(h);
    if (it == files.end())
      return std::nullopt;
    return it->second.first;
  }
  bool read(const digest& h, std::uint64_t off, std::size_t len, bytes& out) override {
    auto it = files.find(h);
    if (it == files.end() || off > it->second.second.size() || it->second.second.size() - off < len)
      return false;
    auto& d = it->second.second;
    out.assign(d.begin() + static_cast<std::ptrdiff_t>(off),
               d.begin() + static_cast<std::ptrdiff_t>(off + len));
    return true;
  }
  std::uint64_t open_sink(const digest& h, std::string_view name, std::uint64_t size) override {
    if (fail_open)
      return 0;
    std::uint64_t id = next_sink++;
    sinks[id] = sink{h, std::string(name), bytes(static_cast<std::size_t>(size), 0)};
    return id;
  }
  bool write(std::uint64_t s, std::uint64_t off, byte_view data) override {
    auto it = sinks.find(s);
    if (it == sinks.end() || off > it->second.data.size() ||
        it->second.data.size() - off < data.size())
      return false;
    std::copy(data.begin(), data.end(), it->second.data.begin() + static_cast<std::ptrdiff_t>(off));
    ++writes;
    return true;
  }
  bool read_sink(std::uint64_t s, std::uint64_t off, std::size_t len, bytes& out) override {
    auto it = sinks.find(s);
    if (it == sinks.end() || off > it->second.data.size() || it->second.data.size() - off < len)
      return false;
    auto& d = it->second.data;
    out.assign(d.begin() + static_cast<std::ptrdiff_t>(off),
               d.begin() + static_cast<std::ptrdiff_t>(off + len));
    ++readbacks;
    return true;
  }
  bool commit_sink(std::uint64_t s) override {
    auto it = sinks.find(s);
    if (it == sinks.end())
      return false;
    committed[it->second.hash] = std::move(it->second.data);
    sinks.erase(it);
    return true;
  }
  void discard_sink(std::uint64_t s) override { discarded += sinks.erase(s); }

  std::map<digest, std::pair<file_info, bytes>> files;
  std::map<std::uint64_t, sink> sinks; // open sinks
  std::map<digest, bytes> committed;
  std::uint64_t next_sink = 1;
  std::size_t discarded = 0;
  std::size_t writes = 0;
  std::size_t readbacks = 0;
  bool fail_open = false;
};

/// Deterministic pseudo-random file content.
inline bytes make_file(std::uint64_t seed, std::size_t n) {
  rng r(seed);
  bytes b(n);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(r.next());
  return b;
}

struct node {
  peer_id id = 0;
  std::shared_ptr<role> logic;
  rng random;
  memory_kv kv;
  memory_content content;
  std::map<std::string, double> counters; // summed metric samples
  context ctx(time_us now) { return context{now, id, random, kv, content, {}}; }
};

struct net_model {
  double loss = 0;      // chance a frame is dropped
  double duplicate = 0; // chance a frame is delivered twice
  time_us latency = 1000;
  time_us jitter = 0; // uniform extra delay in [0, jitter): reorders frames
};

struct trace_event {
  time_us at;
  peer_id node;
  event e;
};

class sim_loop {
public:
  explicit sim_loop(std::uint64_t seed = 1, net_model net = {}) : net_rng_(seed), net_(net) {}

  node& add(peer_id id, std::shared_ptr<role> logic, std::uint64_t seed) {
    auto n = std::make_unique<node>();
    n->id = id;
    n->logic = std::move(logic);
    n->random.reseed(seed);
    auto& ref = *n;
    nodes_[id] = std::move(n);
    return ref;
  }
  node& at(peer_id id) { return *nodes_.at(id); }

  void start_all() {
    for (auto& [id, n] : nodes_) {
      effects fx;
      auto c = n->ctx(now_);
      n->logic->start(c, fx);
      apply(*n, fx);
    }
  }

  void command(peer_id to, peerlab::command cmd) {
    auto& n = at(to);
    effects fx;
    auto c = n.ctx(now_);
    deliver_command(*n.logic, c, cmd, fx);
    apply(n, fx);
  }

  /// Runs until the queue is empty or virtual time passes `until`.
  void run(time_us until) {
    while (!queue_.empty() && queue_.top().at <= until) {
      item it = queue_.top();
      queue_.pop();
      now_ = it.at;
      auto found = nodes_.find(it.to);
      if (found == nodes_.end())
        continue;
      node& n = *found->second;
      effects fx;
      auto c = n.ctx(now_);
      if (it.is_timer) {
        ++timers_fired;
        n.logic->timer(c, it.token, fx);
      } else {
        if (it.data.empty() || it.data[0] != n.logic->port()) {
          ++misrouted;
          continue;
        }
        ++frames_delivered;
        n.logic->frame(c, it.from, byte_view{it.data.data(), it.data.size()}, fx);
      }
      apply(n, fx);
    }
  }

  std::vector<trace_event> events_of(std::string_view kind) const {
    std::vector<trace_event> out;
    for (auto& t : trace)
      if (t.e.kind == kind)
        out.push_back(t);
    return out;
  }
  double counter(peer_id id, const std::string& name) {
    auto& c = at(id).counters;
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
  }
  time_us now() const { return now_; }

  std::vector<trace_event> trace;
  std::size_t frames_sent = 0, frames_dropped = 0, frames_delivered = 0, timers_fired = 0,
              misrouted = 0;
  /// Optional hook that may rewrite or drop (return false) frames in transit.
  std::function<bool(peer_id from, peer_id to, bytes&)> tamper;
  /// Optional extra delay for a frame (e.g. a path that stalls for a while).
  std::function<time_us(peer_id from, peer_id to, const bytes&)> extra_delay;

private:
  struct item {
    time_us at;
    std::uint64_t seq;
    bool is_timer;
    peer_id to, from;
    bytes data;
    std::uint64_t token;
  };
  struct later {
    bool operator()(const item& a, const item& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };

  void push(item it) {
    it.seq = seq_++;
    queue_.push(std::move(it));
  }

  void apply(node& n, effects& fx) {
    for (auto& f : fx.frames) {
      ++frames_sent;
      if (tamper && !tamper(n.id, f.to, f.data)) {
        ++frames_dropped;
        continue;
      }
      if (net_rng_.chance(net_.loss)) {
        ++frames_dropped;
        continue;
      }
      int copies = net_rng_.chance(net_.duplicate) ? 2 : 1;
      for (int i = 0; i < copies; ++i) {
        time_us delay =
          net_.latency +
          (net_.jitter > 0
             ? static_cast<time_us>(net_rng_.below(static_cast<std::uint64_t>(net_.jitter)))
             : 0);
        if (extra_delay)
          delay += extra_delay(n.id, f.to, f.data);
        push(item{now_ + delay, 0, false, f.to, n.id, f.data, 0});
      }
    }
    for (auto& t : fx.timers)
      push(item{now_ + t.delay, 0, true, n.id, 0, {}, t.token});
    for (auto& m : fx.metrics)
      n.counters[m.name] += m.is_counter ? m.value : 0;
    for (auto& e : fx.events)
      trace.push_back({now_, n.id, std::move(e)});
    fx.clear();
  }

  std::map<peer_id, std::unique_ptr<node>> nodes_;
  std::priority_queue<item, std::vector<item>, later> queue_;
  std::uint64_t seq_ = 0;
  time_us now_ = 0;
  rng net_rng_;
  net_model net_;
};

} // namespace fxtest
