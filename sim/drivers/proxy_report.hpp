#pragma once
// What the proxy workload observed and its checkers and figures: sessions
// ended (client side), cut-offs (provider side), and at the end each
// provider's ProxyClients state and each client's open session, read from the
// roles. Pairs are (provider node, client node): node index = peer id.
//
// Under churn a client that ends a session as service_failed within
// `churn_window` after its provider went down did what it should (it moved
// on): that is a churn end, not a false cut-off. Any other end but
// client_closed, and any honest client its provider terminated, is one.
#include "protocols/common/role.hpp"
#include "protocols/proxy/proxy.hpp"
#include "sim/distribution.hpp"
#include "sim/workload_driver.hpp"

#include <map>
#include <string>
#include <vector>

namespace peerlab::sim::proxy_sim {

/// How long after its provider went down a client may take to notice: the
/// response timeout or ten unanswered report resends, with room to spare.
constexpr time_us churn_window = 2 * 60 * us_per_s;

struct params {
  std::string ledger, boot;
  std::vector<std::string> providers, clients;
  std::uint64_t fund = 1'000'000'000'000ull;
  std::uint64_t fee_min = 10, fee_max = 10;
  time_us open = 20 * us_per_s, stop = 4 * 60 * us_per_s, close = 4 * 60 * us_per_s + 30 * us_per_s;
  distribution request{distribution::kind::constant, 700};
  distribution response{distribution::kind::constant, 30'000};
  distribution think{distribution::kind::constant, 2e6};
};

class report {
public:
  report(const params& p, const scenario& s);
  void bind(const sim_api& api);
  void fetched(double latency_us) { latencies_.push_back(latency_us); }
  void open_failed() { ++open_failures_; }
  void session_ended(std::uint32_t client, std::uint64_t provider, const event& e, time_us at);
  void node_down(std::uint32_t node, time_us at) { downs_[node].push_back(at); }
  void provider_config(std::uint32_t node, const proxy::provider_config& c) { configs_[node] = c; }
  void cut_off(std::uint32_t provider, std::uint64_t client, const event& e);
  bool evaluate(const sim_api&, const checker_spec&, verdict&) const;
  nlohmann::json figures(const sim_api&) const;

private:
  struct pair_view {
    std::uint32_t provider = 0, client = 0;
    std::string provider_strategy, client_strategy; // "honest" or the adversary
    std::uint64_t fee_per_kb = 0;
    std::uint64_t provider_bytes = 0, client_bytes = 0;
    std::uint64_t confirmed = 0, unconfirmed = 0, client_sent = 0;
    std::string status;                          // the provider's row
    std::vector<std::string> client_end_reasons; // sessions the client ended or saw ended
    std::uint32_t churn_ends = 0; // of those, service_failed after its provider went down
    bool client_open = false;     // the client's session is still open at the end
    double gain = 0, bound = 0;   // fee units; for the cheating side
  };
  std::vector<pair_view> pairs(const sim_api&) const;
  /// The provider went down in [at - churn_window, at].
  bool provider_went_down(std::uint32_t provider, time_us at) const;
  /// An honest pair was cut off: terminated by the provider, or ended by the
  /// client for anything but closing or its provider's churn.
  static bool falsely_cut(const pair_view&);
  std::string strategy_of(std::uint32_t node, bool provider_side) const;

  const params& p_;
  std::vector<std::string> group_adversary_;
  std::vector<std::uint32_t> group_of_node_;
  struct ended {
    std::uint64_t bytes = 0, sent = 0;
    std::string reason;
    time_us at = 0;
  };
  std::map<std::uint32_t, std::vector<time_us>> downs_;     // node -> departures
  std::map<std::uint32_t, proxy::provider_config> configs_; // providers that provided
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::vector<ended>>
    ended_;                                                             // (client, provider)
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::string> cuts_; // (provider, client)
  std::vector<double> latencies_;
  std::uint64_t open_failures_ = 0;
};

} // namespace peerlab::sim::proxy_sim
