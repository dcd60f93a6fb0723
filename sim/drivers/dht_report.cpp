// The DHT driver's checkers and its part of the run summary.
#include "protocols/common/config_fields.hpp"
#include "sim/checkers.hpp"
#include "sim/drivers/dht_driver.hpp"

#include <algorithm>
#include <cstdio>

namespace peerlab::sim::dht {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

/// Nearest-rank quantile over the values of several sample sets.
double quantile(std::vector<const samples*> sets, double q) {
  std::vector<double> all;
  for (auto* s : sets)
    all.insert(all.end(), s->values().begin(), s->values().end());
  if (all.empty())
    return 0;
  std::sort(all.begin(), all.end());
  auto rank =
    std::min(all.size() - 1, static_cast<std::size_t>(q * static_cast<double>(all.size())));
  return all[rank];
}

nlohmann::json describe(const lookup_stats& s) {
  return {{"issued", s.issued},
          {"ended", s.ended},
          {"succeeded", s.succeeded},
          {"success", share(s.succeeded, s.ended)},
          {"interrupted", s.interrupted},
          {"skipped_offline", s.skipped_offline},
          {"rejected", s.rejected},
          {"hops_p50", s.hops.quantile(0.5)},
          {"hops_p90", s.hops.quantile(0.9)},
          {"hops_max", s.hops.quantile(1.0)},
          {"messages_p50", s.messages.quantile(0.5)},
          {"messages_p90", s.messages.quantile(0.9)},
          {"latency_ms_p50", s.latency_ms.quantile(0.5)},
          {"latency_ms_p90", s.latency_ms.quantile(0.9)},
          {"latency_ms_p99", s.latency_ms.quantile(0.99)}};
}

} // namespace

const lookup_stats& driver::stats_for(const std::string& verb) const {
  return verb == "find_node" ? nodes_ : providers_;
}

bool driver::evaluate(const sim_api& api, const checker_spec& c, verdict& v) const {
  auto& names = checker_names();
  if (std::find(names.begin(), names.end(), c.check) == names.end())
    return false;
  auto* verb_field = cfg::member(c.raw, "verb");
  std::string verb = verb_field && verb_field->is_string() ? verb_field->get<std::string>() : "";
  auto min = [&] {
    return cfg::member(c.raw, "min") ? cfg::member(c.raw, "min")->get<double>() : 0.0;
  };
  v.check = c.check;
  if (c.check == "dht_lookups_end") {
    time_us grace = 2 * 60 * us_per_s;
    if (auto* g = cfg::member(c.raw, "grace"))
      grace = cfg::get_duration(*g, "grace");
    std::uint64_t stuck = 0;
    time_us first = 0;
    for (auto& [id, ol] : open_)
      if (ol.started < api.end_time() - grace && stuck++ == 0)
        first = ol.started;
    std::uint64_t ended = providers_.ended + nodes_.ended + download_lookups_.ended;
    std::uint64_t interrupted =
      providers_.interrupted + nodes_.interrupted + download_lookups_.interrupted;
    v.passed = stuck == 0;
    v.detail = stuck ? std::to_string(stuck) + " lookup(s) never ended (the first started at " +
                         cfg::format_duration(first) + ")"
                     : std::to_string(ended) + " lookups ended, " + std::to_string(interrupted) +
                         " interrupted by their node going down, " + std::to_string(open_.size()) +
                         " still running in the last " + cfg::format_duration(grace);
  } else if (c.check == "dht_findable") {
    double s = share(online_.succeeded, online_.ended);
    v.passed = online_.ended > 0 && s >= min();
    v.detail =
      std::to_string(online_.succeeded) + " of " + std::to_string(online_.ended) +
      " find_providers lookups for records whose provider stayed online found a provider (" +
      num(s * 100) + " %, required " + num(min() * 100) + " %)";
  } else if (c.check == "dht_lookup_success") {
    std::uint64_t ok = 0, ended = 0;
    for (auto* s : {&providers_, &nodes_})
      if (verb.empty() || s == &stats_for(verb)) {
        ok += s->succeeded;
        ended += s->ended;
      }
    double s = share(ok, ended);
    v.passed = ended > 0 && s >= min();
    v.detail = std::to_string(ok) + " of " + std::to_string(ended) + " " +
               (verb.empty() ? std::string("lookups") : verb) + " succeeded (" + num(s * 100) +
               " %, required " + num(min() * 100) + " %)";
  } else if (c.check == "dht_hops" || c.check == "dht_latency") {
    // A quantile over the lookups that ended (of the verb, else both), failed
    // ones too: a slow failure is slow. Hops against a number, latency a duration.
    bool hops = c.check == "dht_hops";
    auto* qf = cfg::member(c.raw, "quantile");
    double q = qf ? qf->get<double>() : hops ? 0.9 : 0.5;
    std::vector<const samples*> sets;
    std::uint64_t n = 0;
    for (auto* s : {&providers_, &nodes_})
      if (verb.empty() || s == &stats_for(verb)) {
        sets.push_back(hops ? &s->hops : &s->latency_ms);
        n += sets.back()->count();
      }
    double value = quantile(sets, q);
    std::string what = " at quantile " + num(q) + " of " + std::to_string(n) + " " +
                       (verb.empty() ? std::string("lookups") : verb) + ": ";
    if (hops) {
      double max = cfg::member(c.raw, "max")->get<double>();
      v.passed = n > 0 && value <= max;
      v.detail = "hops" + what + num(value) + " (max " + num(max) + ")";
    } else {
      time_us max = cfg::get_duration(*cfg::member(c.raw, "max"), "max");
      v.passed = n > 0 && value * us_per_ms <= static_cast<double>(max);
      v.detail = "latency" + what + num(value) + " ms (max " + cfg::format_duration(max) + ")";
    }
  } else if (c.check == "dht_replication") {
    double lowest = 0;
    for (std::size_t i = 0; i < replication_.size(); ++i)
      lowest = i == 0 ? replication_[i].mean : std::min(lowest, replication_[i].mean);
    v.passed = !replication_.empty() && lowest >= min();
    v.detail = replication_.empty()
                 ? std::string("no replication sample was taken (no record stored?)")
                 : "lowest mean holders among the k closest online nodes over " +
                     std::to_string(replication_.size()) + " samples: " + num(lowest) + " (min " +
                     num(min()) + ")";
  }
  return true;
}

void driver::summarize(const sim_api&, nlohmann::json& summary) const {
  nlohmann::json repl = nlohmann::json::array();
  for (auto& s : replication_)
    repl.push_back({{"t_s", static_cast<double>(s.t) / 1e6},
                    {"records", s.records},
                    {"mean", s.mean},
                    {"min", s.min},
                    {"max", s.max}});
  auto& d = summary["dht"];
  d["find_providers"] = describe(providers_);
  d["find_providers_provider_online"] = describe(online_);
  d["find_node"] = describe(nodes_);
  d["download_lookups"] = describe(download_lookups_);
  d["puts"] = {{"done", puts_done_}, {"failed", puts_failed_}};
  d["bootstraps"] = bootstraps_;
  d["records"] = records_.size();
  d["records_stored"] = announced_records_.size();
  d["downloads"] = {{"issued", downloads_issued_}, {"without_providers", downloads_no_providers_}};
  d["open_lookups_at_end"] = open_.size();
  d["replication"] = repl;

  // Printed by the run summary (sim/summary.cpp "text_lines").
  nlohmann::json lines = nlohmann::json::array();
  char buf[320];
  auto line = [&](const char* what, const lookup_stats& s) {
    if (s.issued == 0 && s.ended == 0)
      return;
    std::snprintf(
      buf, sizeof buf,
      "dht        %-22s %llu/%llu found (%.2f %%), %llu interrupted; hops p50 %.0f p90 %.0f; "
      "latency p50 %.0f ms p90 %.0f ms",
      what, static_cast<unsigned long long>(s.succeeded), static_cast<unsigned long long>(s.ended),
      share(s.succeeded, s.ended) * 100, static_cast<unsigned long long>(s.interrupted),
      s.hops.quantile(0.5), s.hops.quantile(0.9), s.latency_ms.quantile(0.5),
      s.latency_ms.quantile(0.9));
    lines.push_back(buf);
  };
  line("find_providers", providers_);
  line("  provider online", online_);
  line("find_node", nodes_);
  line("download lookups", download_lookups_);
  std::snprintf(
    buf, sizeof buf, "dht        %llu puts done, %llu failed; %zu of %zu records stored",
    static_cast<unsigned long long>(puts_done_), static_cast<unsigned long long>(puts_failed_),
    announced_records_.size(), records_.size());
  lines.push_back(buf);
  if (!replication_.empty()) {
    double lowest = replication_.front().mean;
    for (auto& r : replication_)
      lowest = std::min(lowest, r.mean);
    std::snprintf(
      buf, sizeof buf,
      "dht        replication: holders among the k closest online nodes, mean %.2f at the end "
      "(lowest %.2f) over %zu samples",
      replication_.back().mean, lowest, replication_.size());
    lines.push_back(buf);
  }
  d["text_lines"] = lines;
}

} // namespace peerlab::sim::dht
