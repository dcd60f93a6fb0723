#include "sim/scenario_sections.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/scenario_bounds.hpp"

namespace peerlab::sim::sections {

namespace c = peerlab::cfg;

namespace {

churn_spec parse_churn_item(const json& cj, const std::string& p, const scenario& s) {
  c::only_keys(cj, p, {"group", "session", "downtime", "crash", "restart"});
  churn_spec cs;
  const auto& g = c::required(cj, p, "group");
  cs.group = group_ref(g, c::child(p, "group"), s);
  const auto& se = c::required(cj, p, "session", "a distribution of session lengths");
  cs.session = parse_duration_dist(se, c::child(p, "session"));
  cs.downtime.a = 60.0 * us_per_s;
  if (auto* d = c::member(cj, "downtime"))
    cs.downtime = parse_duration_dist(*d, c::child(p, "downtime"));
  if (auto* cr = c::member(cj, "crash"))
    cs.crash = c::get_probability(*cr, c::child(p, "crash"));
  if (auto* r = c::member(cj, "restart"))
    cs.restart = c::get_bool(*r, c::child(p, "restart"));
  check_churn_progress(cs, p);
  return cs;
}

} // namespace

void parse_churn(const json& churn, scenario& s) {
  c::require_array(churn, "churn");
  for (std::size_t i = 0; i < churn.size(); ++i)
    s.churn.push_back(parse_churn_item(churn[i], c::index("churn", i), s));
}

} // namespace peerlab::sim::sections
