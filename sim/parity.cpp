#include "sim/parity.hpp"

#include "protocols/common/config_fields.hpp"

#include <algorithm>
#include <cmath>

namespace peerlab::sim {

namespace c = peerlab::cfg;
using nlohmann::json;

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  std::string x = suffix;
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

double get_tolerance_value(const json& v, const std::string& path) {
  if (!v.is_number() || v.get<double>() < 0 || !std::isfinite(v.get<double>()))
    c::fail(path, "a non-negative number", v);
  return v.get<double>();
}

} // namespace

parity_spec parse_parity(const json& section, const std::string& path) {
  c::only_keys(section, path, {"tolerances", "ignore"});
  parity_spec p;
  if (auto* t = c::member(section, "tolerances")) {
    auto tp = c::child(path, "tolerances");
    if (!t->is_object())
      c::fail(tp, "an object {\"family.outcome\": {\"abs\": A, \"rel\": R}}", *t);
    for (auto& [name, v] : t->items()) {
      auto vp = c::child(tp, name);
      if (name.find('.') == std::string::npos)
        c::fail_msg(vp, "expected a \"family.outcome\" name (docs/results.md, Key outcomes)");
      c::only_keys(v, vp, {"abs", "rel"});
      tolerance tol;
      if (auto* a = c::member(v, "abs"))
        tol.abs = get_tolerance_value(*a, c::child(vp, "abs"));
      if (auto* r = c::member(v, "rel"))
        tol.rel = get_tolerance_value(*r, c::child(vp, "rel"));
      p.tolerances[name] = tol;
    }
  }
  if (auto* ig = c::member(section, "ignore")) {
    auto ip = c::child(path, "ignore");
    c::require_array(*ig, ip);
    for (std::size_t i = 0; i < ig->size(); ++i)
      p.ignore.insert(c::get_string((*ig)[i], c::index(ip, i)));
  }
  return p;
}

tolerance default_tolerance(const std::string&, const std::string& name) {
  if (contains(name, "hops"))
    return {1, 0};
  if (ends_with(name, "_ms"))
    return {50, 0.5}; // live adds TLS, scheduling and timer wake-ups
  if (ends_with(name, "_s"))
    return {0.05, 0.5};
  if (contains(name, "success") || contains(name, "share") || name == "offload" ||
      name == "findable" || ends_with(name, "_findable"))
    return {0.05, 0};
  if (contains(name, "bytes") || name == "goodput")
    return {0, 0.15};
  return {1, 0.1}; // counts
}

bool judged_by_default(const std::string& family, const std::string& name) {
  // Figures a driver reads from role state or rows between events
  // (sim_api::role_of, store_of): a live run has no such view.
  static const std::set<std::string> sampled = {"dht.records_stored"};
  return !sampled.count(family + "." + name);
}

std::vector<parity_row> compare_outcomes(const std::vector<outcome>& sim,
                                         const std::vector<outcome>& live,
                                         const parity_spec& spec) {
  std::vector<parity_row> rows;
  auto find = [&](const std::string& f, const std::string& n) -> parity_row* {
    for (auto& r : rows)
      if (r.family == f && r.name == n)
        return &r;
    return nullptr;
  };
  for (auto& o : sim)
    if (!find(o.family, o.name))
      rows.push_back({o.family, o.name, o.value, std::nullopt});
  for (auto& o : live) {
    if (auto* r = find(o.family, o.name))
      r->live = o.value;
    else
      rows.push_back({o.family, o.name, std::nullopt, o.value});
  }
  for (auto& r : rows) {
    auto key = r.family + "." + r.name;
    auto t = spec.tolerances.find(key);
    r.tol = t != spec.tolerances.end() ? t->second : default_tolerance(r.family, r.name);
    r.judged = !spec.ignore.count(key) &&
               (t != spec.tolerances.end() || judged_by_default(r.family, r.name));
    if (r.sim && r.live) {
      double a = *r.sim, b = *r.live;
      r.agree = std::fabs(b - a) <= r.tol.abs + r.tol.rel * std::max(std::fabs(a), std::fabs(b));
    } else {
      r.agree = false; // one world lacks the outcome: a disagreement if judged
    }
  }
  return rows;
}

bool all_agree(const std::vector<parity_row>& rows) {
  return std::all_of(rows.begin(), rows.end(),
                     [](const parity_row& r) { return !r.judged || r.agree; });
}

} // namespace peerlab::sim
