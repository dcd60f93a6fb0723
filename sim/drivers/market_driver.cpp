#include "sim/drivers/market_driver.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"
#include "sim/checkers.hpp"
#include "sim/drivers/market_audit.hpp"
#include "sim/drivers/market_report.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace peerlab::sim::market_sim {

namespace {

using nlohmann::json;

struct params {
  std::string ledger_group;
  std::uint64_t fund = 100'000'000;
  time_us grace = 60 * us_per_s;
};

params parse(const json& item, const std::string& path, const scenario& s) {
  cfg::only_keys(item, path, {"kind", "ledger", "fund", "grace"});
  params p;
  auto* l = cfg::member(item, "ledger");
  if (!l)
    cfg::fail_msg(path, "market workload needs \"ledger\" (the group of the ledger node)");
  p.ledger_group = cfg::get_string(*l, cfg::child(path, "ledger"));
  auto* g = s.find_group(p.ledger_group);
  if (!g)
    cfg::fail(cfg::child(path, "ledger"), "the name of a group", *l);
  if (g->count != 1)
    cfg::fail(cfg::child(path, "ledger"), "a group of exactly one node", *l);
  if (auto* v = cfg::member(item, "fund"))
    p.fund = cfg::get_positive(*v, cfg::child(path, "fund"));
  if (auto* v = cfg::member(item, "grace"))
    p.grace = cfg::get_duration(*v, cfg::child(path, "grace"));
  return p;
}

// The roles of a group as (name, parameters).
std::vector<std::pair<std::string, json>> roles_of(const group_spec& g) {
  std::vector<std::pair<std::string, json>> out;
  for (auto& r : g.roles) {
    if (r.is_string())
      out.push_back({r.get<std::string>(), json::object()});
    else if (r.is_object() && r.contains("role") && r["role"].is_string())
      out.push_back({r["role"].get<std::string>(), r});
  }
  return out;
}

std::uint64_t parse_u64(const std::string* s) {
  std::uint64_t v = 0;
  if (s)
    std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

std::uint64_t parse_u64_text(const std::string& s) { return parse_u64(&s); }

// The node a peer-id field names; node_count() (no node) if none.
std::uint32_t node_field(const sim_api& api, const std::string* s) {
  auto n = s ? api.node_of_peer(*s) : std::nullopt;
  return n ? *n : static_cast<std::uint32_t>(api.node_count());
}

class driver final : public workload_driver {
public:
  driver(params p, const scenario& s) : p_(std::move(p)), rep_(s) {
    for (auto& g : s.groups) {
      std::string strategy = "honest";
      for (auto& c : market::cheating_strategies())
        if (c == g.adversary)
          strategy = c;
      std::string policy;
      bool payer = false;
      for (auto& [name, params] : roles_of(g)) {
        if (name == "payer")
          payer = true;
        if (name == "provider")
          policy = params.contains("payment") && params["payment"].contains("policy")
                     ? params["payment"]["policy"].get<std::string>()
                     : "free";
        if (name == "ledger" && params.contains("supply") && params["supply"].is_number_unsigned())
          supply_ = params["supply"].get<std::uint64_t>();
      }
      group_strategy_.push_back(strategy);
      group_policy_.push_back(policy);
      group_payer_.push_back(payer);
    }
    replay_[ledger::treasury] = static_cast<__int128>(supply_);
  }

  void start(sim_api& api) override {
    ledger_node_ = api.group_nodes(p_.ledger_group).first;
    api.schedule(0, ledger_node_, 1);
  }

  void tick(sim_api& api, std::uint32_t node, std::uint64_t) override {
    if (!api.online(node)) { // the ledger is not up yet
      api.schedule(api.now() + us_per_s, node, 1);
      return;
    }
    for (std::uint32_t n = 0; n < api.node_count(); ++n)
      if (group_payer_[api.group_of(n)])
        api.issue_command(node, "ledger", "fund", {api.peer_arg(n), std::to_string(p_.fund)});
  }

  void on_node_down(sim_api& api, std::uint32_t node, bool) override {
    for (auto it = open_.lower_bound({node, ""}); it != open_.end() && it->first.first == node;) {
      rep_.download_interrupted(api.group_of(node));
      it = open_.erase(it);
    }
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override {
    auto g = api.group_of(node);
    const auto& k = e.kind;
    if (k == "download_started") {
      open_[{node, e.field("hash") ? *e.field("hash") : ""}] = api.now();
      rep_.download_started(g, group_strategy_[g]);
    } else if (k == "download_done" || k == "download_failed") {
      auto key = std::make_pair(node, e.field("hash") ? *e.field("hash") : std::string());
      open_.erase(key);
      std::string policy = "none";
      if (auto* pr = e.field("provider"); pr && k == "download_done") {
        auto prov = node_field(api, pr);
        if (prov < api.node_count())
          policy = group_policy_[api.group_of(prov)];
      }
      rep_.download_ended(g, group_strategy_[g], policy, k == "download_done",
                          e.value("duration_us"), api.now() >= api.end_time() - p_.grace,
                          e.field("reason") ? *e.field("reason") : "");
    } else if (k == "market_served") {
      auto peer = node_field(api, e.field("peer"));
      auto& a = pair(node, peer, g);
      a.billable += static_cast<std::uint64_t>(e.value("bytes"));
      a.bound = std::max<std::uint64_t>(a.bound, static_cast<std::uint64_t>(e.value("bound")));
      a.max_exposure = std::max(a.max_exposure, a.exposure());
    } else if (k == "payment_verified" || k == "payment_late_paid") {
      auto peer = node_field(api, e.field("peer"));
      pair(node, peer, g).paid += static_cast<std::uint64_t>(e.value("bytes"));
      if (peer < api.node_count() && group_strategy_[api.group_of(peer)] == "honest" &&
          k == "payment_verified")
        rep_.honest_settled(group_policy_[g], e.value("latency_us"), e.value("confirm_us"));
    } else if (k == "payment_failed") {
      auto peer = node_field(api, e.field("peer"));
      auto& a = pair(node, peer, g);
      ++a.failed;
      if (peer < api.node_count())
        rep_.payment_failed(group_strategy_[api.group_of(peer)],
                            e.field("reason") ? *e.field("reason") : "");
    } else if (k == "peer_blacklisted" || k == "peer_cleared") { // cleared: it paid late
      pair(node, node_field(api, e.field("peer")), g).blacklisted = k == "peer_blacklisted";
    } else if (k == "payment_requested") {
      ++pair(node, node_field(api, e.field("peer")), g).bills;
    } else if (k == "payment_sent" && group_strategy_[g] == "honest") {
      auto prov = node_field(api, e.field("provider"));
      sent_[{node, e.field("ref") ? *e.field("ref") : ""}] = {api.now(), prov};
    } else if (k == "payment_recognised") {
      recognised_.insert({node, e.field("ref") ? *e.field("ref") : ""});
    } else if (k == "ledger_funded") {
      transfer(ledger::treasury, parse_u64(e.field("account")),
               static_cast<std::uint64_t>(e.value("amount")), 0);
    } else if (k == "purchase_ordered") {
      // The books are kept by account (peer id): the payer's is its peer id.
      audit_.ordered(parse_u64_text(api.peer_arg(node)), parse_u64(e.field("provider")),
                     e.field("hash") ? *e.field("hash") : "",
                     e.field("download") ? *e.field("download") : "",
                     static_cast<std::uint64_t>(e.value("price")));
    } else if (k == "ledger_tx_included") {
      auto from = parse_u64(e.field("from"));
      audit_.paid(from, parse_u64(e.field("to")), static_cast<std::uint64_t>(e.value("amount")));
      if (!spent_.insert({from, parse_u64(e.field("nonce"))}).second)
        violations_.push_back("nonce " + *e.field("nonce") + " of account " + *e.field("from") +
                              " spent twice");
      transfer(from, parse_u64(e.field("to")), static_cast<std::uint64_t>(e.value("amount")),
               static_cast<std::uint64_t>(e.value("fee")));
      ++txs_;
    } else if (k == "ledger_block") {
      ++blocks_;
      if (auto* inv = e.field("invariants"); inv && *inv != "ok")
        violations_.push_back(
          "block " + std::to_string(static_cast<std::uint64_t>(e.value("height"))) + ": " + *inv);
    }
  }

  bool evaluate(const sim_api& api, const checker_spec& c, verdict& v) const override {
    if (c.check == "market_honest_downloads")
      return rep_.check_honest_downloads(c, v);
    if (c.check == "market_payments_recognised") {
      std::uint64_t total = 0, missing = 0;
      std::string example;
      for (auto& [key, info] : sent_) {
        if (info.first > api.end_time() - p_.grace || !api.online(key.first) ||
            !api.online(info.second))
          continue;
        ++total;
        if (!recognised_.count(key)) {
          ++missing;
          if (example.empty())
            example = "node " + std::to_string(key.first) + " ref " + key.second.substr(0, 16);
        }
      }
      v.passed = missing == 0 && total > 0;
      v.detail = std::to_string(total - missing) + " of " + std::to_string(total) +
                 " honest payments recognised" +
                 (example.empty() ? "" : "; first missing: " + example) +
                 (total == 0 ? " (no honest payment to check)" : "");
      return true;
    }
    if (c.check == "market_payers_not_overcharged") {
      // Honest payers only: the cheating ones choose what they pay.
      auto r = audit_.check([&](std::uint64_t account) {
        auto n = api.node_of_peer(std::to_string(account));
        if (!n)
          return false;
        auto g = api.group_of(*n);
        return group_payer_[g] && group_strategy_[g] == "honest";
      });
      v.passed = r.passed;
      v.detail = r.detail;
      return true;
    }
    if (c.check == "market_exposure_bound") {
      std::uint64_t worst_over = 0, checked = 0;
      std::string where;
      for (auto& [key, a] : pairs_) {
        ++checked;
        if (a.max_exposure > a.bound && a.max_exposure - a.bound > worst_over) {
          worst_over = a.max_exposure - a.bound;
          where = "provider " + std::to_string(key.first) + " peer " + std::to_string(key.second) +
                  ": " + std::to_string(a.max_exposure) + " B unpaid, bound " +
                  std::to_string(a.bound) + " B";
        }
      }
      v.passed = worst_over == 0 && checked > 0;
      v.detail = worst_over == 0
                   ? std::to_string(checked) + " provider-peer pairs within their policy's bound"
                   : "over the bound: " + where;
      return true;
    }
    if (c.check == "ledger_conservation") {
      std::vector<std::string> bad = violations_;
      __int128 total = 0;
      for (auto& [acct, b] : replay_) {
        if (b < 0 && bad.size() < 5)
          bad.push_back("account " + std::to_string(acct) + " below zero");
        total += b;
      }
      if (total != static_cast<__int128>(supply_))
        bad.push_back("balances do not sum to the supply");
      v.passed = bad.empty() && blocks_ > 0;
      v.detail =
        bad.empty()
          ? std::to_string(txs_) + " transactions in " + std::to_string(blocks_) +
              " blocks: no nonce spent twice, no negative balance, supply conserved"
          : bad.front() + (bad.size() > 1 ? " (+" + std::to_string(bad.size() - 1) + " more)" : "");
      if (blocks_ == 0)
        v.detail = "no block was made";
      return true;
    }
    return false;
  }

  void summarize(const sim_api& api, json& summary) const override {
    summary["market"] = rep_.report_json(api, pairs_, group_strategy_, summary);
  }

private:
  pair_account& pair(std::uint32_t provider, std::uint32_t peer, std::uint32_t provider_group) {
    auto& a = pairs_[{provider, peer}];
    a.policy = group_policy_[provider_group];
    return a;
  }
  void transfer(std::uint64_t from, std::uint64_t to, std::uint64_t amount, std::uint64_t fee) {
    replay_[from] -= static_cast<__int128>(amount) + fee;
    replay_[to] += amount;
    replay_[ledger::fee_sink] += fee;
    if (replay_[from] < 0 && violations_.size() < 5)
      violations_.push_back("account " + std::to_string(from) + " spent more than it had");
  }

  params p_;
  tally rep_;
  payer_audit audit_;
  std::uint64_t supply_ = ledger::config{}.supply;
  std::uint32_t ledger_node_ = 0;
  std::vector<std::string> group_strategy_, group_policy_;
  std::vector<bool> group_payer_;
  std::map<std::pair<std::uint32_t, std::string>, time_us> open_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, pair_account> pairs_;
  std::map<std::pair<std::uint32_t, std::string>, std::pair<time_us, std::uint32_t>>
    sent_; // -> (time, provider)
  std::set<std::pair<std::uint32_t, std::string>> recognised_;
  std::map<std::uint64_t, __int128> replay_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> spent_;
  std::vector<std::string> violations_;
  std::uint64_t blocks_ = 0, txs_ = 0;
};

} // namespace

driver_kind market_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& s) {
    parse(item, path, s);
  };
  k.make = [](const json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse(item, "workload", s), s);
  };
  k.checkers = {"market_honest_downloads", "market_payments_recognised", "market_exposure_bound",
                "ledger_conservation", "market_payers_not_overcharged"};
  return k;
}

} // namespace peerlab::sim::market_sim
