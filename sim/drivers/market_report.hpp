#pragma once
// The market driver's tallies and its summary tables (per cheating strategy x
// provider policy, and the honest peers' payment overhead per policy).
#include "sim/scenario.hpp"
#include "sim/workload_driver.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace peerlab::sim {
struct verdict;
}

namespace peerlab::sim::market_sim {

/// One provider's books with one peer, as the driver rebuilt them from events.
struct pair_account {
  std::uint64_t billable = 0, paid = 0; // bytes
  std::uint64_t max_exposure = 0, bound = 0;
  std::uint64_t bills = 0, failed = 0;
  bool blacklisted = false;
  std::string policy;
  std::uint64_t exposure() const { return billable > paid ? billable - paid : 0; }
};

using account_map = std::map<std::pair<std::uint32_t, std::uint32_t>, pair_account>;

class tally {
public:
  explicit tally(const scenario& s) : groups_(s.groups.size()) {}

  void download_started(std::uint32_t g, const std::string& strategy);
  void download_interrupted(std::uint32_t g);
  void download_ended(std::uint32_t g, const std::string& strategy, const std::string& policy,
                      bool done, double duration_us, bool near_end, const std::string& reason);
  void honest_settled(const std::string& policy, double latency_us, double confirm_us);
  void payment_failed(const std::string& strategy, const std::string& reason);

  bool check_honest_downloads(const checker_spec&, verdict&) const;
  nlohmann::json report_json(const sim_api&, const account_map&,
                             const std::vector<std::string>& group_strategy,
                             const nlohmann::json& summary) const;

private:
  nlohmann::json strategy_table(const sim_api&, const account_map&,
                                const std::vector<std::string>& group_strategy,
                                std::vector<std::string>& lines) const;
  nlohmann::json honest_table(const sim_api&, const account_map&,
                              const std::vector<std::string>& group_strategy,
                              std::vector<std::string>& lines) const;
  void payment_overhead(const nlohmann::json& summary, nlohmann::json& out,
                        std::vector<std::string>& lines) const;
  struct group_tally {
    std::uint64_t started = 0, done = 0, failed = 0, failed_near_end = 0, interrupted = 0;
    std::string strategy = "honest";
    std::map<std::string, std::uint64_t> reasons;
  };
  std::vector<group_tally> groups_;
  std::map<std::string, std::vector<double>> honest_duration_s_;         // by provider policy
  std::map<std::pair<std::string, std::string>, std::uint64_t> done_by_; // (strategy, policy)
  std::map<std::string, std::vector<double>> settle_s_, confirm_s_;      // honest, by policy
  std::map<std::string, std::map<std::string, std::uint64_t>>
    fail_reasons_; // strategy -> reason -> n
};

} // namespace peerlab::sim::market_sim
