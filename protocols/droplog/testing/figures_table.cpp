#include "protocols/droplog/testing/figures_table.hpp"

#include "protocols/common/link_rules.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace peerlab::droplog::testing {

namespace {

constexpr peer_id side_a = 0x0a0a, side_b = 0x0b0b;

double median(std::vector<std::size_t> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[v.size() / 2]);
}

} // namespace

const std::vector<std::string>& figure_designs() {
  static const std::vector<std::string> d = {"coded", "adaptive", "fixed5s"};
  return d;
}

session_config design_config(const std::string& design, peer_id local, peer_id remote) {
  auto c = small_config(local, remote);
  if (design == "coded") {
    c.erasure_coding = true;
  } else if (design == "fixed5s") {
    c.timeouts = timeout_mode::fixed;
    c.fixed_timeout = 5 * us_per_s;
    c.adaptive_packet_size = false;
    c.nack_repeat = 5;
    c.adaptive_repeat = false;
  } else if (design != "adaptive") {
    throw std::invalid_argument("unknown design \"" + design + "\"");
  }
  return c;
}

channel_params figure_channel(const std::string& channel, double rate, double reference_bytes) {
  channel_params ch;
  ch.bitrot_per_byte = 1e-4;
  if (channel == "uniform") {
    ch.truncate = rate;
  } else if (channel == "size") {
    if (rate > 0)
      ch.truncate_scale = link::scale_for(rate, reference_bytes);
  } else {
    throw std::invalid_argument("unknown channel \"" + channel + "\"");
  }
  return ch;
}

figure_row run_figure(const std::string& design, const std::string& channel, double rate,
                      double reference_bytes, std::size_t messages, std::uint64_t seed) {
  auto ca = design_config(design, side_a, side_b), cb = design_config(design, side_b, side_a);
  ca.batch_delay = cb.batch_delay = 200 * us_per_ms;
  workload w;
  w.messages = messages;
  channel_run run(ca, cb, figure_channel(channel, rate, reference_bytes), w, seed);
  const bool finished = run.run(24 * 3600 * us_per_s);

  figure_row r;
  r.design = design;
  r.channel = channel;
  r.truncate = rate;
  r.goodput = run.goodput();
  auto lat = run.latencies();
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    double sum = 0;
    for (auto l : lat)
      sum += static_cast<double>(l) / us_per_s;
    r.latency_mean_s = sum / static_cast<double>(lat.size());
    r.latency_p95_s = static_cast<double>(lat[lat.size() * 95 / 100]) / us_per_s;
  }
  r.finish_s = static_cast<double>(run.now()) / us_per_s;
  r.files = run.files();
  r.truncated = run.files_truncated();
  r.retransmitted =
    run.side(0).stats().entries_retransmitted + run.side(1).stats().entries_retransmitted;
  r.complete = finished && run.violations() == 0;
  if (run.violations() > 0)
    r.first_problem = run.first_violation();
  else if (!finished)
    r.first_problem = "unfinished after 24 h: delivered " + std::to_string(run.delivered(0)) +
                      " and " + std::to_string(run.delivered(1)) + " of " +
                      std::to_string(messages);
  return r;
}

double reference_file_bytes(std::uint64_t seed) {
  // Always the full workload: with a few messages the median file would be
  // an ack-only file, and the size channel would cut every data file.
  auto ca = design_config("adaptive", side_a, side_b),
       cb = design_config("adaptive", side_b, side_a);
  ca.batch_delay = cb.batch_delay = 200 * us_per_ms;
  channel_run run(ca, cb, figure_channel("uniform", 0, 0), workload{}, seed);
  run.run(24 * 3600 * us_per_s);
  return median(run.file_sizes());
}

bool figure_table::complete() const {
  return std::all_of(rows.begin(), rows.end(), [](const figure_row& r) { return r.complete; });
}

figure_table run_figure_table(std::uint64_t seed, std::size_t messages) {
  figure_table t;
  t.seed = seed;
  t.messages = messages;
  t.reference_bytes = reference_file_bytes(seed);
  for (double rate : figure_rates())
    for (const char* channel : {"uniform", "size"})
      for (auto& d : figure_designs())
        t.rows.push_back(run_figure(d, channel, rate, t.reference_bytes, messages, seed));
  return t;
}

std::string markdown(const figure_table& t) {
  std::string out = "| design | channel | truncate | goodput | latency mean s | latency p95 s | "
                    "finish s | files | retransmitted entries |\n"
                    "|---|---|---|---|---|---|---|---|---|\n";
  char line[256];
  for (auto& r : t.rows) {
    std::snprintf(line, sizeof line,
                  "| %s | %s | %.2f | %.3f | %.2f | %.2f | %.1f | %llu | %llu |\n",
                  r.design.c_str(), r.channel.c_str(), r.truncate, r.goodput, r.latency_mean_s,
                  r.latency_p95_s, r.finish_s, static_cast<unsigned long long>(r.files),
                  static_cast<unsigned long long>(r.retransmitted));
    out += line;
  }
  return out;
}

std::string replace_between(const std::string& doc, const std::string& begin,
                            const std::string& end, const std::string& table) {
  auto b = doc.find(begin);
  if (b == std::string::npos)
    throw std::invalid_argument("no line \"" + begin + "\"");
  auto body = doc.find('\n', b);
  if (body == std::string::npos)
    throw std::invalid_argument("nothing after \"" + begin + "\"");
  ++body;
  auto e = doc.find(end, body);
  if (e == std::string::npos)
    throw std::invalid_argument("no line \"" + end + "\" after \"" + begin + "\"");
  return doc.substr(0, body) + table + doc.substr(e);
}

} // namespace peerlab::droplog::testing
