#include "sim/scenario_sections.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"

namespace peerlab::sim::sections {

namespace c = peerlab::cfg;

namespace {

constexpr std::uint64_t max_nodes = 2'000'000;

std::string adversary(const json& v, const std::string& path) {
  auto name = c::get_string(v, path);
  std::string list;
  for (auto& k : known_adversaries()) {
    if (k == name)
      return name;
    list += (list.empty() ? "" : ", ") + k;
  }
  c::fail(path, "one of " + list, v);
}

group_spec parse_group(const json& g, const std::string& p, const scenario& s) {
  c::only_keys(
    g, p, {"name", "count", "roles", "adversary", "bandwidth", "region", "start", "start_spread"});
  group_spec gs;
  const auto& name = c::required(g, p, "name");
  gs.name = c::get_string(name, c::child(p, "name"));
  if (gs.name.empty() || gs.name == "*")
    c::fail(c::child(p, "name"), "a non-empty group name other than \"*\"", name);
  if (s.find_group(gs.name))
    c::fail_msg(c::child(p, "name"), "duplicate group name \"" + gs.name + "\"");
  const auto& count = c::required(g, p, "count");
  gs.count = c::get_positive(count, c::child(p, "count"));
  if (s.node_count() + gs.count > max_nodes)
    c::fail_msg(c::child(p, "count"),
                "the scenario exceeds " + std::to_string(max_nodes) + " nodes");
  const auto& roles = c::required(g, p, "roles");
  gs.roles = roles;
  if (auto* a = c::member(g, "adversary"))
    gs.adversary = adversary(*a, c::child(p, "adversary"));
  // Validate roles now (throws with the path) so errors appear before the run.
  make_roles(gs.roles, c::child(p, "roles"), gs.adversary);
  if (auto* bw = c::member(g, "bandwidth"))
    parse_bandwidth(*bw, c::child(p, "bandwidth"), gs.up_bps, gs.down_bps);
  if (auto* r = c::member(g, "region"))
    gs.region = c::get_string(*r, c::child(p, "region"));
  if (auto* st = c::member(g, "start"))
    gs.start = c::get_duration(*st, c::child(p, "start"));
  if (auto* sp = c::member(g, "start_spread"))
    gs.start_spread = c::get_duration(*sp, c::child(p, "start_spread"));
  return gs;
}

} // namespace

void parse_groups(const json& groups, scenario& s) {
  c::require_array(groups, "groups");
  if (groups.empty())
    c::fail("groups", "at least one group", groups);
  for (std::size_t i = 0; i < groups.size(); ++i)
    s.groups.push_back(parse_group(groups[i], c::index("groups", i), s));
}

std::string group_ref(const json& v, const std::string& path, const scenario& s, bool allow_any) {
  auto n = c::get_string(v, path);
  if (allow_any && n == "*")
    return n;
  if (!s.find_group(n))
    c::fail(path, allow_any ? "the name of a group or \"*\"" : "the name of a group", v);
  return n;
}

std::vector<std::string> group_list(const json& v, const std::string& path, const scenario& s) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(group_ref(v, path, s));
  } else {
    c::require_array(v, path);
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(group_ref(v[i], c::index(path, i), s));
  }
  return out;
}

} // namespace peerlab::sim::sections
