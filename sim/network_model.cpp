#include "sim/network_model.hpp"

#include "sim/sim_time.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace peerlab::sim {

namespace {

std::vector<link::window> windows_of(const scenario& s,
                                     const std::map<std::string, std::uint32_t>& index) {
  std::vector<link::window> w;
  for (auto& p : s.partitions) {
    auto a = index.at(p.a), b = index.at(p.b);
    if (p.a_to_b)
      w.push_back({a, b, p.from, p.until});
    if (p.b_to_a)
      w.push_back({b, a, p.from, p.until});
  }
  return w;
}

// The rule chain of one pair of groups, in the order the faults hit a frame:
// a partition or loss drops it before anything else, a duplicate is then
// truncated (uniform, then by size), corrupted (per frame, then per byte) and
// delayed independently of the original. A fault at rate 0 adds no rule and
// draws nothing, so scenarios without the newer faults keep their runs.
link::chain chain_for(std::uint32_t from, std::uint32_t to, const std::vector<link::window>& all,
                      const fault_rates& f) {
  std::vector<link::window> mine;
  for (auto& w : all)
    if (w.from == from && w.to == to)
      mine.push_back(w);
  link::chain c;
  if (!mine.empty())
    c.add(std::make_unique<link::partition_rule>(std::move(mine)));
  c.add(link::loss(f.loss));
  c.add(link::duplicate(f.duplicate));
  c.add(link::truncate(f.truncate));
  c.add(link::truncate_by_size(f.truncate_scale));
  c.add(link::corrupt(f.corrupt));
  c.add(link::bit_rot(f.corrupt_per_byte));
  c.add(link::delay(f.reorder, f.reorder_delay)); // a delayed frame may overtake others
  return c;
}

std::map<std::string, std::uint32_t> group_index(const scenario& s) {
  std::map<std::string, std::uint32_t> index;
  for (std::uint32_t g = 0; g < s.groups.size(); ++g)
    index[s.groups[g].name] = g;
  return index;
}

} // namespace

network_model::network_model(const scenario& s, const std::vector<std::uint32_t>& node_group,
                             rng& placement, std::uint64_t link_seed)
    : lat_(s.latency), groups_(s.groups.size()), link_seed_(link_seed),
      partitions_(windows_of(s, group_index(s))) {
  auto index = group_index(s);

  // Fault rates: the network default, overridden by link rules in file order.
  std::vector<fault_rates> rates(groups_ * groups_, s.faults);
  for (auto& rule : s.links)
    for (std::uint32_t a = 0; a < groups_; ++a)
      for (std::uint32_t b = 0; b < groups_; ++b)
        if ((rule.from == "*" || index[rule.from] == a) && (rule.to == "*" || index[rule.to] == b))
          rates[a * groups_ + b] = rule.faults;
  auto windows = windows_of(s, index);
  chains_.reserve(groups_ * groups_);
  for (std::uint32_t a = 0; a < groups_; ++a)
    for (std::uint32_t b = 0; b < groups_; ++b)
      chains_.push_back(chain_for(a, b, windows, rates[a * groups_ + b]));

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

time_us network_model::base_latency(std::uint32_t a, std::uint32_t b) const {
  if (a > b)
    std::swap(a, b);
  if (lat_.geographic) {
    double dx = x_[a] - x_[b], dy = y_[a] - y_[b];
    double km = std::sqrt(dx * dx + dy * dy);
    return delay_us(km / lat_.km_per_ms * 1000.0 + access_us_[a] + access_us_[b]);
  }
  rng keyed(derive_seed(link_seed_, a, b));
  return delay_us(lat_.dist.sample(keyed));
}

time_us network_model::latency(std::uint32_t from, std::uint32_t to, rng& r) const {
  return later(base_latency(from, to), delay_us(lat_.jitter.sample(r)));
}

} // namespace peerlab::sim
