#pragma once
// The simulated network: latency (a distribution, or geography plus access
// delay), per-node bandwidth, fault rates per pair of groups, and partitions
// over time windows. Pure functions of the scenario and the generators passed
// in; the simulator owns the queues.
#include "sim/scenario.hpp"

#include <vector>

namespace peerlab::sim {

class network_model {
public:
  /// `node_group[i]` is the group index of node i. Node coordinates and access
  /// delays are drawn once from `placement`.
  network_model(const scenario& s, const std::vector<std::uint32_t>& node_group, rng& placement);

  /// One-way propagation delay of one frame.
  time_us latency(std::uint32_t from, std::uint32_t to, rng& r) const;

  const fault_rates& faults(std::uint32_t from_group, std::uint32_t to_group) const {
    return fault_matrix_[from_group * groups_ + to_group];
  }

  bool partitioned(std::uint32_t from_group, std::uint32_t to_group, time_us now) const;

  /// Bytes per second; 0 = unlimited.
  double up_bps(std::uint32_t group) const { return up_[group]; }
  double down_bps(std::uint32_t group) const { return down_[group]; }

private:
  struct directed_partition {
    std::uint32_t from, to;
    time_us start, until;
  };
  const latency_model& lat_;
  std::size_t groups_;
  std::vector<fault_rates> fault_matrix_;
  std::vector<directed_partition> partitions_;
  std::vector<double> up_, down_;
  // Geographic model only.
  std::vector<float> x_, y_;
  std::vector<std::int32_t> access_us_;
};

} // namespace peerlab::sim
