#include "sim/checkers.hpp"

#include "protocols/common/config_fields.hpp"

#include <cstdio>

namespace peerlab::sim {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double metric_value(const run_view& sim, const std::string& name, const std::string& group) {
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
    // Run-wide figures of the workload drivers.
    for (std::size_t i = 0; i < sim.driver_count(); ++i)
      for (auto& [total, value] : sim.driver(i).totals(sim.driver_api(i)))
        if (total == name)
          return value;
  }
  return s.counter(name, g);
}

verdict metric_check(const run_view& sim, const checker_spec& c) {
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

std::vector<verdict> evaluate_checkers(const run_view& sim) {
  std::vector<verdict> out;
  for (auto& c : sim.spec().checkers) {
    if (c.check == "metric")
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
