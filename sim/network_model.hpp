#pragma once
// The simulated network: latency (a per-link base plus per-frame jitter),
// per-node bandwidth, link faults as one rule chain per pair of groups
// (protocols/common/link_rules.hpp), and partitions over time windows. Pure
// functions of the scenario and the generators passed in; the simulator owns
// the queues.
#include "protocols/common/link_rules.hpp"
#include "sim/scenario.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace peerlab::sim {

class network_model {
public:
  /// `node_group[i]` is the group index of node i. Node coordinates and access
  /// delays are drawn once from `placement`; link bases are keyed draws from
  /// `link_seed`.
  network_model(const scenario& s, const std::vector<std::uint32_t>& node_group, rng& placement,
                std::uint64_t link_seed);

  /// One-way propagation delay of one frame: the link's base plus a jitter
  /// sample drawn from `r`.
  time_us latency(std::uint32_t from, std::uint32_t to, rng& r) const;

  /// The fixed part of a link's delay, the same for (a, b) and (b, a): from
  /// geography, or drawn once per unordered pair from the latency distribution
  /// by a generator keyed by the pair (no state, independent of event order).
  time_us base_latency(std::uint32_t a, std::uint32_t b) const;

  /// The fault rules of frames from group `from_group` to group `to_group`.
  const link::chain& rules(std::uint32_t from_group, std::uint32_t to_group) const {
    return chains_[from_group * groups_ + to_group];
  }

  /// Partitions hold at send time (in the chain) and again when a frame in
  /// flight arrives.
  bool partitioned(std::uint32_t from_group, std::uint32_t to_group, time_us now) const {
    return partitions_.cuts(from_group, to_group, now);
  }

  /// A node's place (x, y in km) in the geographic model; nullopt otherwise.
  std::optional<std::pair<double, double>> point(std::uint32_t node) const {
    if (x_.empty())
      return std::nullopt;
    return std::pair<double, double>{x_[node], y_[node]};
  }

  /// Bytes per second; 0 = unlimited.
  double up_bps(std::uint32_t group) const { return up_[group]; }
  double down_bps(std::uint32_t group) const { return down_[group]; }

private:
  const latency_model& lat_;
  std::size_t groups_;
  std::uint64_t link_seed_;
  std::vector<link::chain> chains_;
  link::partition_rule partitions_;
  std::vector<double> up_, down_;
  // Geographic model only.
  std::vector<float> x_, y_;
  std::vector<std::int32_t> access_us_;
};

} // namespace peerlab::sim
