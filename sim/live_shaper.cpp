#include "sim/live_shaper.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/seed_streams.hpp"
#include "sim/sim_time.hpp"

#include <algorithm>
#include <string>

namespace peerlab::sim {

namespace {

// Nodes numbered group after group, as sim/simulator.cpp numbers them.
std::vector<std::uint32_t> groups_of_nodes(const scenario& s) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t g = 0; g < s.groups.size(); ++g)
    out.insert(out.end(), s.groups[g].count, g);
  return out;
}

} // namespace

live_shaper::live_shaper(scenario s, std::uint64_t seed, std::uint32_t node,
                         std::map<peer_id, std::uint32_t> nodes)
    : spec_(std::move(s)), node_group_(groups_of_nodes(spec_)), me_(node), nodes_(std::move(nodes)),
      rng_(stream_seed(seed, seed_stream::live_shaping, node)) {
  auto count = node_group_.size();
  if (me_ >= count)
    throw config_error("node " + std::to_string(me_) + " is not in the scenario, which has " +
                       std::to_string(count) + " nodes");
  for (auto& [peer, index] : nodes_)
    if (index >= count)
      throw config_error("peer " + std::to_string(peer) + " is node " + std::to_string(index) +
                         ", not in the scenario, which has " + std::to_string(count) + " nodes");
  // The same generators, in the same order, as the simulator's constructor:
  // node places (geographic model) and link bases come out the same.
  auto placement = stream_rng(seed, seed_stream::placement);
  net_ = std::make_unique<network_model>(spec_, node_group_, placement,
                                         stream_seed(seed, seed_stream::links));
  up_bps_ = net_->up_bps(node_group_[me_]);
  last_release_.assign(count, 0);
}

const std::uint32_t* live_shaper::index_of(peer_id p) const {
  auto it = nodes_.find(p);
  return it == nodes_.end() ? nullptr : &it->second;
}

shape_outcome live_shaper::shape(peer_id to, time_us now, time_us scenario_now, bytes frame,
                                 std::vector<shaped_copy>& out) {
  shape_outcome o;
  auto* dst = index_of(to);
  if (!dst || *dst == me_) { // not a node of the scenario: unshaped
    out.push_back({now, std::move(frame)});
    return o;
  }
  // Upload link first: a frame a rule drops has still left the node (as in
  // the simulator, where the sender's link is spent before the chain runs).
  time_us depart = now;
  if (up_bps_ > 0)
    depart = up_.transmit(now, frame.size() + spec_.frame_overhead, up_bps_);
  auto gs = node_group_[me_], gd = node_group_[*dst];
  auto fate = net_->rules(gs, gd).run({gs, gd, scenario_now, frame.size()}, rng_);
  if (fate.copies == 0) {
    o.dropped = true;
    return o;
  }
  o.duplicated = fate.copies > 1;
  for (std::size_t c = 0; c < fate.copies; ++c) {
    auto& cf = fate.copy[c];
    bytes f = c + 1 < fate.copies ? frame : std::move(frame);
    link::apply(cf, f);
    o.truncated += cf.truncated;
    o.corrupted += !cf.bits.empty();
    time_us release = later(depart, net_->latency(me_, *dst, rng_));
    if (cf.delayed) {
      release = later(release, cf.delay);
      ++o.reordered;
    } else if (spec_.fifo_links) {
      // Like the TCP connection below: never ahead of an earlier frame.
      release = std::max(release, last_release_[*dst]);
      last_release_[*dst] = release;
    }
    out.push_back({release, std::move(f)});
  }
  return o;
}

bool live_shaper::cut(peer_id to, time_us scenario_now) const {
  auto* dst = index_of(to);
  if (!dst)
    return false;
  return net_->partitioned(node_group_[me_], node_group_[*dst], scenario_now);
}

} // namespace peerlab::sim
