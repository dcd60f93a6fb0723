#pragma once
// The payers' side of the market's books: what each node ordered from each
// provider (downloader events "purchase_ordered", one price per download and
// provider) against what moved from its account to the provider's on the
// ledger ("ledger_tx_included"). Checker market_payers_not_overcharged: no
// protected payer paid a provider more than the prices of what it ordered there.
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace peerlab::sim::market_sim {

class payer_audit {
public:
  /// A download `download` of node `node` accepted `provider`'s metadata for `hash` at `price`.
  void ordered(std::uint64_t node, std::uint64_t provider, const std::string& hash,
               const std::string& download, std::uint64_t price);
  /// A transaction in a block: `amount` from account `from` to `to` (fees apart).
  void paid(std::uint64_t from, std::uint64_t to, std::uint64_t amount);

  struct result {
    bool passed = false;
    std::string detail;
  };
  /// Checks every payer for which `is_protected` holds. Fails if one paid a
  /// provider more than it ordered there, or if no protected payer paid at all.
  result check(const std::function<bool(std::uint64_t)>& is_protected) const;

private:
  using pair_t = std::pair<std::uint64_t, std::uint64_t>; // (payer, provider)
  std::set<std::tuple<std::uint64_t, std::uint64_t, std::string, std::string>> orders_;
  std::map<pair_t, std::uint64_t> bought_, paid_;
};

} // namespace peerlab::sim::market_sim
