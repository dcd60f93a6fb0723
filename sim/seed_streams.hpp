#pragma once
// Every source of randomness of a run, in one place. Each draws from its own
// generator derived from (run seed, stream[, sub]) — nodes from (run seed,
// node, incarnation) — so adding a source, or drawing more from one, does not
// perturb the others. Nothing in sim/ seeds a generator any other way.
#include "protocols/common/rng.hpp"

#include <cstdint>

namespace peerlab::sim {

enum class seed_stream : std::uint64_t {
  network = 1,         // loss, duplication, truncation, corruption, latency, reordering
  churn = 2,           // session and downtime lengths, crash or graceful leave
  workload = 3,        // what the drivers do and when (shared by drivers, in event order)
  placement = 4,       // node regions and access delays, group start spread
  files = 5,           // synthetic file seeds and replica placement
  samples = 9,         // reservoir sampling of observations and download times
  dht_samples = 10,    // which keys and nodes the dht driver samples
  message_bodies = 11, // bytes of the droplog driver's messages; sub = direction
  links = 12,          // each link's base latency: a keyed draw per pair (network_model)
  live_shaping = 13,   // a live node's shaper (sim/live_shaper): per-frame faults; sub = node
  // Node generators use the streams from 100 on (100 + incarnation, sub = node).
};

/// The seed of stream `s` of a run; `sub` tells instances of one stream apart.
inline std::uint64_t stream_seed(std::uint64_t run_seed, seed_stream s, std::uint64_t sub = 0) {
  return derive_seed(run_seed, static_cast<std::uint64_t>(s), sub);
}

inline rng stream_rng(std::uint64_t run_seed, seed_stream s, std::uint64_t sub = 0) {
  return rng(stream_seed(run_seed, s, sub));
}

/// A node's generator for one incarnation: a restarted node does not replay its past.
inline std::uint64_t node_seed(std::uint64_t run_seed, std::uint32_t node,
                               std::uint32_t incarnation) {
  return derive_seed(run_seed, 100 + static_cast<std::uint64_t>(incarnation), node);
}

} // namespace peerlab::sim
