#pragma once
// A scenario's network applied to one live node's outgoing frames
// (actors/runtime/frame_shaper.hpp). It builds the simulator's network model
// the way sim/simulator.cpp does (same node numbering, placement generator and
// link seed), so each pair's base latency is the one the simulator draws for
// that run seed; per frame it runs the same rule chain, adds a jitter sample,
// queues the frame on the node's upload link (sim/serial_link.hpp) and keeps
// links FIFO unless a delay rule fired. Its per-frame generator is its own
// (run seed, live_shaping stream, node): a live run is shaped like the
// simulator, not replayed event for event (frames leave when the roles send
// them, at real times).
#include "actors/runtime/frame_shaper.hpp"
#include "sim/network_model.hpp"
#include "sim/serial_link.hpp"

#include <map>
#include <memory>
#include <vector>

namespace peerlab::sim {

class live_shaper final : public frame_shaper {
public:
  /// `nodes` maps peer ids to scenario node indices (nodes numbered group
  /// after group, as in the simulator); `node` is this node's index. Throws
  /// config_error if `node` or an index lies outside the scenario.
  live_shaper(scenario s, std::uint64_t seed, std::uint32_t node,
              std::map<peer_id, std::uint32_t> nodes);
  live_shaper(const live_shaper&) = delete;
  live_shaper& operator=(const live_shaper&) = delete;

  shape_outcome shape(peer_id to, time_us now, time_us scenario_now, bytes frame,
                      std::vector<shaped_copy>& out) override;
  bool cut(peer_id to, time_us scenario_now) const override;

  /// The model as the simulator builds it for this scenario and seed.
  const network_model& model() const { return *net_; }
  std::uint32_t node() const { return me_; }
  std::uint32_t group_of(std::uint32_t node) const { return node_group_[node]; }

private:
  const std::uint32_t* index_of(peer_id p) const;

  scenario spec_; // before net_: the model keeps a reference to its latency model
  std::vector<std::uint32_t> node_group_;
  std::unique_ptr<network_model> net_;
  std::uint32_t me_;
  std::map<peer_id, std::uint32_t> nodes_;
  rng rng_;
  serial_link up_;
  double up_bps_ = 0;
  std::vector<time_us> last_release_; // per destination node: FIFO links
};

} // namespace peerlab::sim
