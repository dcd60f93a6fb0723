#include "sim/checkers.hpp"

#include "actors/config/json_fields.hpp"

#include <cstdio>

namespace peerlab::sim {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

verdict no_corrupt_accepted(const simulator& sim) {
  auto& d = sim.stats().downloads;
  verdict v{"no_corrupt_accepted", true, ""};
  if (d.corrupt_accepted > 0 || d.done_without_commit > 0) {
    v.passed = false;
    v.detail = std::to_string(d.corrupt_accepted) + " corrupt file(s) committed, " +
               std::to_string(d.done_without_commit) +
               " download(s) reported done without a verified file";
  } else {
    v.detail = std::to_string(d.completed) +
               " completed downloads all verified by the simulator; " +
               std::to_string(d.corrupt_detected) + " corrupt deliveries detected by downloaders";
  }
  return v;
}

verdict downloads_end(const simulator& sim, const checker_spec& c) {
  auto& d = sim.stats().downloads;
  verdict v{"downloads_end", true, ""};
  std::uint64_t stuck = 0;
  time_us first = 0;
  for (auto& [key, starts] : d.open)
    for (auto t : starts)
      if (t < sim.end_time() - c.grace) {
        if (stuck++ == 0)
          first = t;
      }
  if (stuck > 0) {
    v.passed = false;
    v.detail = std::to_string(stuck) + " download(s) never ended (the first started at " +
               cfg::format_duration(first) + ")";
  } else {
    v.detail = "every download started before the last " + cfg::format_duration(c.grace) +
               " ended (" + std::to_string(d.interrupted) +
               " interrupted by their node going down)";
  }
  return v;
}

verdict download_success(const simulator& sim, const checker_spec& c) {
  auto& d = sim.stats().downloads;
  verdict v{"download_success", true, ""};
  auto ended = d.completed + d.failed;
  double share = ended ? static_cast<double>(d.completed) / static_cast<double>(ended) : 0;
  v.passed = ended > 0 && share >= c.min;
  v.detail = std::to_string(d.completed) + " of " + std::to_string(ended) +
             " ended downloads completed (" + num(share * 100) + " %, required " +
             num(c.min * 100) + " %)";
  return v;
}

double metric_value(const simulator& sim, const std::string& name, const std::string& group) {
  int g = -1;
  for (std::uint32_t i = 0; i < sim.spec().groups.size(); ++i)
    if (sim.spec().groups[i].name == group)
      g = static_cast<int>(i);
  auto& s = sim.stats();
  // Built-in counters of the simulator itself.
  if (group.empty()) {
    if (name == "frames_delivered")
      return static_cast<double>(s.net.delivered);
    if (name == "frames_lost")
      return static_cast<double>(s.net.lost);
    if (name == "frames_truncated")
      return static_cast<double>(s.net.truncated);
    if (name == "frames_corrupted")
      return static_cast<double>(s.net.corrupted);
    if (name == "downloads_completed")
      return static_cast<double>(s.downloads.completed);
    if (name == "downloads_failed")
      return static_cast<double>(s.downloads.failed);
    if (name == "corrupt_detected")
      return static_cast<double>(s.downloads.corrupt_detected);
  }
  return s.counter(name, g);
}

verdict metric_check(const simulator& sim, const checker_spec& c) {
  double value = metric_value(sim, c.metric, c.group);
  verdict v{"metric " + c.metric + (c.group.empty() ? "" : " (" + c.group + ")"), true, ""};
  v.passed = (!c.has_min || value >= c.min) && (!c.has_max || value <= c.max);
  v.detail = "value " + num(value);
  if (c.has_min)
    v.detail += ", min " + num(c.min);
  if (c.has_max)
    v.detail += ", max " + num(c.max);
  return v;
}

} // namespace

std::vector<verdict> evaluate_checkers(const simulator& sim) {
  std::vector<verdict> out;
  for (auto& c : sim.spec().checkers) {
    if (c.check == "no_corrupt_accepted")
      out.push_back(no_corrupt_accepted(sim));
    else if (c.check == "downloads_end")
      out.push_back(downloads_end(sim, c));
    else if (c.check == "download_success")
      out.push_back(download_success(sim, c));
    else if (c.check == "metric")
      out.push_back(metric_check(sim, c));
    else
      for (std::size_t i = 0; i < sim.driver_count(); ++i) {
        verdict v{c.check, false, ""};
        if (sim.driver(i).evaluate(sim.driver_api(i), c, v)) {
          out.push_back(v);
          break;
        }
      }
  }
  return out;
}

} // namespace peerlab::sim
