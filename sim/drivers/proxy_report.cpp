#include "sim/drivers/proxy_report.hpp"

#include "protocols/proxy/client.hpp"
#include "protocols/proxy/provider.hpp"
#include "sim/checkers.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace peerlab::sim::proxy_sim {

namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

bool is(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

report::report(const params& p, const scenario& s) : p_(p) {
  for (auto& g : s.groups)
    group_adversary_.push_back(g.adversary.empty() ? "honest" : g.adversary);
}

void report::bind(const sim_api& api) {
  for (std::uint32_t n = 0; n < api.node_count(); ++n)
    group_of_node_.push_back(api.group_of(n));
}

std::string report::strategy_of(std::uint32_t node, bool provider_side) const {
  if (node >= group_of_node_.size())
    return "honest";
  const auto& a = group_adversary_[group_of_node_[node]];
  auto names = provider_side ? proxy::provider_adversaries() : proxy::client_adversaries();
  return is(names, a) ? a : "honest";
}

void report::session_ended(std::uint32_t client, std::uint64_t provider, const event& e,
                           time_us at) {
  auto r = e.field("reason");
  ended_[{client, provider}].push_back(ended{static_cast<std::uint64_t>(e.value("bytes")),
                                             static_cast<std::uint64_t>(e.value("sent")),
                                             r ? *r : std::string(), at});
}

bool report::provider_went_down(std::uint32_t provider, time_us at) const {
  auto it = downs_.find(provider);
  if (it == downs_.end())
    return false;
  for (auto t : it->second)
    if (t <= at && at - t <= churn_window)
      return true;
  return false;
}

bool report::falsely_cut(const pair_view& p) {
  std::size_t bad = 0;
  for (auto& r : p.client_end_reasons)
    bad += r != "client_closed";
  return p.status == "terminated" || bad > p.churn_ends;
}

void report::cut_off(std::uint32_t provider, std::uint64_t client, const event& e) {
  auto r = e.field("reason");
  cuts_[{provider, client}] = r ? *r : std::string();
}

std::vector<report::pair_view> report::pairs(const sim_api& api) const {
  std::map<std::pair<std::uint32_t, std::uint32_t>, pair_view> out;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> rows;
  for (auto& g : p_.providers)
    for (auto [n, e] = api.group_nodes(g); n < e; ++n) {
      // From the rows, which a provider that is down at the end keeps too.
      auto cfg = configs_.find(n);
      if (cfg == configs_.end())
        continue; // never provided
      for (auto& [id, c] : proxy::provider::load_clients(api.store_of(n))) {
        auto known = api.node_of_peer(std::to_string(c.peer)); // rows name peers by id
        if (!known)
          continue;
        auto client = *known;
        auto& v = out[{n, client}];
        ++rows[{n, client}];
        v.provider = n;
        v.client = client;
        v.fee_per_kb = c.fee_per_kb;
        v.provider_bytes += c.used();
        v.confirmed += c.confirmed;
        v.unconfirmed += c.unconfirmed;
        if (v.status.empty() || c.status == "terminated" ||
            (c.status == "active" && v.status == "closed"))
          v.status = c.status;
        v.bound +=
          static_cast<double>(proxy::fee_of(cfg->second.client_gain_bound_bytes(), c.fee_per_kb));
      }
    }
  std::vector<pair_view> list;
  for (auto& [key, v] : out) {
    v.provider_strategy = strategy_of(v.provider, true);
    v.client_strategy = strategy_of(v.client, false);
    if (auto it = ended_.find({v.client, v.provider}); it != ended_.end())
      for (auto& s : it->second) {
        v.client_bytes += s.bytes;
        v.client_sent += s.sent;
        v.client_end_reasons.push_back(s.reason);
        v.churn_ends += s.reason == "service_failed" && provider_went_down(v.provider, s.at);
      }
    auto* cl = dynamic_cast<const proxy::client*>(api.role_of(v.client, "proxy_client"));
    proxy::band tol;
    if (cl) {
      tol = cl->config().tolerance;
      auto& s = cl->current();
      if (s && s->provider == v.provider && (s->status == "active" || s->status == "closing")) {
        v.client_bytes += s->used();
        v.client_sent += s->sent();
        v.client_open = true;
      }
    }
    if (v.client_strategy != "honest" && v.provider_strategy == "honest") {
      auto due = static_cast<double>(proxy::fee_of(v.provider_bytes, v.fee_per_kb));
      v.gain = std::max(0.0, due - static_cast<double>(v.confirmed));
    } else if (v.provider_strategy != "honest" && v.client_strategy == "honest") {
      auto fair = proxy::fee_of(v.client_bytes, v.fee_per_kb);
      v.gain =
        std::max(0.0, static_cast<double>(v.confirmed + v.unconfirmed) - static_cast<double>(fair));
      v.bound = static_cast<double>(
        proxy::fee_of(v.client_bytes + tol.margin(v.client_bytes), v.fee_per_kb) - fair + 1);
    }
    list.push_back(std::move(v));
  }
  return list;
}

bool report::evaluate(const sim_api& api, const checker_spec& c, verdict& v) const {
  auto all = pairs(api);
  std::size_t n = 0, bad = 0;
  std::string first;
  auto fail = [&](const pair_view& p, const std::string& why) {
    if (bad++ == 0)
      first = "provider " + std::to_string(p.provider) + " (" + p.provider_strategy +
              ") / client " + std::to_string(p.client) + " (" + p.client_strategy + "): " + why;
  };
  auto honest = [](const pair_view& p) {
    return p.provider_strategy == "honest" && p.client_strategy == "honest";
  };
  auto ended_badly = [](const pair_view& p) {
    for (auto& r : p.client_end_reasons)
      if (r != "client_closed")
        return true;
    return false;
  };
  if (c.check == "proxy_honest_settle") {
    std::size_t churned = 0;
    for (auto& p : all) {
      if (!honest(p))
        continue;
      ++n;
      auto due = proxy::fee_of(p.provider_bytes, p.fee_per_kb);
      const auto paid = p.confirmed + p.unconfirmed;
      if (downs_.count(p.provider) || downs_.count(p.client)) {
        // Churn interrupted the pair: what one side counted may never have
        // reached the other, and a session left behind a crash is not
        // settled. The client never pays more than the provider's count; the
        // provider loses at most what its credit window lets any client owe.
        ++churned;
        if (paid > due + 1)
          fail(p, "paid " + std::to_string(paid) + " for a fee of " + std::to_string(due));
        else if (static_cast<double>(due - std::min(due, paid)) > p.bound)
          fail(p, "paid " + std::to_string(paid) + " for a fee of " + std::to_string(due) +
                    ", more unpaid than the credit bound " +
                    std::to_string(static_cast<std::uint64_t>(p.bound)));
        continue;
      }
      if (p.status != "closed" || p.client_open)
        fail(p, "not closed (" + p.status + ")");
      else if (p.provider_bytes != p.client_bytes)
        fail(p, "counted " + std::to_string(p.provider_bytes) + " B against the client's " +
                  std::to_string(p.client_bytes) + " B");
      else if (p.unconfirmed != 0 ||
               (p.confirmed > due ? p.confirmed - due : due - p.confirmed) > 1)
        fail(p, "paid " + std::to_string(p.confirmed) + " (+" + std::to_string(p.unconfirmed) +
                  " unconfirmed) for a fee of " + std::to_string(due));
    }
    v.passed = n > 0 && bad == 0;
    v.detail = std::to_string(n - bad) + " of " + std::to_string(n) + " honest pairs settled " +
               (churned ? "(exactly, or for the " + std::to_string(churned) +
                            " that churn interrupted within the credit bound)"
                        : "exactly") +
               (first.empty() ? "" : "; first: " + first);
    return true;
  }
  if (c.check == "proxy_no_false_cutoffs") {
    std::uint64_t churned = 0;
    for (auto& p : all)
      if (honest(p)) {
        ++n;
        if (falsely_cut(p)) {
          auto cut = cuts_.find({p.provider, p.client});
          fail(p, p.status != "terminated" ? std::string("the client left it")
                  : cut != cuts_.end()     ? "cut off: " + cut->second
                                           : std::string("cut off (terminated)"));
        }
        churned += p.churn_ends;
      }
    v.passed = bad == 0;
    v.detail =
      std::to_string(bad) + " false cut-offs among " + std::to_string(n) + " honest pairs" +
      (churned ? " (" + std::to_string(churned) + " sessions left a provider that went down)"
               : "") +
      (first.empty() ? "" : "; first: " + first);
    return true;
  }
  if (c.check == "proxy_cheaters_cut_off") {
    std::set<std::string> seen;
    std::size_t interrupted = 0;
    for (auto& p : all) {
      if (p.client_strategy != "honest" && p.provider_strategy == "honest" && p.provider_bytes) {
        ++n;
        if (p.status != "terminated" && !p.client_open && p.gain <= p.bound) {
          // The cheater left (or churn parted them) before the credit window
          // ran out: the provider cannot tell it from an honest client whose
          // last settlement failed, and its loss stays within the bound.
          ++interrupted;
          continue;
        }
        seen.insert(p.client_strategy);
        if (p.status != "terminated")
          fail(p, "not cut off (" + p.status + ")");
      } else if (p.provider_strategy != "honest" && p.client_strategy == "honest" &&
                 p.confirmed > 0) {
        ++n;
        seen.insert(p.provider_strategy);
        if (!ended_badly(p) || p.client_open)
          fail(p, "the client did not leave it");
      }
    }
    std::set<std::string> want;
    for (auto& g : p_.clients)
      if (auto s = strategy_of(api.group_nodes(g).first, false); s != "honest")
        want.insert(s);
    for (auto& g : p_.providers)
      if (auto s = strategy_of(api.group_nodes(g).first, true); s != "honest")
        want.insert(s);
    std::string missing;
    for (auto& w : want)
      if (!seen.count(w))
        missing += " " + w;
    v.passed = bad == 0 && missing.empty();
    v.detail =
      std::to_string(n - bad - interrupted) + " of " + std::to_string(n) +
      " cheating pairs cut off" +
      (interrupted ? " (" + std::to_string(interrupted) + " left owing within the credit window)"
                   : "") +
      (missing.empty() ? "" : "; never got to cheat:" + missing) +
      (first.empty() ? "" : "; first: " + first);
    return true;
  }
  if (c.check == "proxy_gain_bound") {
    for (auto& p : all)
      if (!honest(p) && p.gain > 0) {
        ++n;
        if (p.gain > p.bound)
          fail(p,
               "gained " + std::to_string(p.gain) + " over its bound " + std::to_string(p.bound));
      }
    v.passed = bad == 0;
    v.detail = std::to_string(n - bad) + " of " + std::to_string(n) +
               " cheaters that gained stayed under their bound" +
               (first.empty() ? "" : "; first: " + first);
    return true;
  }
  return false;
}

nlohmann::json report::figures(const sim_api& api) const {
  auto all = pairs(api);
  std::uint64_t frames = 0, bytes = 0, proxied = 0;
  for (auto* groups : {&p_.providers, &p_.clients})
    for (auto& g : *groups)
      for (auto [n, e] = api.group_nodes(g); n < e; ++n) {
        if (auto* r = dynamic_cast<const proxy::provider*>(api.role_of(n, "proxy_provider"))) {
          frames += r->settle_frames();
          bytes += r->settle_bytes();
        }
        if (auto* r = dynamic_cast<const proxy::client*>(api.role_of(n, "proxy_client"))) {
          frames += r->settle_frames();
          bytes += r->settle_bytes();
        }
      }
  nlohmann::json cheaters = nlohmann::json::object();
  std::uint64_t honest_pairs = 0, false_cuts = 0, churn_ends = 0;
  for (auto& p : all) {
    proxied += p.provider_bytes;
    bool honest = p.provider_strategy == "honest" && p.client_strategy == "honest";
    if (honest) {
      ++honest_pairs;
      false_cuts += falsely_cut(p);
      churn_ends += p.churn_ends;
      continue;
    }
    auto who = p.client_strategy != "honest" ? p.client_strategy : p.provider_strategy;
    auto& c = cheaters[who];
    if (c.is_null())
      c = {
        {"pairs", 0}, {"cut_off", 0}, {"gain", 0.0}, {"bound", 0.0}, {"max_gain_over_bound", 0.0}};
    c["pairs"] = c["pairs"].get<int>() + 1;
    bool cut = p.status == "terminated";
    for (auto& r : p.client_end_reasons)
      cut = cut || r == "out_of_tolerance" || r == "service_failed";
    c["cut_off"] = c["cut_off"].get<int>() + (cut ? 1 : 0);
    c["gain"] = c["gain"].get<double>() + p.gain;
    c["bound"] = c["bound"].get<double>() + p.bound;
    if (p.bound > 0)
      c["max_gain_over_bound"] = std::max(c["max_gain_over_bound"].get<double>(), p.gain / p.bound);
  }
  double mb = static_cast<double>(proxied) / 1e6;
  return {{"bytes_proxied", proxied},
          {"settle_frames", frames},
          {"settle_bytes", bytes},
          {"settle_frames_per_mb", mb > 0 ? static_cast<double>(frames) / mb : 0.0},
          {"settle_bytes_per_mb", mb > 0 ? static_cast<double>(bytes) / mb : 0.0},
          {"fetches", latencies_.size()},
          {"fetch_latency_p50_ms", quantile(latencies_, 0.5) / 1e3},
          {"fetch_latency_p99_ms", quantile(latencies_, 0.99) / 1e3},
          {"open_failures", open_failures_},
          {"honest_pairs", honest_pairs},
          {"honest_false_cutoffs", false_cuts},
          {"honest_churn_ends", churn_ends},
          {"cheaters", cheaters}};
}

} // namespace peerlab::sim::proxy_sim
