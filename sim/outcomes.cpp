#include "sim/outcomes.hpp"

namespace peerlab::sim {

namespace {

using nlohmann::json;

// The number at `key` of `j`, 0 if missing or not a number.
double num(const json& j, const char* key) {
  if (!j.is_object())
    return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object())
    return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

struct adder {
  std::vector<outcome>& out;
  const char* family;
  void operator()(const char* name, double v) { out.push_back({family, name, v}); }
};

void filexfer(const json& d, adder add) {
  double completed = num(d, "completed"), failed = num(d, "failed");
  add("downloads_started", num(d, "started"));
  add("downloads_completed", completed);
  add("downloads_failed", failed);
  add("downloads_interrupted", num(d, "interrupted"));
  add("download_success", ratio(completed, completed + failed));
  add("bytes_downloaded", num(d, "bytes"));
  add("download_time_median_s", num(d, "time_median_s"));
  add("download_time_p99_s", num(d, "time_p99_s"));
  add("corrupt_detected", num(d, "corrupt_detected"));
  add("corrupt_accepted", num(d, "corrupt_accepted"));
}

// The market's tallies are the run's counters; its own section holds the
// per-strategy tables.
void market(const json& m, const json& counters, adder add) {
  double unpaid = 0, cheater_pairs = 0, cheater_blacklisted = 0, honest_downloads = 0;
  for (auto& [strategy, policies] : sub(m, "strategies").items()) {
    if (strategy == "honest" || !policies.is_object())
      continue;
    for (auto& [policy, row] : policies.items()) {
      unpaid += num(row, "unpaid_bytes");
      cheater_pairs += num(row, "pairs");
      cheater_blacklisted += num(row, "blacklisted_pairs");
    }
  }
  for (auto& [policy, row] : sub(m, "honest").items())
    honest_downloads += num(row, "downloads");
  add("bills", num(counters, "market.bills"));
  add("payments_settled", num(counters, "market.payments_verified"));
  add("payments_failed", num(counters, "market.payments_failed"));
  add("bills_refused", num(counters, "market.bills_refused"));
  add("peers_blacklisted", num(counters, "market.peers_blacklisted"));
  add("cheater_pairs", cheater_pairs);
  add("cheater_pairs_caught", cheater_blacklisted);
  add("cheaters_caught_share", ratio(cheater_blacklisted, cheater_pairs));
  add("cheater_unpaid_bytes", unpaid);
  add("honest_downloads", honest_downloads);
  add("payment_frames_per_paid_download", num(m, "payment_frames_per_paid_download"));
}

void proxy(const json& p, adder add) {
  double cut = 0, pairs = 0, gain = 0;
  for (auto& [kind, row] : sub(p, "cheaters").items()) {
    cut += num(row, "cut_off");
    pairs += num(row, "pairs");
    gain += num(row, "gain");
  }
  add("requests_served", num(p, "fetches"));
  add("open_failures", num(p, "open_failures"));
  add("bytes_proxied", num(p, "bytes_proxied"));
  add("fetch_latency_p50_ms", num(p, "fetch_latency_p50_ms"));
  add("fetch_latency_p99_ms", num(p, "fetch_latency_p99_ms"));
  add("settle_frames", num(p, "settle_frames"));
  add("settle_bytes_per_mb", num(p, "settle_bytes_per_mb"));
  add("honest_false_cutoffs", num(p, "honest_false_cutoffs"));
  add("cheater_pairs", pairs);
  add("cheater_pairs_cut_off", cut);
  add("cheater_gain_bytes", gain);
}

void dht(const json& d, adder add) {
  auto& fp = sub(d, "find_providers");
  auto& fn = sub(d, "find_node");
  double ended = num(fp, "ended") + num(fn, "ended");
  double found = num(fp, "succeeded") + num(fn, "succeeded");
  add("lookups_ended", ended);
  add("lookups_found", found);
  add("lookup_success", ratio(found, ended));
  add("find_providers_success", num(fp, "success"));
  add("find_providers_findable", num(sub(d, "find_providers_provider_online"), "success"));
  add("find_providers_hops_p50", num(fp, "hops_p50"));
  add("find_providers_hops_p90", num(fp, "hops_p90"));
  add("find_providers_latency_p50_ms", num(fp, "latency_ms_p50"));
  add("find_providers_latency_p90_ms", num(fp, "latency_ms_p90"));
  add("find_node_success", num(fn, "success"));
  add("find_node_hops_p50", num(fn, "hops_p50"));
  add("find_node_latency_p50_ms", num(fn, "latency_ms_p50"));
  add("puts_done", num(sub(d, "puts"), "done"));
  add("records_stored", num(d, "records_stored"));
}

void fileset(const json& f, adder add) {
  double files = num(f, "files_published"), all = num(f, "files_reaching_all");
  add("sets_published", num(f, "sets_published"));
  add("files_published", files);
  add("files_reaching_all", all);
  add("reach_all_share", ratio(all, files));
  add("propagation_median_ms", num(f, "reach_all_median_ms"));
  add("propagation_p99_ms", num(f, "reach_all_p99_ms"));
  add("replication_median_ms", num(f, "node_delay_median_ms"));
  add("replication_p99_ms", num(f, "node_delay_p99_ms"));
  add("client_verified", num(f, "client_verified"));
  add("client_rejected", num(f, "client_rejected"));
  add("client_corrupt_accepted", num(f, "client_corrupt_accepted"));
}

void droplog(const json& d, adder add) {
  add("messages_delivered", num(d, "messages_delivered"));
  add("goodput", num(d, "goodput"));
  add("latency_mean_s", num(d, "latency_mean_s"));
  add("latency_p95_s", num(d, "latency_p95_s"));
  add("http_ok", num(d, "http_ok"));
  add("http_timeouts", num(d, "http_timeouts"));
  add("files_rejected", num(d, "files_rejected"));
  add("violations", num(d, "violations"));
}

void cdn(const json& c, adder add) {
  auto& from = sub(c, "fetches_from");
  double ended = num(c, "fetches_failed");
  for (auto& [src, n] : from.items())
    ended += n.is_number() ? n.get<double>() : 0.0;
  auto& ttfb = sub(c, "ttfb_ms");
  add("offload", num(c, "offload"));
  add("loads_done", num(c, "loads_done"));
  add("loads_failed", num(c, "loads_failed"));
  add("fetches_ended", ended);
  add("fetches_from_peer", num(from, "peer"));
  add("fetches_from_origin", num(from, "origin"));
  add("fetches_failed", num(c, "fetches_failed"));
  add("liars_evicted", num(c, "bad_byte_evictions"));
  add("evictions", num(c, "evictions"));
  add("corrupt_used", num(c, "corrupt_used"));
  add("ttfb_peer_p50_ms", num(sub(ttfb, "peer"), "p50"));
  add("ttfb_origin_p50_ms", num(sub(ttfb, "origin"), "p50"));
}

bool has(const json& s, const char* key) {
  return s.is_object() && s.contains(key) && s[key].is_object();
}

} // namespace

std::vector<outcome> key_outcomes(const json& summary) {
  std::vector<outcome> out;
  if (has(summary, "downloads"))
    filexfer(summary["downloads"], {out, "filexfer"});
  if (has(summary, "market"))
    market(summary["market"], sub(summary, "counters"), {out, "market"});
  if (has(summary, "proxy"))
    proxy(summary["proxy"], {out, "proxy"});
  if (has(summary, "dht"))
    dht(summary["dht"], {out, "dht"});
  if (has(summary, "fileset"))
    fileset(summary["fileset"], {out, "fileset"});
  if (has(summary, "droplog"))
    droplog(summary["droplog"], {out, "droplog"});
  if (has(summary, "cdn"))
    cdn(summary["cdn"], {out, "cdn"});
  return out;
}

} // namespace peerlab::sim
