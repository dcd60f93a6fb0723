// The paid HTTP proxy's module: the proxy provider and the proxy client.
#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"
#include "protocols/proxy/proxy.hpp"
#include "protocols/proxy/tables.hpp"

namespace peerlab::proxy {

namespace {

using nlohmann::json;

void ledger_of(const json& p, const std::string& path, const std::string& role, peer_id& id,
               std::string& address) {
  auto* v = cfg::member(p, "ledger");
  if (!v)
    cfg::fail_msg(path, "role " + role + " needs \"ledger\" (the node id of the ledger)");
  id = cfg::get_count(*v, cfg::child(path, "ledger"));
  cfg::fields(p, path).text("ledger_address", address);
}

void band_of(const cfg::fields& f, band& b) {
  if (auto* v = f["tolerance"])
    b.tolerance = cfg::get_probability(*v, f.path("tolerance"));
  f.size("slack", b.slack_bytes);
}

void factor(const cfg::fields& f, const char* key, double& out) {
  if (auto* v = f[key])
    out = cfg::get_number(*v, f.path(key));
}

std::shared_ptr<role> provider_from_json(const json& p, const std::string& path,
                                         const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "ledger", "ledger_address", "fee_per_kb", "address", "announce",
                  "tolerance", "slack", "credit_window", "stall_deadline", "strikes_max",
                  "max_clients", "poll_interval", "confirm_deadline", "unknown_grace",
                  "over_factor"});
  cfg::fields f(p, path);
  provider_config c;
  ledger_of(p, path, "proxy_provider", c.ledger, c.ledger_address);
  f.count("fee_per_kb", c.fee_per_kb);
  f.text("address", c.address);
  f.flag("announce", c.announce);
  band_of(f, c.tolerance);
  f.size("credit_window", c.credit_window);
  f.duration("stall_deadline", c.stall_deadline);
  f.positive("strikes_max", c.strikes_max);
  f.positive("max_clients", c.max_clients);
  f.duration("poll_interval", c.poll_interval);
  f.duration("confirm_deadline", c.confirm_deadline);
  f.duration("unknown_grace", c.unknown_grace);
  factor(f, "over_factor", c.over_factor);
  if (auto s = provider_strategy_from_name(adversary))
    c.cheat = *s;
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role proxy_provider: " + e);
  return make_provider(c);
}

std::shared_ptr<role> client_from_json(const json& p, const std::string& path,
                                       const std::string& adversary) {
  cfg::only_keys(p, path,
                 {"role", "ledger", "ledger_address", "tx_fee", "interval", "pay_every",
                  "tolerance", "slack", "probe_timeout", "response_timeout", "resend_interval",
                  "probe_max", "max_switches", "under_factor"});
  cfg::fields f(p, path);
  client_config c;
  ledger_of(p, path, "proxy_client", c.ledger, c.ledger_address);
  f.count("tx_fee", c.tx_fee);
  f.duration("interval", c.interval);
  f.size("pay_every", c.pay_every);
  band_of(f, c.tolerance);
  f.duration("probe_timeout", c.probe_timeout);
  f.duration("response_timeout", c.response_timeout);
  f.duration("resend_interval", c.resend_interval);
  f.positive("probe_max", c.probe_max);
  f.positive("max_switches", c.max_switches);
  factor(f, "under_factor", c.under_factor);
  if (auto s = client_strategy_from_name(adversary))
    c.cheat = *s;
  if (auto e = c.check(); !e.empty())
    cfg::fail_msg(path, "role proxy_client: " + e);
  return make_client(c);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "proxy",
    "docs/protocols/proxy.md",
    {{ports::proxy, "proxy"}, {ports::proxy_client, "proxy_client"}},
    {
      {"proxy_provider", provider_from_json, provider_adversaries(),
       R"({"role": "proxy_provider", "ledger": 1, "fee_per_kb": 10})"},
      {"proxy_client", client_from_json, client_adversaries(),
       R"({"role": "proxy_client", "ledger": 1})"},
    },
    {&tables::clients(), &tables::sessions(), &tables::payments(), &tables::offer()},
  };
  return m;
}

} // namespace peerlab::proxy
