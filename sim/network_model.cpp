#include "sim/network_model.hpp"

#include "sim/sim_time.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace peerlab::sim {

network_model::network_model(const scenario& s, const std::vector<std::uint32_t>& node_group,
                             rng& placement)
    : lat_(s.latency), groups_(s.groups.size()) {
  std::map<std::string, std::uint32_t> index;
  for (std::uint32_t g = 0; g < groups_; ++g)
    index[s.groups[g].name] = g;

  // Fault rates: the network default, overridden by link rules in file order.
  fault_matrix_.assign(groups_ * groups_, s.faults);
  for (auto& rule : s.links)
    for (std::uint32_t a = 0; a < groups_; ++a)
      for (std::uint32_t b = 0; b < groups_; ++b)
        if ((rule.from == "*" || index[rule.from] == a) && (rule.to == "*" || index[rule.to] == b))
          fault_matrix_[a * groups_ + b] = rule.faults;

  for (auto& p : s.partitions) {
    auto a = index[p.a], b = index[p.b];
    if (p.a_to_b)
      partitions_.push_back({a, b, p.from, p.until});
    if (p.b_to_a)
      partitions_.push_back({b, a, p.from, p.until});
  }

  for (auto& g : s.groups) {
    up_.push_back(g.up_bps < 0 ? s.default_up_bps : g.up_bps);
    down_.push_back(g.down_bps < 0 ? s.default_down_bps : g.down_bps);
  }

  if (lat_.geographic) {
    auto n = node_group.size();
    x_.resize(n);
    y_.resize(n);
    access_us_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto& g = s.groups[node_group[i]];
      const region* r = nullptr;
      if (!g.region.empty()) {
        for (auto& reg : lat_.regions)
          if (reg.name == g.region)
            r = &reg;
      } else {
        r = &lat_.regions[placement.below(lat_.regions.size())];
      }
      // Uniform point in a disc around the region's centre.
      double rad = r->radius_km * std::sqrt(placement.uniform01());
      double ang = 6.283185307179586 * placement.uniform01();
      x_[i] = static_cast<float>(r->x_km + rad * std::cos(ang));
      y_[i] = static_cast<float>(r->y_km + rad * std::sin(ang));
      access_us_[i] = static_cast<std::int32_t>(std::min<time_us>(
        delay_us(lat_.access.sample(placement)), std::numeric_limits<std::int32_t>::max()));
    }
  }
}

time_us network_model::latency(std::uint32_t from, std::uint32_t to, rng& r) const {
  if (!lat_.geographic)
    return delay_us(lat_.dist.sample(r));
  double dx = x_[from] - x_[to], dy = y_[from] - y_[to];
  double km = std::sqrt(dx * dx + dy * dy);
  double us =
    km / lat_.km_per_ms * 1000.0 + access_us_[from] + access_us_[to] + lat_.jitter.sample(r);
  return delay_us(us);
}

bool network_model::partitioned(std::uint32_t from_group, std::uint32_t to_group,
                                time_us now) const {
  for (auto& p : partitions_)
    if (p.from == from_group && p.to == to_group && now >= p.start && now < p.until)
      return true;
  return false;
}

} // namespace peerlab::sim
