#include "sim/run_stats.hpp"

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
    : groups_(groups), reservoir_rng_(derive_seed(seed, 9)) {}

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

void run_stats::on_event(std::uint32_t node, time_us now, const event& e) {
  auto& d = downloads;
  const std::string* hash = e.field("hash");
  auto key = std::make_pair(node, hash ? *hash : std::string());
  auto close_one = [&] {
    auto it = d.open.find(key);
    if (it != d.open.end() && !it->second.empty()) {
      it->second.erase(it->second.begin());
      if (it->second.empty())
        d.open.erase(it);
    }
  };
  if (e.kind == "download_started") {
    ++d.started;
    d.open[key].push_back(now);
  } else if (e.kind == "download_done") {
    ++d.completed;
    d.bytes += static_cast<std::uint64_t>(e.value("bytes"));
    d.duration_us.add(e.value("duration_us"), reservoir_rng_);
    if (d.records.size() < 1'000'000)
      d.records.push_back(
        {now, node, true, e.value("duration_us"), e.value("bytes"), e.value("attempts"), {}});
    auto vc = d.verified_commits.find(key);
    if (vc == d.verified_commits.end() || vc->second == 0)
      ++d.done_without_commit;
    else
      --vc->second;
    close_one();
  } else if (e.kind == "download_failed") {
    ++d.failed;
    const std::string* reason = e.field("reason");
    ++d.failure_reasons[reason ? *reason : "unknown"];
    if (d.records.size() < 1'000'000)
      d.records.push_back({now, node, false, e.value("duration_us"), 0, e.value("attempts"),
                           reason ? *reason : "unknown"});
    close_one();
  } else if (e.kind == "corrupt_detected") {
    ++d.corrupt_detected;
  }
}

void run_stats::on_node_down(std::uint32_t node) {
  auto& d = downloads;
  for (auto it = d.open.lower_bound({node, std::string()});
       it != d.open.end() && it->first.first == node;) {
    d.interrupted += it->second.size();
    it = d.open.erase(it);
  }
}

} // namespace peerlab::sim
