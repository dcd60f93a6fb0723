#include "sim/run_stats.hpp"

#include "sim/seed_streams.hpp"

#include <algorithm>

namespace peerlab::sim {

void samples::add(double v, rng& r) {
  ++seen_;
  sum_ += v;
  sorted_ = false;
  if (values_.size() < cap) {
    values_.push_back(v);
    return;
  }
  auto j = r.below(seen_);
  if (j < cap)
    values_[j] = v;
}

double samples::quantile(double q) const {
  if (values_.empty())
    return 0;
  if (!sorted_ || sorted_copy_.size() != values_.size()) {
    sorted_copy_ = values_;
    std::sort(sorted_copy_.begin(), sorted_copy_.end());
    sorted_ = true;
  }
  // Nearest-rank quantile.
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted_copy_.size()));
  if (rank >= sorted_copy_.size())
    rank = sorted_copy_.size() - 1;
  return sorted_copy_[rank];
}

run_stats::run_stats(std::size_t groups, std::uint64_t seed)
    : groups_(groups), reservoir_rng_(stream_seed(seed, seed_stream::samples)) {}

void run_stats::metric(std::uint32_t group, const effects::metric_sample& m) {
  if (m.is_counter) {
    auto it = counter_cache_.find(m.name);
    std::vector<double>* v;
    if (it == counter_cache_.end()) {
      auto& slot = counter_by_name_[m.name];
      if (slot.empty())
        slot.assign(groups_, 0.0);
      v = &slot;
      counter_cache_.emplace(m.name, v);
    } else {
      v = it->second;
    }
    (*v)[group] += m.value;
  } else {
    auto it = observed_cache_.find(m.name);
    samples* s;
    if (it == observed_cache_.end()) {
      s = &observed_[m.name];
      observed_cache_.emplace(m.name, s);
    } else {
      s = it->second;
    }
    s->add(m.value, reservoir_rng_);
  }
}

double run_stats::counter(const std::string& name, int group) const {
  auto it = counter_by_name_.find(name);
  if (it == counter_by_name_.end())
    return 0;
  if (group >= 0)
    return it->second[static_cast<std::size_t>(group)];
  double t = 0;
  for (double x : it->second)
    t += x;
  return t;
}

} // namespace peerlab::sim
