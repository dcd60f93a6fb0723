#include "sim/scenario_bounds.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"
#include "sim/sim_time.hpp"

#include <cmath>

#include <cstdio>

namespace peerlab::sim {

namespace c = peerlab::cfg;

void check_rate(const nlohmann::json& v, double bytes_per_s, const std::string& path) {
  bool unlimited = v.is_string() && v.get<std::string>() == "unlimited";
  if (unlimited)
    return;
  if (bytes_per_s == 0)
    c::fail(path, "a rate above zero, or \"unlimited\" for no limit", v);
  if (bytes_per_s < limits::rate_bytes_per_s_min)
    c::fail(path, "a rate of at least 1kbit/s (125 B/s), or \"unlimited\"", v);
}

void check_duration(const nlohmann::json& v, time_us duration, const std::string& path) {
  if (duration > limits::scenario_us_max)
    c::fail(path, "a duration of at most 365000d (1000 years)", v);
}

void check_churn_progress(const churn_spec& cs, const std::string& path) {
  if (!cs.restart)
    return;
  double cycle = cs.session.mean() + cs.downtime.mean();
  if (cycle < static_cast<double>(us_per_ms))
    c::fail_msg(path, "session and downtime average " + c::format_duration(delay_us(cycle)) +
                        " together: nodes would leave and restart without virtual time "
                        "passing; make their means add up to at least 1ms");
}

void check_metric_rows(const scenario& s) {
  auto samples = static_cast<double>(s.duration / s.metrics_interval) + 1;
  double per_sample = static_cast<double>(s.groups.size() + 4);
  double rows = samples * per_sample;
  if (rows <= static_cast<double>(limits::metric_rows_max))
    return;
  // The smallest interval that fits, rounded up to whole seconds.
  double need_us = static_cast<double>(s.duration) * per_sample /
                   static_cast<double>(limits::metric_rows_max - s.groups.size() - 4);
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "a sample every %s for %s gives at least %.3g metric rows (%zu per sample); "
                "at most %zu are kept: use an interval of at least %.0fs",
                c::format_duration(s.metrics_interval).c_str(),
                c::format_duration(s.duration).c_str(), rows, s.groups.size() + 4,
                limits::metric_rows_max, std::ceil(need_us / 1e6));
  c::fail_msg("metrics.interval", buf);
}

} // namespace peerlab::sim
