#pragma once
// The shared test kit: in-memory rows and content, and a small deterministic
// network of nodes with several roles each (one per port). Frames, timers,
// commands between roles of a node and their replies are ordered by
// (time, seq) as in the simulator; optional frame loss.
#include "protocols/common/memory_store.hpp"
#include "protocols/common/role.hpp"
#include "protocols/common/sha256.hpp"

#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

namespace peerlab::test_kit {

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
    files[h] = {file_info{h, std::move(name), data.size(), price}, std::move(data)};
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
    return it != files.end() && copy_out(it->second.second, off, len, out);
  }
  std::uint64_t open_sink(const digest& h, std::string_view name, std::uint64_t size) override {
    if (fail_open)
      return 0;
    auto id = next_sink++;
    sinks[id] = sink{h, std::string(name), bytes(static_cast<std::size_t>(size), 0)};
    return id;
  }
  /// The sink a crashed incarnation left for this file, if it has this size.
  std::uint64_t resume_sink(const digest& h, std::string_view, std::uint64_t size) override {
    for (auto& [id, s] : sinks)
      if (s.hash == h && s.data.size() == size)
        return id;
    return 0;
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
    if (it == sinks.end() || !copy_out(it->second.data, off, len, out))
      return false;
    ++readbacks;
    return true;
  }
  bool commit_sink(std::uint64_t s) override {
    auto it = sinks.find(s);
    if (it == sinks.end())
      return false;
    // Served by hash from now on, as the disk and simulated stores do.
    auto& c = it->second;
    if (sha256::of(c.data) == c.hash && files.count(c.hash) == 0)
      files[c.hash] = {file_info{c.hash, c.name, c.data.size(), 0}, c.data};
    committed[c.hash] = std::move(c.data);
    sinks.erase(it);
    return true;
  }
  void discard_sink(std::uint64_t s) override { discarded += sinks.erase(s); }

  /// A file at a path, as a disk would hold it: served by path once hashed.
  void put_path(const std::string& path, bytes data, std::int64_t mtime_ns) {
    paths[path] = {file_stamp{data.size(), mtime_ns}, std::move(data)};
  }
  std::optional<file_stamp> stamp(std::string_view path) const override {
    auto it = paths.find(std::string(path));
    if (it == paths.end())
      return std::nullopt;
    return it->second.first;
  }
  serve_result serve_hashed(std::string_view path, const file_info& info,
                            const file_stamp& hashed_as) override {
    auto it = paths.find(std::string(path));
    if (it == paths.end() || !(it->second.first == hashed_as) || hashed_as.size != info.size)
      return {{}, std::string(path) + " changed while it was hashed; provide it again"};
    files[info.hash] = {info, it->second.second};
    served_paths[info.hash] = std::string(path);
    return {info, {}};
  }
  bool unprovide(const digest& h) override {
    served_paths.erase(h);
    return files.erase(h) != 0;
  }
  std::vector<served_file> served_files() const override {
    std::vector<served_file> out;
    for (auto& [h, f] : files) {
      auto p = served_paths.find(h);
      out.push_back({f.first, p == served_paths.end() ? std::string() : p->second, false});
    }
    return out;
  }

  std::map<digest, std::pair<file_info, bytes>> files;
  std::map<std::string, std::pair<file_stamp, bytes>> paths;
  std::map<digest, std::string> served_paths;
  std::map<std::uint64_t, sink> sinks; // open sinks
  std::map<digest, bytes> committed;
  std::uint64_t next_sink = 1;
  std::size_t discarded = 0; // sinks discarded
  std::size_t writes = 0;    // successful sink writes
  std::size_t readbacks = 0; // successful sink reads
  bool fail_open = false;    // open_sink refuses (a full disk)

private:
  static bool copy_out(const bytes& d, std::uint64_t off, std::size_t len, bytes& out) {
    if (off > d.size() || d.size() - off < len)
      return false;
    out.assign(d.begin() + static_cast<std::ptrdiff_t>(off),
               d.begin() + static_cast<std::ptrdiff_t>(off + len));
    return true;
  }
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
  std::map<port_t, std::shared_ptr<role>> roles;
  rng random;
  memory_kv kv;
  memory_content content;
  bool online = true;
  std::uint32_t incarnation = 0;
  std::map<std::string, double> counters; // this node's counter metrics, summed
  context ctx(time_us now) { return context{now, id, random, kv, content, {}}; }
  /// The role on `port`, as its concrete type.
  template <class R>
  R& role_at(port_t port) {
    return dynamic_cast<R&>(*roles.at(port));
  }
};

struct seen_event {
  time_us at;
  peer_id node;
  event e;
};

class network {
public:
  explicit network(std::uint64_t seed = 1, time_us latency = 10 * us_per_ms)
      : net_rng_(seed), latency_(latency) {}

  node& add(peer_id id, std::vector<std::shared_ptr<role>> roles) {
    return add(id, std::move(roles), id * 7919 + 1);
  }
  /// A node whose generator starts from `seed`.
  node& add(peer_id id, std::vector<std::shared_ptr<role>> roles, std::uint64_t seed) {
    auto& n = nodes_[id];
    n = std::make_unique<node>();
    n->id = id;
    n->random.reseed(seed);
    for (auto& r : roles)
      n->roles[r->port()] = r;
    return *n;
  }
  node& at(peer_id id) { return *nodes_.at(id); }
  time_us now() const { return now_; }
  // Link faults, drawn from the network's generator in this order per frame.
  double loss = 0;      // chance a frame is dropped
  double duplicate = 0; // chance a frame is delivered twice
  time_us jitter = 0;   // uniform extra delay in [0, jitter): reorders frames
  /// Optional hook that may rewrite or drop (return false) frames in transit.
  std::function<bool(peer_id from, peer_id to, bytes&)> tamper;
  /// Optional extra delay for a frame (e.g. a path that stalls for a while).
  std::function<time_us(peer_id from, peer_id to, const bytes&)> extra_delay;
  std::vector<seen_event> events;
  std::map<std::string, double> counters; // every node's counter metrics, summed

  void start_all() {
    for (auto& [id, n] : nodes_)
      start(id);
  }
  void start(peer_id id) {
    auto& n = at(id);
    n.online = true;
    for (auto& [port, r] : n.roles) {
      effects fx;
      auto c = n.ctx(now_);
      r->start(c, fx);
      apply(n, port, fx);
    }
  }
  /// A crash without a restart yet: the node is down (frames to it are lost)
  /// and its pending timers are dropped; rows and content stay.
  void crash(peer_id id) {
    auto& n = at(id);
    n.online = false;
    ++n.incarnation;
  }
  bool has(peer_id id) const { return nodes_.count(id) != 0; }
  /// A crash: the node's roles are replaced by `fresh` ones
  /// (their in-memory state is gone; the kv rows stay), then started.
  void restart(peer_id id, std::vector<std::shared_ptr<role>> fresh) {
    auto& n = at(id);
    ++n.incarnation;
    n.roles.clear();
    for (auto& r : fresh)
      n.roles[r->port()] = r;
    start(id);
  }
  void command(peer_id to, port_t port, peerlab::command cmd) {
    auto& n = at(to);
    effects fx;
    auto c = n.ctx(now_);
    deliver_command(*n.roles.at(port), c, cmd, fx);
    apply(n, port, fx);
  }
  /// A command to the only role of node `to`.
  void command(peer_id to, peerlab::command cmd) {
    auto& n = at(to);
    if (n.roles.size() != 1)
      throw std::logic_error("command without a port to a node with several roles");
    command(to, n.roles.begin()->first, std::move(cmd));
  }
  /// Runs `f` as if a role on `port` of node `id` did it now (for parts such
  /// as the payment gate that live inside another role).
  void act(peer_id id, port_t port, const std::function<void(context&, effects&)>& f) {
    auto& n = at(id);
    effects fx;
    auto c = n.ctx(now_);
    f(c, fx);
    apply(n, port, fx);
  }
  /// The transport met `peer` at `address` (what a live hello tells roles).
  void peer_up(peer_id id, peer_id peer, const std::string& address) {
    auto& n = at(id);
    for (auto& [port, r] : n.roles) {
      effects fx;
      auto c = n.ctx(now_);
      r->peer_up(c, peer, address, fx);
      apply(n, port, fx);
    }
  }
  void deliver_now(peer_id from, peer_id to, bytes frame) {
    push(now_, to, item{item::frame_kind, from, 0, std::move(frame), 0, 0});
  }

  void run_until(time_us t) {
    while (!queue_.empty() && queue_.top().at <= t) {
      auto it = queue_.top();
      queue_.pop();
      now_ = it.at;
      auto found = nodes_.find(it.to);
      if (found == nodes_.end())
        continue;
      auto& n = *found->second;
      if (!n.online)
        continue;
      if (it.it.kind == item::frame_kind) {
        auto r = it.it.data.empty() ? n.roles.end() : n.roles.find(it.it.data[0]);
        if (r == n.roles.end()) {
          ++misrouted;
          continue;
        }
        ++frames_delivered;
        effects fx;
        auto c = n.ctx(now_);
        r->second->frame(c, it.it.from, it.it.data, fx);
        apply(n, r->first, fx);
      } else if (it.it.kind == item::command_kind) {
        auto r = n.roles.find(it.it.port);
        effects fx;
        auto c = n.ctx(now_);
        if (r == n.roles.end()) { // no such role: the asker hears so
          fx.fail(*it.it.cmd, fail_code::unavailable, "no role on that port");
          apply(n, it.it.port, fx);
          continue;
        }
        deliver_command(*r->second, c, *it.it.cmd, fx);
        apply(n, r->first, fx);
      } else if (it.it.kind == item::reply_kind) {
        auto r = n.roles.find(issuer_port(it.it.reply->command_id));
        if (r == n.roles.end())
          continue;
        effects fx;
        auto c = n.ctx(now_);
        r->second->reply(c, it.it.port, *it.it.reply, fx);
        apply(n, r->first, fx);
      } else {
        if (it.it.incarnation != n.incarnation)
          continue;
        auto r = n.roles.find(it.it.port);
        if (r == n.roles.end())
          continue;
        ++timers_fired;
        effects fx;
        auto c = n.ctx(now_);
        r->second->timer(c, it.it.token, fx);
        apply(n, r->first, fx);
      }
    }
    now_ = std::max(now_, t);
  }
  void run_for(time_us d) { run_until(now_ + d); }

  std::vector<event> of_kind(const std::string& kind) const {
    std::vector<event> out;
    for (auto& s : events)
      if (s.e.kind == kind)
        out.push_back(s.e);
    return out;
  }
  /// The events of `kind` with when and where they happened.
  std::vector<seen_event> events_of(std::string_view kind) const {
    std::vector<seen_event> out;
    for (auto& s : events)
      if (s.e.kind == kind)
        out.push_back(s);
    return out;
  }
  double counter(const std::string& name) const { return value_of(counters, name); }
  double counter(peer_id id, const std::string& name) const {
    return value_of(nodes_.at(id)->counters, name);
  }
  std::uint64_t frames_sent = 0, frames_dropped = 0, frames_delivered = 0, timers_fired = 0,
                misrouted = 0;
  std::map<peer_id, std::string> addresses; // learned through effects::learn_address

private:
  struct item {
    enum kind_t { frame_kind, timer_kind, command_kind, reply_kind } kind;
    peer_id from;
    port_t port; // timer, command: the role's port; reply: the port that answered
    bytes data;
    std::uint64_t token;
    std::uint32_t incarnation;
    std::shared_ptr<peerlab::command> cmd = {};
    std::shared_ptr<event> reply = {};
  };
  struct queued {
    time_us at;
    std::uint64_t seq;
    peer_id to;
    item it;
    bool operator>(const queued& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  void push(time_us at, peer_id to, item it) { queue_.push(queued{at, seq_++, to, std::move(it)}); }
  void apply(node& n, port_t port, effects& fx) {
    for (auto& a : fx.asks) {
      item it{item::command_kind, n.id, a.to, {}, 0, 0};
      it.cmd = std::make_shared<peerlab::command>(std::move(a.cmd));
      push(now_, n.id, std::move(it));
    }
    for (auto& e : fx.events)
      if (issuer_port(e.command_id) != 0) { // a reply to a role of this node
        item it{item::reply_kind, n.id, port, {}, 0, 0};
        it.reply = std::make_shared<event>(e);
        push(now_, n.id, std::move(it));
      }
    for (auto& f : fx.frames) {
      ++frames_sent;
      if ((tamper && !tamper(n.id, f.to, f.data)) || net_rng_.chance(loss)) {
        ++frames_dropped;
        continue;
      }
      const int copies = net_rng_.chance(duplicate) ? 2 : 1;
      for (int i = 0; i < copies; ++i) {
        time_us delay = latency_;
        if (jitter > 0)
          delay += static_cast<time_us>(net_rng_.below(static_cast<std::uint64_t>(jitter)));
        if (extra_delay)
          delay += extra_delay(n.id, f.to, f.data);
        bytes data = i + 1 == copies ? std::move(f.data) : f.data;
        push(now_ + delay, f.to, item{item::frame_kind, n.id, 0, std::move(data), 0, 0});
      }
    }
    for (auto& t : fx.timers)
      push(now_ + t.delay, n.id, item{item::timer_kind, 0, port, {}, t.token, n.incarnation});
    for (auto& m : fx.metrics)
      if (m.is_counter) {
        counters[m.name] += m.value;
        n.counters[m.name] += m.value;
      }
    for (auto& e : fx.events)
      events.push_back({now_, n.id, std::move(e)});
    for (auto& [peer, addr] : fx.addresses)
      addresses[peer] = addr;
    fx.clear();
  }

  static double value_of(const std::map<std::string, double>& m, const std::string& name) {
    auto it = m.find(name);
    return it == m.end() ? 0 : it->second;
  }

  std::map<peer_id, std::unique_ptr<node>> nodes_;
  std::priority_queue<queued, std::vector<queued>, std::greater<queued>> queue_;
  std::uint64_t seq_ = 0;
  time_us now_ = 0;
  rng net_rng_;
  time_us latency_;
};

} // namespace peerlab::test_kit
