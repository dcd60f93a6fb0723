#include "sim/scenario_sections.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/workload_driver.hpp"

namespace peerlab::sim::sections {

namespace c = peerlab::cfg;

namespace {

/// The driver kind that owns checker `name`, or nullptr.
const driver_kind* owner_of(const std::string& name) {
  for (auto& [kind, dk] : driver_kinds())
    for (auto& owned : dk.checkers)
      if (owned == name)
        return &dk;
  return nullptr;
}

void parse_metric_check(checker_spec& cs, const json& cj, const std::string& p, const scenario& s) {
  c::only_keys(cj, p, {"check", "min", "max", "metric", "group"});
  if (auto* m = c::member(cj, "min")) {
    cs.min = c::get_number(*m, c::child(p, "min"));
    cs.has_min = true;
  }
  if (auto* m = c::member(cj, "max")) {
    cs.max = c::get_number(*m, c::child(p, "max"));
    cs.has_max = true;
  }
  if (auto* m = c::member(cj, "metric"))
    cs.metric = c::get_string(*m, c::child(p, "metric"));
  if (auto* g = c::member(cj, "group"))
    cs.group = group_ref(*g, c::child(p, "group"), s);
  if (cs.metric.empty() || (!cs.has_min && !cs.has_max))
    c::fail_msg(p, "a metric check needs \"metric\" and \"min\" and/or \"max\"");
}

checker_spec parse_checker(const json& cj, const std::string& p, const scenario& s) {
  c::require_object(cj, p);
  checker_spec cs;
  cs.raw = cj;
  const auto& k = c::required(cj, p, "check", "one of " + checker_names());
  cs.check = c::get_string(k, c::child(p, "check"));
  if (cs.check == "metric") {
    parse_metric_check(cs, cj, p, s);
  } else if (auto* dk = owner_of(cs.check)) {
    // Checkers owned by a protocol driver validate their own fields.
    if (dk->parse_checker)
      dk->parse_checker(cs, p, s);
  } else {
    c::fail(c::child(p, "check"), "one of " + checker_names(), k);
  }
  return cs;
}

} // namespace

void parse_checkers(const json& ch, scenario& s) {
  c::require_array(ch, "checkers");
  for (std::size_t i = 0; i < ch.size(); ++i)
    s.checkers.push_back(parse_checker(ch[i], c::index("checkers", i), s));
}

void parse_metrics(const json& m, scenario& s) {
  c::only_keys(m, "metrics", {"interval"});
  if (auto* iv = c::member(m, "interval")) {
    s.metrics_interval = c::get_duration(*iv, "metrics.interval");
    if (s.metrics_interval < us_per_ms)
      c::fail("metrics.interval", "at least 1ms", *iv);
  }
}

} // namespace peerlab::sim::sections
