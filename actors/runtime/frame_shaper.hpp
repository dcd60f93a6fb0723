#pragma once
// Shaping of a live node's outgoing frames: latency, loss, duplication,
// reordering, truncation, corruption, upload bandwidth and partitions, decided
// per frame before it reaches the socket. The live transport (net/) calls it;
// sim/live_shaper implements it with the simulator's own network model and
// rule chain, so a scenario's network means the same thing live. Pure: no
// clock, no I/O; both times come in as arguments.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <vector>

namespace peerlab {

/// One copy of a frame to write once `release_at` has come.
struct shaped_copy {
  time_us release_at = 0; // on the caller's clock (`now` of shape())
  bytes frame;            // possibly truncated or with bits flipped
};

/// What the rules did to one frame (the transport counts them).
struct shape_outcome {
  bool dropped = false; // no copy left (loss or partition at send)
  bool duplicated = false;
  std::uint32_t truncated = 0; // copies cut short
  std::uint32_t corrupted = 0; // copies with flipped bits
  std::uint32_t reordered = 0; // copies a delay rule let overtake others
};

class frame_shaper {
public:
  virtual ~frame_shaper() = default;

  /// Judges one frame to `to`. `now` is the sender's monotonic clock (release
  /// times are on it: latencies are real time); `scenario_now` is scenario
  /// time (partition windows). Appends the surviving copies to `out`, in
  /// release order per link unless a delay rule fired. A frame to a peer the
  /// shaper does not know passes unchanged with release_at = now.
  virtual shape_outcome shape(peer_id to, time_us now, time_us scenario_now, bytes frame,
                              std::vector<shaped_copy>& out) = 0;

  /// A partition cuts the link to `to` at `scenario_now`: a held copy whose
  /// release comes now is dropped (as a frame in flight in the simulator).
  virtual bool cut(peer_id to, time_us scenario_now) const = 0;
};

} // namespace peerlab
