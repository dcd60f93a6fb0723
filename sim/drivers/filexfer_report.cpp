#include "sim/drivers/filexfer_report.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/checkers.hpp"

#include <cstdio>

namespace peerlab::sim::filexfer_sim {

namespace c = peerlab::cfg;
using nlohmann::json;

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

void no_corrupt_accepted(const download_outcomes& d, verdict& v) {
  if (d.corrupt_accepted > 0 || d.done_without_commit > 0) {
    v.passed = false;
    v.detail = std::to_string(d.corrupt_accepted) + " corrupt file(s) committed, " +
               std::to_string(d.done_without_commit) +
               " download(s) reported done without a verified file";
  } else {
    v.passed = true;
    v.detail = std::to_string(d.completed) +
               " completed downloads all verified by the simulator; " +
               std::to_string(d.corrupt_detected) + " corrupt deliveries detected by downloaders";
  }
}

void downloads_end(const download_outcomes& d, time_us end, const checker_spec& c, verdict& v) {
  std::uint64_t stuck = 0;
  time_us first = 0;
  for (auto& [key, starts] : d.open)
    for (auto t : starts)
      if (t < end - c.grace && stuck++ == 0)
        first = t;
  v.passed = stuck == 0;
  if (stuck > 0)
    v.detail = std::to_string(stuck) + " download(s) never ended (the first started at " +
               c::format_duration(first) + ")";
  else
    v.detail = "every download started before the last " + c::format_duration(c.grace) +
               " ended (" + std::to_string(d.interrupted) +
               " interrupted by their node going down)";
}

void download_success(const download_outcomes& d, const checker_spec& c, verdict& v) {
  auto ended = d.completed + d.failed;
  double share = ended ? static_cast<double>(d.completed) / static_cast<double>(ended) : 0;
  v.passed = ended > 0 && share >= c.min;
  v.detail = std::to_string(d.completed) + " of " + std::to_string(ended) +
             " ended downloads completed (" + num(share * 100) + " %, required " +
             num(c.min * 100) + " %)";
}

std::vector<std::string> text_lines(const download_outcomes& d) {
  std::vector<std::string> out;
  if (d.started == 0 && d.failed == 0)
    return out;
  char buf[512];
  std::snprintf(
    buf, sizeof buf,
    "downloads  %llu started, %llu completed, %llu failed, %llu interrupted by churn "
    "(%llu resumed)",
    static_cast<unsigned long long>(d.started), static_cast<unsigned long long>(d.completed),
    static_cast<unsigned long long>(d.failed), static_cast<unsigned long long>(d.interrupted),
    static_cast<unsigned long long>(d.resumed));
  out.emplace_back(buf);
  std::snprintf(buf, sizeof buf, "           %s received; time median %.2f s, p99 %.2f s",
                c::format_bytes(static_cast<double>(d.bytes)).c_str(),
                d.duration_us.quantile(0.5) / 1e6, d.duration_us.quantile(0.99) / 1e6);
  out.emplace_back(buf);
  std::snprintf(buf, sizeof buf,
                "           corrupt deliveries detected %llu, corrupt files accepted %llu",
                static_cast<unsigned long long>(d.corrupt_detected),
                static_cast<unsigned long long>(d.corrupt_accepted));
  out.emplace_back(buf);
  for (auto& [reason, n] : d.failure_reasons)
    out.push_back("           failed: " + reason + " x" + std::to_string(n));
  return out;
}

} // namespace

const std::vector<std::string>& checker_names() {
  static const std::vector<std::string> names = {"no_corrupt_accepted", "downloads_end",
                                                 "download_success"};
  return names;
}

void parse_checker(checker_spec& cs, const std::string& p) {
  const json& j = cs.raw;
  if (cs.check == "no_corrupt_accepted") {
    c::only_keys(j, p, {"check"});
  } else if (cs.check == "downloads_end") {
    c::only_keys(j, p, {"check", "grace"});
    if (auto* g = c::member(j, "grace"))
      cs.grace = c::get_duration(*g, c::child(p, "grace"));
  } else if (cs.check == "download_success") {
    c::only_keys(j, p, {"check", "min"});
    auto* m = c::member(j, "min");
    if (!m)
      c::fail_msg(p, "download_success needs \"min\" (a share between 0 and 1)");
    cs.min = c::get_probability(*m, c::child(p, "min"));
    cs.has_min = true;
  }
}

bool evaluate(const download_outcomes& d, time_us end, const checker_spec& c, verdict& v) {
  v.check = c.check;
  if (c.check == "no_corrupt_accepted")
    no_corrupt_accepted(d, v);
  else if (c.check == "downloads_end")
    downloads_end(d, end, c, v);
  else if (c.check == "download_success")
    download_success(d, c, v);
  else
    return false;
  return true;
}

json summary(const download_outcomes& d) {
  return {{"started", d.started},
          {"completed", d.completed},
          {"failed", d.failed},
          {"interrupted", d.interrupted},
          {"resumed", d.resumed},
          {"bytes", d.bytes},
          {"time_median_s", d.duration_us.quantile(0.5) / 1e6},
          {"time_p99_s", d.duration_us.quantile(0.99) / 1e6},
          {"corrupt_detected", d.corrupt_detected},
          {"corrupt_accepted", d.corrupt_accepted},
          {"failure_reasons", d.failure_reasons},
          {"text_lines", text_lines(d)}};
}

} // namespace peerlab::sim::filexfer_sim
