#include "protocols/market/market.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/market/gate.hpp"

namespace peerlab::market {

std::optional<policy> policy_from_name(std::string_view n) {
  if (n == "pay_after")
    return policy::pay_after;
  if (n == "pay_per_window")
    return policy::pay_per_window;
  if (n == "prepay")
    return policy::prepay;
  return std::nullopt;
}

const char* policy_name(policy p) {
  switch (p) {
  case policy::pay_after:
    return "pay_after";
  case policy::pay_per_window:
    return "pay_per_window";
  case policy::prepay:
    return "prepay";
  }
  return "?";
}

const std::vector<std::string>& cheating_strategies() {
  static const std::vector<std::string> names = {"never_pays",   "underpays",     "fake_tx_id",
                                                 "reuses_tx_id", "double_spends", "pays_late",
                                                 "impersonates"};
  return names;
}

const std::vector<std::string>& cheating_billers() {
  static const std::vector<std::string> names = {"unsolicited_bills", "inflated_bills",
                                                 "wrong_hash_bills", "double_bills"};
  return names;
}

std::optional<biller> biller_from_name(std::string_view n) {
  if (n == "honest")
    return biller::honest;
  for (std::size_t i = 0; i < cheating_billers().size(); ++i)
    if (n == cheating_billers()[i])
      return static_cast<biller>(i + 1);
  return std::nullopt;
}

const char* biller_name(biller b) {
  auto i = static_cast<std::size_t>(b);
  return i == 0                           ? "honest"
         : i <= cheating_billers().size() ? cheating_billers()[i - 1].c_str()
                                          : "?";
}

std::optional<strategy> strategy_from_name(std::string_view n) {
  if (n == "honest")
    return strategy::honest;
  if (n == "never_pays")
    return strategy::never_pays;
  if (n == "underpays")
    return strategy::underpays;
  if (n == "fake_tx_id")
    return strategy::fake_tx_id;
  if (n == "reuses_tx_id")
    return strategy::reuses_tx_id;
  if (n == "double_spends")
    return strategy::double_spends;
  if (n == "pays_late")
    return strategy::pays_late;
  if (n == "impersonates")
    return strategy::impersonates;
  return std::nullopt;
}

const char* strategy_name(strategy s) {
  switch (s) {
  case strategy::honest:
    return "honest";
  case strategy::never_pays:
    return "never_pays";
  case strategy::underpays:
    return "underpays";
  case strategy::fake_tx_id:
    return "fake_tx_id";
  case strategy::reuses_tx_id:
    return "reuses_tx_id";
  case strategy::double_spends:
    return "double_spends";
  case strategy::pays_late:
    return "pays_late";
  case strategy::impersonates:
    return "impersonates";
  }
  return "?";
}

std::string gate_config::check() const {
  if (kind == policy::pay_per_window && window_bytes == 0)
    return "window must be positive";
  if (max_open_purchases == 0 || max_open_purchases > bounds::open_purchases_per_peer_max)
    return "max_open_purchases must be between 1 and " +
           std::to_string(bounds::open_purchases_per_peer_max);
  if (payment_deadline <= 0)
    return "payment_deadline must be positive";
  if (recheck <= 0)
    return "recheck must be positive";
  if (idle_bill_after <= 0)
    return "idle_bill_after must be positive";
  return "";
}

std::uint64_t gate_config::exposure_bound(std::uint64_t largest_file) const {
  switch (kind) {
  case policy::prepay:
    return 0;
  case policy::pay_per_window:
    return window_bytes;
  case policy::pay_after:
    return static_cast<std::uint64_t>(max_open_purchases) * largest_file;
  }
  return 0;
}

std::string verifier_config::check() const {
  if (poll_interval <= 0 || confirm_deadline <= 0 || unknown_grace <= 0 || query_timeout <= 0 ||
      request_resend <= 0)
    return "poll_interval, confirm_deadline, unknown_grace, query_timeout and request_resend must "
           "be positive";
  if (max_queries_per_poll == 0)
    return "max_queries_per_poll must be at least 1";
  return "";
}

std::string payer_config::check() const {
  if (resend_interval <= 0)
    return "resend_interval must be positive";
  if (late_delay < 0)
    return "late_delay must not be negative";
  return "";
}

std::string account_config::check() const {
  if (ledger_timeout <= 0)
    return "ledger_timeout must be positive";
  if (max_list == 0 || max_list > bounds::list_rows_max)
    return "max_list must be between 1 and " + std::to_string(bounds::list_rows_max);
  if (max_balance_asks == 0 || max_balance_asks > bounds::balance_asks_max)
    return "max_balance_asks must be between 1 and " + std::to_string(bounds::balance_asks_max);
  if (!ledger_address.empty() && !ledger)
    return "ledger_address needs ledger";
  return "";
}

std::shared_ptr<filexfer::payment_gate> make_gate(const gate_config& c) {
  return std::make_shared<gate>(c);
}

} // namespace peerlab::market
