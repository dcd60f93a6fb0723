#pragma once
// Round-trip time estimates (RFC 6298 SRTT/RTTVAR) per peer, in a small table
// bounded by `max_peers` (the least recently sampled peer makes room), plus
// one aggregate estimate over every sample: the default for peers without an
// estimate of their own. Pure: the node feeds it samples it timed itself.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace peerlab::kad {

class rtt_estimator {
public:
  explicit rtt_estimator(std::size_t max_peers) : max_(max_peers) {}

  /// A request to `p` was answered `rtt` after it was sent.
  void sample(peer_id p, time_us rtt);
  /// srtt + 4 * rttvar of `p`, else of the aggregate; nullopt before any sample.
  std::optional<time_us> rto(peer_id p) const;
  /// True if `p` has an estimate of its own.
  bool knows(peer_id p) const { return index(p) < peers_.size(); }
  std::size_t size() const { return peers_.size(); }
  void clear();

private:
  struct estimate {
    time_us srtt = 0, rttvar = 0;
    bool valid = false;
    void update(time_us r);
    time_us rto() const { return srtt + 4 * rttvar; }
  };
  struct slot {
    peer_id peer = 0;
    estimate e;
    std::uint64_t used = 0; // tick of the last sample
  };
  std::size_t index(peer_id p) const; // peers_.size() if absent

  std::size_t max_;
  std::vector<slot> peers_; // small (default 128): a linear scan is cheaper than a map
  estimate all_;
  std::uint64_t tick_ = 0;
};

} // namespace peerlab::kad
