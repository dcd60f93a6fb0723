#include "actors/market_roles.hpp"

#include "actors/config/json_fields.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"

#include <limits>

namespace peerlab::market_roles {

namespace {

using nlohmann::json;

void no_adversary(const std::string& role, const std::string& path, const std::string& adversary) {
  // A payer strategy on a node that also runs this role leaves this role honest.
  for (auto& s : market::cheating_strategies())
    if (s == adversary)
      return;
  if (!adversary.empty())
    cfg::fail_msg(path, "role " + role + " does not know adversary \"" + adversary + "\"");
}

peer_id ledger_id(const json& p, const std::string& path, const std::string& role) {
  auto* v = cfg::member(p, "ledger");
  if (!v)
    cfg::fail_msg(path, "role " + role + " needs \"ledger\" (the node id of the ledger)");
  return cfg::get_count(*v, cfg::child(path, "ledger"));
}

std::string ledger_address(const json& p, const std::string& path) {
  auto* v = cfg::member(p, "ledger_address");
  return v ? cfg::get_string(*v, cfg::child(path, "ledger_address")) : std::string();
}

} // namespace

std::shared_ptr<role> ledger_role(const json& p, const std::string& path,
                                  const std::string& adversary) {
  cfg::only_keys(
    p, path,
    {"role", "block_interval", "confirmations", "supply", "max_block_txs", "replace_by_fee"});
  no_adversary("ledger", path, adversary);
  ledger::config c;
  if (auto* v = cfg::member(p, "block_interval"))
    c.block_interval = cfg::get_duration(*v, cfg::child(path, "block_interval"));
  if (auto* v = cfg::member(p, "confirmations")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "confirmations"));
    if (n > 1000)
      cfg::fail(cfg::child(path, "confirmations"), "at most 1000", *v);
    c.confirmations = static_cast<std::uint32_t>(n);
  }
  if (auto* v = cfg::member(p, "supply"))
    c.supply = cfg::get_positive(*v, cfg::child(path, "supply"));
  if (auto* v = cfg::member(p, "max_block_txs"))
    c.max_block_txs = cfg::get_positive(*v, cfg::child(path, "max_block_txs"));
  if (auto* v = cfg::member(p, "replace_by_fee"))
    c.replace_by_fee = cfg::get_bool(*v, cfg::child(path, "replace_by_fee"));
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role ledger: " + e);
  return ledger::make_ledger(c);
}

std::shared_ptr<role> verifier_role(const json& p, const std::string& path,
                                    const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "ledger", "ledger_address", "poll_interval", "confirm_deadline",
                  "unknown_grace", "query_timeout", "request_resend", "max_queries_per_poll"});
  no_adversary("payment_verifier", path, adversary);
  market::verifier_config c;
  c.ledger = ledger_id(p, path, "payment_verifier");
  c.ledger_address = ledger_address(p, path);
  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(p, k))
      f = cfg::get_duration(*v, cfg::child(path, k));
  };
  duration("poll_interval", c.poll_interval);
  duration("confirm_deadline", c.confirm_deadline);
  duration("unknown_grace", c.unknown_grace);
  duration("query_timeout", c.query_timeout);
  duration("request_resend", c.request_resend);
  if (auto* v = cfg::member(p, "max_queries_per_poll"))
    c.max_queries_per_poll = cfg::get_positive(*v, cfg::child(path, "max_queries_per_poll"));
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role payment_verifier: " + e);
  return market::make_verifier(c);
}

std::shared_ptr<role> payer_role(const json& p, const std::string& path,
                                 const std::string& adversary) {
  cfg::only_keys(
    p, path,
    {"role", "ledger", "ledger_address", "fee", "late_delay", "resend_interval", "max_resends"});
  market::payer_config c;
  c.ledger = ledger_id(p, path, "payer");
  c.ledger_address = ledger_address(p, path);
  if (auto* v = cfg::member(p, "fee"))
    c.fee = cfg::get_count(*v, cfg::child(path, "fee"));
  if (auto* v = cfg::member(p, "late_delay"))
    c.late_delay = cfg::get_duration(*v, cfg::child(path, "late_delay"));
  if (auto* v = cfg::member(p, "resend_interval"))
    c.resend_interval = cfg::get_duration(*v, cfg::child(path, "resend_interval"));
  if (auto* v = cfg::member(p, "max_resends")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "max_resends"));
    if (n > 1000)
      cfg::fail(cfg::child(path, "max_resends"), "at most 1000", *v);
    c.max_resends = static_cast<std::uint32_t>(n);
  }
  if (!adversary.empty()) {
    auto s = market::strategy_from_name(adversary);
    // Adversaries of other roles (e.g. a provider's corrupt_content) leave the payer honest.
    if (s)
      c.cheat = *s;
  }
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role payer: " + e);
  return market::make_payer(c);
}

std::shared_ptr<role> account_role(const json& p, const std::string& path,
                                   const std::string& adversary) {
  cfg::only_keys(
    p, path,
    {"role", "ledger", "ledger_address", "ledger_timeout", "max_list", "max_balance_asks"});
  no_adversary("account", path, adversary);
  market::account_config c;
  if (auto* v = cfg::member(p, "ledger"))
    c.ledger = cfg::get_count(*v, cfg::child(path, "ledger"));
  c.ledger_address = ledger_address(p, path);
  if (auto* v = cfg::member(p, "ledger_timeout"))
    c.ledger_timeout = cfg::get_duration(*v, cfg::child(path, "ledger_timeout"));
  if (auto* v = cfg::member(p, "max_list"))
    c.max_list = cfg::get_positive(*v, cfg::child(path, "max_list"));
  if (auto* v = cfg::member(p, "max_balance_asks"))
    c.max_balance_asks = cfg::get_positive(*v, cfg::child(path, "max_balance_asks"));
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role account: " + e);
  return market::make_account(c);
}

std::shared_ptr<filexfer::payment_gate>
provider_gate(const json& params, const std::string& provider_path, std::size_t chunk_bytes) {
  auto* pay = cfg::member(params, "payment");
  if (!pay)
    return nullptr;
  auto path = cfg::child(provider_path, "payment");
  cfg::require_object(*pay, path);
  cfg::only_keys(
    *pay, path,
    {"policy", "window", "max_open_purchases", "payment_deadline", "recheck", "idle_bill_after"});
  market::gate_config c;
  auto* pol = cfg::member(*pay, "policy");
  if (!pol)
    cfg::fail_msg(path, "needs \"policy\": pay_after, pay_per_window or prepay");
  auto kind = market::policy_from_name(cfg::get_string(*pol, cfg::child(path, "policy")));
  if (!kind)
    cfg::fail(cfg::child(path, "policy"), "one of pay_after, pay_per_window, prepay", *pol);
  c.kind = *kind;
  if (auto* v = cfg::member(*pay, "window")) {
    if (c.kind != market::policy::pay_per_window)
      cfg::fail_msg(cfg::child(path, "window"), "only policy pay_per_window has a window");
    c.window_bytes = cfg::get_size(*v, cfg::child(path, "window"));
    if (c.window_bytes < chunk_bytes)
      cfg::fail(cfg::child(path, "window"),
                "at least the chunk size (" + std::to_string(chunk_bytes) + " B)", *v);
  }
  if (c.kind == market::policy::pay_per_window && c.window_bytes < chunk_bytes)
    cfg::fail_msg(path, "the default window is smaller than chunk_size; set \"window\"");
  if (auto* v = cfg::member(*pay, "max_open_purchases")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "max_open_purchases"));
    if (n > market::bounds::open_purchases_per_peer_max)
      cfg::fail(cfg::child(path, "max_open_purchases"),
                "at most " + std::to_string(market::bounds::open_purchases_per_peer_max), *v);
    c.max_open_purchases = static_cast<std::uint32_t>(n);
  }
  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(*pay, k))
      f = cfg::get_duration(*v, cfg::child(path, k));
  };
  duration("payment_deadline", c.payment_deadline);
  duration("recheck", c.recheck);
  duration("idle_bill_after", c.idle_bill_after);
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, e);
  return market::make_gate(c);
}

const std::vector<std::string>& payer_adversaries() { return market::cheating_strategies(); }

} // namespace peerlab::market_roles
