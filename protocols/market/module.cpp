// The paid file market's module: the provider (a filexfer provider with an
// optional payment gate), the payment verifier and the payer.
#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/account.hpp"
#include "protocols/market/market.hpp"
#include "protocols/market/purchases.hpp"
#include "protocols/market/tables.hpp"

namespace peerlab::market {

namespace {

using nlohmann::json;

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

std::shared_ptr<filexfer::payment_gate> provider_gate(const json& params,
                                                      const std::string& provider_path,
                                                      std::size_t chunk_bytes,
                                                      const std::string& adversary) {
  auto* pay = cfg::member(params, "payment");
  auto cheat = biller_from_name(adversary);
  if (!pay) {
    if (cheat && *cheat != biller::honest)
      cfg::fail_msg(provider_path,
                    "adversary " + adversary + " bills: the provider needs \"payment\" (a policy)");
    return nullptr;
  }
  auto path = cfg::child(provider_path, "payment");
  cfg::require_object(*pay, path);
  cfg::only_keys(
    *pay, path,
    {"policy", "window", "max_open_purchases", "payment_deadline", "recheck", "idle_bill_after"});
  cfg::fields f(*pay, path);
  gate_config c;
  auto* pol = cfg::member(*pay, "policy");
  if (!pol)
    cfg::fail_msg(path, "needs \"policy\": pay_after, pay_per_window or prepay");
  auto kind = policy_from_name(cfg::get_string(*pol, cfg::child(path, "policy")));
  if (!kind)
    cfg::fail(cfg::child(path, "policy"), "one of pay_after, pay_per_window, prepay", *pol);
  c.kind = *kind;
  if (cheat)
    c.cheat = *cheat;
  if (auto* v = cfg::member(*pay, "window")) {
    if (c.kind != policy::pay_per_window)
      cfg::fail_msg(cfg::child(path, "window"), "only policy pay_per_window has a window");
    c.window_bytes = cfg::get_size(*v, cfg::child(path, "window"));
    if (c.window_bytes < chunk_bytes)
      cfg::fail(cfg::child(path, "window"),
                "at least the chunk size (" + std::to_string(chunk_bytes) + " B)", *v);
  }
  if (c.kind == policy::pay_per_window && c.window_bytes < chunk_bytes)
    cfg::fail_msg(path, "the default window is smaller than chunk_size; set \"window\"");
  if (auto* v = cfg::member(*pay, "max_open_purchases")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "max_open_purchases"));
    if (n > bounds::open_purchases_per_peer_max)
      cfg::fail(cfg::child(path, "max_open_purchases"),
                "at most " + std::to_string(bounds::open_purchases_per_peer_max), *v);
    c.max_open_purchases = static_cast<std::uint32_t>(n);
  }
  f.duration("payment_deadline", c.payment_deadline);
  f.duration("recheck", c.recheck);
  f.duration("idle_bill_after", c.idle_bill_after);
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, e);
  return make_gate(c);
}

std::shared_ptr<role> provider_from_json(const json& p, const std::string& path,
                                         const std::string& adversary) {
  cfg::only_keys(p, path, {"role", "chunk_size", "payment"});
  filexfer::provider_config c;
  c.chunk_bytes = filexfer::chunk_size_param(p, path);
  c.gate = provider_gate(p, path, c.chunk_bytes, adversary);
  if (auto s = filexfer::strategy_from_name(adversary))
    c.strategy = *s;
  return filexfer::make_provider(c);
}

std::shared_ptr<role> verifier_from_json(const json& p, const std::string& path,
                                         const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "ledger", "ledger_address", "poll_interval", "confirm_deadline",
                  "unknown_grace", "query_timeout", "request_resend", "max_queries_per_poll"});
  cfg::fields f(p, path);
  verifier_config c;
  c.ledger = ledger_id(p, path, "payment_verifier");
  c.ledger_address = ledger_address(p, path);
  f.duration("poll_interval", c.poll_interval);
  f.duration("confirm_deadline", c.confirm_deadline);
  f.duration("unknown_grace", c.unknown_grace);
  f.duration("query_timeout", c.query_timeout);
  f.duration("request_resend", c.request_resend);
  f.positive("max_queries_per_poll", c.max_queries_per_poll);
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role payment_verifier: " + e);
  return make_verifier(c);
}

std::shared_ptr<role> payer_from_json(const json& p, const std::string& path,
                                      const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "ledger", "ledger_address", "fee", "late_delay", "resend_interval",
                  "max_resends", "check_bills"});
  cfg::fields f(p, path);
  payer_config c;
  c.ledger = ledger_id(p, path, "payer");
  c.ledger_address = ledger_address(p, path);
  f.count("fee", c.fee);
  f.duration("late_delay", c.late_delay);
  f.duration("resend_interval", c.resend_interval);
  f.flag("check_bills", c.check_bills);
  if (auto* v = cfg::member(p, "max_resends")) {
    auto n = cfg::get_positive(*v, cfg::child(path, "max_resends"));
    if (n > 1000)
      cfg::fail(cfg::child(path, "max_resends"), "at most 1000", *v);
    c.max_resends = static_cast<std::uint32_t>(n);
  }
  if (auto s = strategy_from_name(adversary))
    c.cheat = *s;
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role payer: " + e);
  return make_payer(c);
}

std::shared_ptr<role> account_from_json(const json& p, const std::string& path,
                                        const std::string&) {
  cfg::only_keys(
    p, path,
    {"role", "ledger", "ledger_address", "ledger_timeout", "max_list", "max_balance_asks"});
  cfg::fields f(p, path);
  account_config c;
  if (auto* v = f["ledger"])
    c.ledger = cfg::get_count(*v, f.path("ledger"));
  c.ledger_address = ledger_address(p, path);
  f.duration("ledger_timeout", c.ledger_timeout);
  f.positive("max_list", c.max_list);
  f.positive("max_balance_asks", c.max_balance_asks);
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role account: " + e);
  return make_account(c);
}

// A provider misbehaves as filexfer's content adversaries or as a cheating biller.
std::vector<std::string> provider_adversaries() {
  auto names = filexfer::provider_adversaries();
  for (auto& b : cheating_billers())
    names.push_back(b);
  return names;
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "market",
    "docs/protocols/market.md",
    {{ports::payment, "payment"}, {ports::payer, "payer"}, {ports::api, "api"}},
    {
      {"provider", provider_from_json, provider_adversaries(),
       R"({"role": "provider", "payment": {"policy": "pay_after"}})"},
      {"payment_verifier", verifier_from_json, {}, R"({"role": "payment_verifier", "ledger": 1})"},
      {"payer", payer_from_json, cheating_strategies(), R"({"role": "payer", "ledger": 1})"},
      {"account", account_from_json, {}, R"({"role": "account"})"},
    },
    {&tables::payments(), &tables::inbox(), &tables::open(), &tables::used_tx(),
     &tables::blacklist(), &tables::credit(), &tables::credit_bills(), &tables::provided_files(),
     &tables::provided_paths(), &tables::purchases()},
  };
  return m;
}

} // namespace peerlab::market
