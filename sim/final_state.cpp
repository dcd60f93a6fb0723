// The last step of the fingerprint: the state a run ends in. Two runs can
// process the same events yet differ in what they drew from a generator, in
// frames that were lost or dropped rather than delivered, or in how many metric
// rows they wrote (a long quiet tail); digesting the final generators and
// counters catches those (FoundationDB's "unseed").
#include "sim/simulator.hpp"

#include <bit>

namespace peerlab::sim {

std::uint64_t simulator::final_state_digest() const {
  std::uint64_t h = 0x66696e616cULL; // "final"
  auto add = [&h](std::uint64_t v) { h = hash_combine(h, v); };
  // Four outputs of a copy determine xoshiro256**'s whole state, without
  // reaching into the generator.
  auto add_rng = [&add](const rng& r) {
    rng copy = r;
    for (int i = 0; i < 4; ++i)
      add(copy.next());
  };

  add(static_cast<std::uint64_t>(now_));
  add(stats_.events);
  add(queue_.size());
  add(series_.size());
  add(recorded_.size());
  auto& n = stats_.net;
  for (auto v : {n.sent, n.sent_bytes, n.delivered, n.delivered_bytes, n.lost, n.lost_partition,
                 n.lost_offline, n.truncated, n.corrupted, n.duplicated, n.reordered,
                 n.rejected_routing, n.unknown_peer})
    add(v);
  // Workload drivers' run-wide figures (downloads completed, failed, ...).
  for (auto& d : drivers_)
    for (auto& [name, value] : d.driver->totals(*d.api)) {
      add(stable_hash(name.data(), name.size()));
      add(std::bit_cast<std::uint64_t>(value));
    }
  for (auto v :
       {stats_.node_starts, stats_.crashes, stats_.leaves, stats_.commands_skipped_offline})
    add(v);

  add_rng(net_rng_);
  add_rng(churn_rng_);
  add_rng(workload_rng_);
  add_rng(placement_rng_);
  for (auto& node : nodes_) {
    add(node.incarnation);
    add(node.online ? 1 : 0);
    add_rng(node.random);
  }
  return h;
}

} // namespace peerlab::sim
