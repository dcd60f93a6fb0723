#include "sim/drivers/proxy_driver.hpp"

#include "protocols/registry.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/proxy/client.hpp"
#include "protocols/proxy/provider.hpp"
#include "sim/distribution.hpp"
#include "sim/drivers/proxy_report.hpp"

#include <algorithm>
#include <charconv>

namespace peerlab::sim::proxy_sim {

namespace {

using nlohmann::json;

params parse(const json& item, const std::string& path, const scenario& s) {
  cfg::only_keys(item, path,
                 {"kind", "ledger", "boot", "fund", "providers", "clients", "fee_per_kb", "open",
                  "stop", "close", "request", "response", "think"});
  params p;
  auto group = [&](const json& v, const std::string& at) {
    auto name = cfg::get_string(v, at);
    auto* g = s.find_group(name);
    if (!g)
      cfg::fail(at, "the name of a group", v);
    return name;
  };
  auto groups = [&](const char* k, std::vector<std::string>& out) {
    auto& v = cfg::required(item, path, k, "a list of group names");
    cfg::require_array(v, cfg::child(path, k));
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(group(v[i], cfg::index(cfg::child(path, k), i)));
    if (out.empty())
      cfg::fail_msg(cfg::child(path, k), "needs at least one group");
  };
  p.ledger = group(cfg::required(item, path, "ledger", "the group of the ledger node"),
                   cfg::child(path, "ledger"));
  if (s.find_group(p.ledger)->count != 1)
    cfg::fail_msg(cfg::child(path, "ledger"), "must be a group of exactly one node");
  p.boot = group(cfg::required(item, path, "boot", "the group whose first node seeds the DHT"),
                 cfg::child(path, "boot"));
  groups("providers", p.providers);
  groups("clients", p.clients);
  cfg::fields f(item, path);
  f.positive("fund", p.fund);
  if (auto* v = f["fee_per_kb"]) {
    cfg::require_object(*v, f.path("fee_per_kb"));
    cfg::only_keys(*v, f.path("fee_per_kb"), {"min", "max"});
    cfg::fields fee(*v, f.path("fee_per_kb"));
    fee.positive("min", p.fee_min);
    fee.positive("max", p.fee_max);
    if (p.fee_max < p.fee_min)
      cfg::fail_msg(f.path("fee_per_kb"), "max must not be below min");
  }
  f.duration("open", p.open);
  f.duration("stop", p.stop);
  f.duration("close", p.close);
  if (!(p.open < p.stop && p.stop <= p.close && p.close < s.duration))
    cfg::fail_msg(path, "need open < stop <= close < the scenario's duration");
  if (auto* v = f["request"])
    p.request = parse_size_dist(*v, f.path("request"));
  if (auto* v = f["response"])
    p.response = parse_size_dist(*v, f.path("response"));
  if (auto* v = f["think"])
    p.think = parse_duration_dist(*v, f.path("think"));
  return p;
}

enum tick_kind : std::uint64_t { fund = 1, join = 2, provide = 3, open = 4, fetch = 5, close = 6 };

std::uint64_t arg(tick_kind k) { return static_cast<std::uint64_t>(k); }

// The node a peer-id field names (its peer id is its index in the
// simulator, not on the live testbed); node_count() if none.
std::uint64_t node_of_field(const sim_api& api, const std::string* s) {
  auto n = s ? api.node_of_peer(*s) : std::nullopt;
  return n ? *n : api.node_count();
}

class driver final : public workload_driver {
public:
  driver(params p, const scenario& s) : p_(std::move(p)), rep_(p_, s) {}

  void start(sim_api& api) override {
    rep_.bind(api);
    ledger_ = api.group_nodes(p_.ledger).first;
    boot_ = api.group_nodes(p_.boot).first;
    api.schedule(0, ledger_, arg(fund));
    for (auto& g : p_.providers)
      for (auto [a, b] = api.group_nodes(g); a < b; ++a) {
        api.schedule(1 * us_per_s, a, arg(join));
        api.schedule(5 * us_per_s, a, arg(provide));
      }
    for (auto& g : p_.clients)
      for (auto [a, b] = api.group_nodes(g); a < b; ++a) {
        api.schedule(1 * us_per_s, a, arg(join));
        api.schedule(p_.open, a, arg(open));
        api.schedule(p_.close, a, arg(close));
      }
  }

  void tick(sim_api& api, std::uint32_t node, std::uint64_t a) override {
    if (!api.online(node) && api.now() < p_.close) // not started yet (start_spread) or down
      return api.schedule(api.now() + us_per_s, node, a);
    switch (static_cast<tick_kind>(a)) {
    case fund:
      for (auto& g : p_.clients)
        for (auto [c, e] = api.group_nodes(g); c < e; ++c)
          api.issue_command(node, "ledger", "fund", {api.peer_arg(c), std::to_string(p_.fund)});
      return;
    case join:
      if (node != boot_)
        api.issue_command(node, "kad", "bootstrap", {api.peer_arg(boot_)});
      return;
    case provide: {
      // A provider whose parameters name a fee keeps it; the others draw one.
      auto fee = p_.fee_min + api.workload_rng().below(p_.fee_max - p_.fee_min + 1);
      // The provider's config from its group's own role parameters (the
      // running role may be in another process: the live testbed).
      auto& g = api.spec().groups[api.group_of(node)];
      for (auto& r : make_roles(g.roles, "groups." + g.name + ".roles", g.adversary))
        if (auto* p = dynamic_cast<const proxy::provider*>(r.get())) {
          rep_.provider_config(node, p->config());
          if (p->config().fee_per_kb > 0)
            fee = p->config().fee_per_kb;
        }
      api.issue_command(node, "proxy_provider", "provide_proxy", {"start", std::to_string(fee)});
      return;
    }
    case open:
      if (api.now() >= p_.stop || state_[node].session || state_[node].open_cmd != 0)
        return;
      if (auto* c = dynamic_cast<const proxy::client*>(api.role_of(node, "proxy_client")))
        if (c->opening()) // switching providers by itself
          return;
      state_[node].open_cmd = api.issue_command(node, "proxy_client", "proxy_open", {"best"});
      return;
    case fetch:
      return next_fetch(api, node);
    case close:
      if (state_[node].session)
        api.issue_command(node, "proxy_client", "proxy_close", {});
      return;
    }
  }

  void next_fetch(sim_api& api, std::uint32_t node) {
    auto& st = state_[node];
    st.fetch_pending = false;
    if (api.now() >= p_.stop || !st.session || st.fetch_cmd != 0)
      return;
    auto& r = api.workload_rng();
    auto req = std::clamp<double>(p_.request.sample(r), 1, proxy::bounds::data_payload_max);
    auto resp = std::clamp<double>(p_.response.sample(r), 0, proxy::bounds::response_bytes_max);
    st.fetch_cmd = api.issue_command(node, "proxy_client", "proxy_fetch",
                                     {std::to_string(static_cast<std::uint64_t>(req)),
                                      std::to_string(static_cast<std::uint64_t>(resp))});
    if (st.fetch_cmd == 0)
      think(api, node);
  }

  void think(sim_api& api, std::uint32_t node) {
    auto& st = state_[node];
    if (st.fetch_pending || api.now() >= p_.stop)
      return;
    st.fetch_pending = true;
    auto t = std::max<double>(0, p_.think.sample(api.workload_rng()));
    api.schedule(api.now() + static_cast<time_us>(t), node, arg(fetch));
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override {
    auto& st = state_[node];
    const auto& k = e.kind;
    if (k == "proxy_opened") {
      st.session = true;
      st.open_cmd = 0;
      return think(api, node);
    }
    if (k == "proxy_fetched" || k == "proxy_fetch_failed" ||
        (k == "command_failed" && e.command_id != 0 && e.command_id == st.fetch_cmd)) {
      if (e.command_id != st.fetch_cmd)
        return;
      st.fetch_cmd = 0;
      if (k == "proxy_fetched")
        rep_.fetched(e.value("latency_us"));
      return think(api, node);
    }
    if ((k == "command_failed" && e.command_id != 0 && e.command_id == st.open_cmd) ||
        k == "proxy_open_failed") {
      st.open_cmd = 0;
      st.session = false;
      rep_.open_failed();
      return api.schedule(api.now() + 10 * us_per_s, node, arg(open));
    }
    if (k == "proxy_session_ended") {
      st.session = false;
      rep_.session_ended(node, node_of_field(api, e.field("provider")), e, api.now());
      // A session opened with "best" switches by itself; one the role gave
      // up on (or resumed after a restart, which forgets "best") is opened
      // again later. tick(open) skips it if a session came back meanwhile.
      if (auto r = e.field("reason"); !r || *r != "client_closed")
        api.schedule(api.now() + 10 * us_per_s, node, arg(open));
      return;
    }
    if (k == "proxy_cut_off")
      rep_.cut_off(node, node_of_field(api, e.field("peer")), e);
  }

  void on_node_down(sim_api& api, std::uint32_t node, bool) override {
    rep_.node_down(node, api.now());
    // The role's requests and session die with it; a restarted client
    // resumes its session from ProxySessions (proxy_opened) or opens one.
    auto& st = state_[node];
    st = node_state{};
  }

  void on_node_up(sim_api& api, std::uint32_t node) override {
    if (is_client(api, node))
      api.schedule(api.now() + 5 * us_per_s, node, arg(open));
  }

  bool evaluate(const sim_api& api, const checker_spec& c, verdict& v) const override {
    return rep_.evaluate(api, c, v);
  }
  void summarize(const sim_api& api, json& summary) const override {
    auto f = rep_.figures(api);
    // The roles' own settlement tallies start again at a restart; the run's
    // counters (the same increments) hold the whole run.
    auto& c = summary["counters"];
    if (c.is_object() && c.contains("proxy.settle_frames") && c.contains("proxy.settle_bytes")) {
      f["settle_frames"] = c["proxy.settle_frames"].get<double>();
      f["settle_bytes"] = c["proxy.settle_bytes"].get<double>();
      double mb = f["bytes_proxied"].get<double>() / 1e6;
      f["settle_frames_per_mb"] = mb > 0 ? f["settle_frames"].get<double>() / mb : 0.0;
      f["settle_bytes_per_mb"] = mb > 0 ? f["settle_bytes"].get<double>() / mb : 0.0;
    }
    summary["proxy"] = f;
  }

private:
  bool is_client(const sim_api& api, std::uint32_t node) const {
    for (auto& g : p_.clients)
      if (auto [a, b] = api.group_nodes(g); node >= a && node < b)
        return true;
    return false;
  }
  struct node_state {
    bool session = false, fetch_pending = false;
    std::uint64_t open_cmd = 0, fetch_cmd = 0;
  };
  params p_;
  report rep_;
  std::uint32_t ledger_ = 0, boot_ = 0;
  std::map<std::uint32_t, node_state> state_;
};

} // namespace

driver_kind proxy_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& s) {
    parse(item, path, s);
  };
  k.make = [](const json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse(item, "workload", s), s);
  };
  k.checkers = {"proxy_honest_settle", "proxy_no_false_cutoffs", "proxy_cheaters_cut_off",
                "proxy_gain_bound"};
  return k;
}

} // namespace peerlab::sim::proxy_sim
