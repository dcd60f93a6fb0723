#include "sim/drivers/market_audit.hpp"

namespace peerlab::sim::market_sim {

void payer_audit::ordered(std::uint64_t node, std::uint64_t provider, const std::string& hash,
                          const std::string& download, std::uint64_t price) {
  // A download that asks the same provider again (a new attempt) orders once.
  if (orders_.insert({node, provider, hash, download}).second)
    bought_[{node, provider}] += price;
}

void payer_audit::paid(std::uint64_t from, std::uint64_t to, std::uint64_t amount) {
  paid_[{from, to}] += amount;
}

payer_audit::result
payer_audit::check(const std::function<bool(std::uint64_t)>& is_protected) const {
  std::uint64_t pairs = 0, paid = 0, bought = 0, over_pairs = 0, over = 0;
  std::string first;
  for (auto& [key, amount] : paid_) {
    if (!is_protected(key.first))
      continue;
    auto b = bought_.find(key);
    std::uint64_t allowed = b == bought_.end() ? 0 : b->second;
    ++pairs;
    paid += amount;
    bought += std::min(amount, allowed);
    if (amount > allowed) {
      ++over_pairs;
      over += amount - allowed;
      if (first.empty())
        first = "node " + std::to_string(key.first) + " paid " + std::to_string(key.second) + " " +
                std::to_string(amount) + " for orders worth " + std::to_string(allowed);
    }
  }
  result r;
  r.passed = over_pairs == 0 && pairs > 0;
  if (pairs == 0)
    r.detail = "no protected payer paid anything (nothing to check)";
  else if (over_pairs == 0)
    r.detail = std::to_string(pairs) + " payer-provider pairs paid " + std::to_string(paid) +
               ", none more than it ordered";
  else
    r.detail = std::to_string(over_pairs) + " of " + std::to_string(pairs) +
               " payer-provider pairs paid " + std::to_string(over) +
               " more than they ordered; first: " + first;
  return r;
}

} // namespace peerlab::sim::market_sim
