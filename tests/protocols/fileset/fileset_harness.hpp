#pragma once
// A deterministic in-test network of file-set roles (tests link only
// proto_fileset): one event queue ordered by (time, sequence), a latency per
// link derived from the seed, frames as bytes, an optional drop rule, nodes
// that start late, crash (rows kept) and restart, and commands whose replies
// are collected by command id.
#include "protocols/common/stable_hash.hpp"
#include "protocols/fileset/fileset.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <functional>
#include <string>
#include <vector>

namespace fileset_test {

using namespace peerlab;

/// File-set nodes 0..n-1 on the shared lockstep network, with their configs
/// and peer-id-based helpers.
class harness {
public:
  /// `n` nodes with peer ids 0..n-1 (fast_config unless `cfg_of` says
  /// otherwise); none started yet.
  explicit harness(
    std::size_t n,
    std::function<fileset::config(std::size_t)> cfg_of = [](std::size_t) { return fast_config(); },
    std::uint64_t seed = 1)
      : net_(seed, 5 * us_per_ms), seed_(seed) {
    for (std::size_t i = 0; i < n; ++i)
      cfgs_.push_back(cfg_of(i));
    // A fixed latency per link in [5 ms, 25 ms), derived from the seed.
    net_.extra_delay = [this](peer_id a, peer_id b, const bytes&) {
      return static_cast<time_us>(hash_combine(hash_combine(seed_, a), b) % (20 * us_per_ms));
    };
    net_.tamper = [this](peer_id from, peer_id to, bytes& f) {
      return !(drop && drop(from, to, f));
    };
  }

  static fileset::config fast_config() {
    fileset::config c;
    c.sync_initial_delay = 200 * us_per_ms;
    c.sync_interval = 2 * us_per_s;
    return c;
  }

  std::size_t size() const { return cfgs_.size(); }
  fileset::fileset_role& role(std::size_t i) {
    return net_.at(i).role_at<fileset::fileset_role>(ports::fileset);
  }
  time_us now() const { return net_.now(); }

  /// Starts (or restarts) node i with a fresh role: memory state is lost, rows kept.
  void start(std::size_t i) {
    auto fresh = fileset::make_fileset(cfgs_[i]);
    if (net_.has(i))
      net_.restart(i, {fresh});
    else {
      net_.add(i, {fresh}, derive_seed(seed_, i));
      net_.start(i);
    }
  }
  void crash(std::size_t i) { net_.crash(i); }

  /// Connects node i to each of `peers` (the fileset "connect" command).
  void connect(std::size_t i, const std::vector<std::size_t>& peers) {
    std::vector<std::string> args;
    for (auto p : peers)
      args.push_back(std::to_string(p));
    command(i, text_command_of(next_cmd_++, "connect", std::move(args)));
  }

  /// Issues a command now and returns its reply event (commands answer
  /// synchronously).
  event command(std::size_t i, peerlab::command c) {
    if (c.id == 0)
      c.id = next_cmd_++;
    const std::uint64_t id = c.id;
    const std::size_t before = net_.events.size();
    net_.command(i, ports::fileset, std::move(c));
    for (std::size_t k = before; k < net_.events.size(); ++k)
      if (net_.events[k].node == i && net_.events[k].e.command_id == id)
        return net_.events[k].e;
    return event{"no_reply", id, {}, {}};
  }
  event command(std::size_t i, const std::string& verb, std::vector<std::string> args) {
    return command(i, text_command_of(0, verb, std::move(args)));
  }

  void run_until(time_us t) { net_.run_until(t); }
  void run_for(time_us d) { net_.run_for(d); }

  /// Frames for which `drop(from, to, frame)` is true are lost.
  std::function<bool(peer_id, peer_id, const bytes&)> drop;

  double counter(std::size_t i, const std::string& name) const { return net_.counter(i, name); }
  /// The events node i emitted, in order.
  std::vector<event> events(std::size_t i) const {
    std::vector<event> out;
    for (auto& s : net_.events)
      if (s.node == i)
        out.push_back(s.e);
    return out;
  }

private:
  test_kit::network net_;
  std::uint64_t seed_;
  std::uint64_t next_cmd_ = 1;
  std::vector<fileset::config> cfgs_;
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
