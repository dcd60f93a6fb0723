#include "sim/drivers/market_report.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/checkers.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace peerlab::sim::market_sim {

namespace {

using nlohmann::json;

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double counter(const json& summary, const char* name) {
  if (!summary.contains("counters") || !summary["counters"].contains(name))
    return 0;
  return summary["counters"][name].get<double>();
}

std::string kib(double b) { return cfg::format_bytes(b); }

} // namespace

void tally::download_started(std::uint32_t g, const std::string& strategy) {
  ++groups_[g].started;
  groups_[g].strategy = strategy;
}

void tally::download_interrupted(std::uint32_t g) { ++groups_[g].interrupted; }

void tally::download_ended(std::uint32_t g, const std::string& strategy, const std::string& policy,
                           bool done, double duration_us, bool near_end,
                           const std::string& reason) {
  auto& t = groups_[g];
  t.strategy = strategy;
  if (done) {
    ++t.done;
    ++done_by_[{strategy, policy}];
    if (strategy == "honest")
      honest_duration_s_[policy].push_back(duration_us / 1e6);
    return;
  }
  if (near_end)
    ++t.failed_near_end;
  else
    ++t.failed;
  if (t.reasons.size() < 20)
    ++t.reasons[reason.substr(0, 120)];
}

void tally::honest_settled(const std::string& policy, double latency_us, double confirm_us) {
  settle_s_[policy].push_back(latency_us / 1e6);
  confirm_s_[policy].push_back(confirm_us / 1e6);
}

void tally::payment_failed(const std::string& strategy, const std::string& reason) {
  auto& m = fail_reasons_[strategy];
  // Reasons are grouped by their words: numbers and ids become '#'.
  std::string key;
  for (std::size_t i = 0; i < reason.size() && key.size() < 120;) {
    std::size_t j = i;
    while (j < reason.size() && std::isxdigit(static_cast<unsigned char>(reason[j])))
      ++j;
    bool digits =
      j > i && (j - i >= 8 ||
                std::all_of(reason.begin() + static_cast<std::ptrdiff_t>(i),
                            reason.begin() + static_cast<std::ptrdiff_t>(j),
                            [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }));
    bool word_start = i == 0 || !std::isalnum(static_cast<unsigned char>(reason[i - 1]));
    bool word_end = j == reason.size() || !std::isalnum(static_cast<unsigned char>(reason[j]));
    if (digits && word_start && word_end) {
      key += '#';
      i = j;
    } else {
      key += reason[i++];
    }
  }
  if (m.size() < 20 || m.count(key))
    ++m[key];
}

bool tally::check_honest_downloads(const checker_spec& c, verdict& v) const {
  std::uint64_t max_failures = 0;
  if (c.raw.contains("max_failures") && c.raw["max_failures"].is_number_unsigned())
    max_failures = c.raw["max_failures"].get<std::uint64_t>();
  std::uint64_t started = 0, done = 0, failed = 0, interrupted = 0;
  std::string why;
  for (auto& t : groups_) {
    if (t.strategy != "honest")
      continue;
    started += t.started;
    done += t.done;
    failed += t.failed;
    interrupted += t.interrupted;
    if (why.empty() && !t.reasons.empty())
      why = t.reasons.begin()->first;
  }
  v.passed = done > 0 && failed <= max_failures;
  v.detail = std::to_string(done) + " of " + std::to_string(started) +
             " honest downloads completed, " + std::to_string(failed) + " failed (allowed " +
             std::to_string(max_failures) + "), " + std::to_string(interrupted) +
             " interrupted by their node leaving" + (why.empty() ? "" : "; a failure: " + why);
  return true;
}

json tally::strategy_table(const sim_api& api, const account_map& pairs,
                           const std::vector<std::string>& group_strategy,
                           std::vector<std::string>& lines) const {
  // Per strategy x policy: what cheaters (and, for comparison, honest peers) got unpaid.
  struct cell {
    std::set<std::uint32_t> peers;
    std::map<std::uint32_t, std::uint64_t> unpaid_by_peer, unpaid_by_provider;
    std::uint64_t pairs = 0, blacklisted = 0, bills = 0, max_exposure = 0, bound = 0, unpaid = 0;
  };
  std::map<std::pair<std::string, std::string>, cell> cells;
  for (auto& [key, a] : pairs) {
    auto [prov, peer] = key;
    if (peer >= api.node_count())
      continue;
    auto strategy = group_strategy[api.group_of(peer)];
    auto& c = cells[{strategy, a.policy}];
    c.peers.insert(peer);
    ++c.pairs;
    c.blacklisted += a.blacklisted ? 1 : 0;
    c.bills += a.bills;
    c.max_exposure = std::max(c.max_exposure, a.max_exposure);
    c.bound = std::max(c.bound, a.bound);
    c.unpaid += a.exposure();
    c.unpaid_by_peer[peer] += a.exposure();
    c.unpaid_by_provider[prov] += a.exposure();
  }
  json strategies = json::object();
  lines.push_back(
    "market     strategy       policy             peers  files  unpaid/peer (mean, max)      "
    "unpaid/provider max  worst pair  bound/pair  blacklisted pairs");
  char buf[400];
  for (auto& [key, c] : cells) {
    auto& [strategy, policy] = key;
    std::uint64_t per_max = 0, prov_max = 0;
    for (auto& [_, b] : c.unpaid_by_peer)
      per_max = std::max(per_max, b);
    for (auto& [_, b] : c.unpaid_by_provider)
      prov_max = std::max(prov_max, b);
    double per_mean =
      c.peers.empty() ? 0 : static_cast<double>(c.unpaid) / static_cast<double>(c.peers.size());
    auto done = done_by_.count(key) ? done_by_.at(key) : 0;
    strategies[strategy][policy] = {{"peers", c.peers.size()},
                                    {"pairs", c.pairs},
                                    {"downloads_completed", done},
                                    {"unpaid_bytes", c.unpaid},
                                    {"unpaid_per_peer_mean", per_mean},
                                    {"unpaid_per_peer_max", per_max},
                                    {"unpaid_per_provider_max", prov_max},
                                    {"max_exposure_pair", c.max_exposure},
                                    {"bound_pair", c.bound},
                                    {"blacklisted_pairs", c.blacklisted},
                                    {"bills", c.bills}};
    std::snprintf(
      buf, sizeof buf,
      "           %-14s %-15s %8zu  %5llu  %12s %12s  %19s  %10s  %10s  %llu of %llu",
      strategy.c_str(), policy.c_str(), c.peers.size(), static_cast<unsigned long long>(done),
      kib(per_mean).c_str(), kib(static_cast<double>(per_max)).c_str(),
      kib(static_cast<double>(prov_max)).c_str(), kib(static_cast<double>(c.max_exposure)).c_str(),
      kib(static_cast<double>(c.bound)).c_str(), static_cast<unsigned long long>(c.blacklisted),
      static_cast<unsigned long long>(c.pairs));
    lines.push_back(buf);
  }
  return strategies;
}

json tally::honest_table(const sim_api& api, const account_map& pairs,
                         const std::vector<std::string>& group_strategy,
                         std::vector<std::string>& lines) const {
  // Honest overhead per policy: download time against free providers,
  // bill-to-verified latency, and bills per download.
  std::map<std::string, std::uint64_t> honest_bills;
  for (auto& [key, a] : pairs)
    if (key.second < api.node_count() && group_strategy[api.group_of(key.second)] == "honest")
      honest_bills[a.policy] += a.bills;
  json honest = json::object();
  double free_median = honest_duration_s_.count("free") ? median(honest_duration_s_.at("free")) : 0;
  lines.push_back(
    "market     honest downloads by provider policy: n, median s, mean s, extra median s vs free, "
    "bill->verified median s");
  char buf[400];
  for (auto& [policy, d] : honest_duration_s_) {
    double med = median(d);
    double settle = settle_s_.count(policy) ? median(settle_s_.at(policy)) : 0;
    double bills_per =
      d.empty() ? 0.0 : static_cast<double>(honest_bills[policy]) / static_cast<double>(d.size());
    honest[policy] = {
      {"downloads", d.size()},
      {"median_s", med},
      {"mean_s", mean(d)},
      {"extra_median_s_vs_free", free_median > 0 ? med - free_median : 0},
      {"settle_median_s", settle},
      {"bills_per_download", bills_per},
      {"confirm_median_s", confirm_s_.count(policy) ? median(confirm_s_.at(policy)) : 0}};
    std::snprintf(
      buf, sizeof buf,
      "           %-15s n=%-5zu median %.2f  mean %.2f  extra %+.2f  settle %.2f  bills/download "
      "%.2f",
      policy.c_str(), d.size(), med, mean(d), free_median > 0 ? med - free_median : 0.0, settle,
      bills_per);
    lines.push_back(buf);
  }
  return honest;
}

void tally::payment_overhead(const json& summary, json& out,
                             std::vector<std::string>& lines) const {
  double frames =
    counter(summary, "market.bills") + counter(summary, "market.bills_resent") +
    2 * counter(summary, "market.transfers_sent") + counter(summary, "market.notifications_sent") +
    counter(summary, "market.notifications") + counter(summary, "market.payments_verified") +
    counter(summary, "market.payments_failed") + counter(summary, "market.payments_late_paid") +
    2 * counter(summary, "market.status_queries") +
    2 * counter(summary, "market.double_spends_sent");
  double paid_downloads = 0;
  for (auto& [key, n] : done_by_)
    if (key.second != "free" && key.second != "none")
      paid_downloads += static_cast<double>(n);
  // Frames one paid bill costs an honest payer and its provider: PAYMENT_REQUEST,
  // TRANSFER + TRANSFER_OK, PAYMENT_NOTIFY, PAYMENT_STATUS received and
  // verified, plus two per ledger status query of the verifier.
  double notified = counter(summary, "market.notifications");
  double queries_per_payment =
    notified > 0 ? counter(summary, "market.status_queries") / notified : 0;
  out["status_queries_per_payment"] = queries_per_payment;
  out["frames_per_bill_honest"] = 6 + 2 * queries_per_payment;
  out["payment_frames"] = frames;
  out["payment_frames_per_paid_download"] = paid_downloads > 0 ? frames / paid_downloads : 0;
  char buf[400];
  std::snprintf(
    buf, sizeof buf,
    "market     payment protocol: %.0f frames (all peers), %.1f per completed paid download; "
    "an honest bill costs %.1f frames (%.2f ledger status queries per payment)",
    frames, paid_downloads > 0 ? frames / paid_downloads : 0.0, 6 + 2 * queries_per_payment,
    queries_per_payment);
  lines.push_back(buf);
}

json tally::report_json(const sim_api& api, const account_map& pairs,
                        const std::vector<std::string>& group_strategy, const json& summary) const {
  json out;
  std::vector<std::string> lines;
  out["strategies"] = strategy_table(api, pairs, group_strategy, lines);
  out["failure_reasons"] = fail_reasons_;
  out["honest"] = honest_table(api, pairs, group_strategy, lines);
  payment_overhead(summary, out, lines);
  out["text_lines"] = lines;
  return out;
}

} // namespace peerlab::sim::market_sim
