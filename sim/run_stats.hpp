#pragma once
// What a run measured: network counters and metrics per group.
// Filled by the simulator while it runs; read by checkers, the summary and
// the results file.
#include "protocols/common/role.hpp"
#include "protocols/common/rng.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace peerlab::sim {

struct network_counters {
  std::uint64_t sent = 0, sent_bytes = 0;
  std::uint64_t delivered = 0, delivered_bytes = 0;
  std::uint64_t lost = 0;             // random loss
  std::uint64_t lost_partition = 0;   // dropped by a partition
  std::uint64_t lost_offline = 0;     // receiver was down at delivery
  std::uint64_t lost_sender_down = 0; // still queued for upload when the sender went down
  std::uint64_t truncated = 0, corrupted = 0, duplicated = 0, reordered = 0;
  std::uint64_t rejected_routing = 0; // empty frame or no role on that port
  std::uint64_t unknown_peer = 0;     // sent to an id that is no node
};

/// Bounded sample store: keeps every value up to `cap`, then a uniform
/// reservoir (deterministic: its generator is seeded from the run seed).
class samples {
public:
  void add(double v, rng& r);
  std::uint64_t count() const { return seen_; }
  double sum() const { return sum_; }
  /// q in [0, 1]; 0 if empty.
  double quantile(double q) const;
  const std::vector<double>& values() const { return values_; }

private:
  static constexpr std::size_t cap = 1'000'000;
  std::vector<double> values_;
  std::uint64_t seen_ = 0;
  double sum_ = 0;
  mutable bool sorted_ = true;
  mutable std::vector<double> sorted_copy_;
};

class run_stats {
public:
  explicit run_stats(std::size_t groups, std::uint64_t seed);

  network_counters net;
  std::uint64_t events = 0;
  std::uint64_t commands_skipped_offline = 0;
  std::uint64_t node_starts = 0, crashes = 0, leaves = 0;

  void metric(std::uint32_t group, const effects::metric_sample& m);
  /// Counter totals for every (group, name), names sorted.
  const std::map<std::string, std::vector<double>>& counters() const { return counter_by_name_; }
  double counter(const std::string& name, int group = -1) const;
  /// Observations per name (all groups together).
  const std::map<std::string, samples>& observations() const { return observed_; }

private:
  std::size_t groups_;
  rng reservoir_rng_;
  std::unordered_map<const char*, std::vector<double>*> counter_cache_; // lookup only
  std::map<std::string, std::vector<double>> counter_by_name_;
  std::unordered_map<const char*, samples*> observed_cache_;
  std::map<std::string, samples> observed_;
};

} // namespace peerlab::sim
