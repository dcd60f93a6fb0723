#include "sim/scenario.hpp"
#include "sim/parity.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/json_depth.hpp"
#include "sim/scenario_bounds.hpp"
#include "sim/fuzz.hpp"
#include "sim/scenario_sections.hpp"
#include "sim/workload_driver.hpp"

#include <fstream>
#include <sstream>

namespace peerlab::sim {

using nlohmann::json;
namespace c = peerlab::cfg;

namespace {
// Nesting depth a scenario file may have (objects and arrays): a deeper text
// is refused before it is parsed.
constexpr int scenario_depth_max = 64;
} // namespace

std::string checker_names() {
  std::string list = "metric";
  for (auto& [kind, dk] : driver_kinds())
    for (auto& name : dk.checkers)
      list += ", " + name;
  return list;
}

std::uint64_t scenario::node_count() const {
  std::uint64_t n = 0;
  for (auto& g : groups)
    n += g.count;
  return n;
}

const group_spec* scenario::find_group(const std::string& n) const {
  for (auto& g : groups)
    if (g.name == n)
      return &g;
  return nullptr;
}

scenario parse_scenario(const std::string& text, const std::string& origin) {
  if (json_depth(text, scenario_depth_max) > scenario_depth_max)
    throw config_error(origin + ": nests objects and arrays deeper than " +
                       std::to_string(scenario_depth_max) + " levels");
  // nlohmann's lexer takes a NUL byte for the end of the text and would
  // ignore what follows it; JSON text never holds one.
  if (auto nul = text.find('\0'); nul != std::string::npos)
    throw config_error(origin + ": not valid JSON: a NUL byte at offset " + std::to_string(nul));
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) { // parse_error, or out_of_range for a number too large
    throw config_error(origin + ": not valid JSON: " + json_error_text(e.what()));
  }
  scenario s;
  s.source_text = text;
  c::only_keys(doc, "",
               {"name", "description", "seed", "duration", "groups", "network", "churn", "workload",
                "checkers", "metrics", "record_events", "fuzz", "parity"});
  auto need = [&](const char* key) -> const json& {
    auto* m = c::member(doc, key);
    if (!m)
      c::fail_msg(key, "missing (required)");
    return *m;
  };
  s.name = c::get_string(need("name"), "name");
  if (auto* d = c::member(doc, "description"))
    s.description = c::get_string(*d, "description");
  if (auto* sd = c::member(doc, "seed")) {
    if (!sd->is_number_unsigned())
      c::fail("seed", "a non-negative integer", *sd);
    s.seed = sd->get<std::uint64_t>();
  }
  s.duration = c::get_duration(need("duration"), "duration");
  if (s.duration <= 0)
    c::fail("duration", "a positive duration", need("duration"));
  check_duration(need("duration"), s.duration, "duration");

  s.latency.dist.a = 20.0 * us_per_ms; // default: constant 20 ms
  // Sections in dependency order: later ones refer to groups (and file sets) by name.
  sections::parse_groups(need("groups"), s);
  if (auto* net = c::member(doc, "network"))
    sections::parse_network(*net, s);
  sections::check_group_regions(s);
  if (auto* churn = c::member(doc, "churn"))
    sections::parse_churn(*churn, s);
  if (auto* wl = c::member(doc, "workload"))
    sections::parse_workload(*wl, s);
  if (auto* ch = c::member(doc, "checkers"))
    sections::parse_checkers(*ch, s);
  if (auto* m = c::member(doc, "metrics"))
    sections::parse_metrics(*m, s);
  if (auto* r = c::member(doc, "record_events"))
    s.record_events = c::get_bool(*r, "record_events");
  check_metric_rows(s);
  if (auto* f = c::member(doc, "fuzz")) {
    validate_fuzz(*f, "fuzz", s);
    s.fuzz = *f;
  }
  if (auto* p = c::member(doc, "parity")) {
    parse_parity(*p, "parity"); // validated now; peerlab parity reads it
    s.parity = *p;
  }
  return s;
}

scenario load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path + ": cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  if (text.size() > (64u << 20))
    throw config_error(path + ": larger than 64 MiB");
  return parse_scenario(text, path);
}

nlohmann::json scenario::resolved() const {
  json j;
  j["name"] = name;
  j["seed"] = seed;
  j["duration_us"] = duration;
  j["nodes"] = node_count();
  for (auto& g : groups) {
    json gj = {{"name", g.name}, {"count", g.count}, {"roles", g.roles}};
    if (!g.adversary.empty())
      gj["adversary"] = g.adversary;
    gj["up_Bps"] = g.up_bps < 0 ? default_up_bps : g.up_bps;
    gj["down_Bps"] = g.down_bps < 0 ? default_down_bps : g.down_bps;
    if (!g.region.empty())
      gj["region"] = g.region;
    gj["start_us"] = g.start;
    gj["start_spread_us"] = g.start_spread;
    j["groups"].push_back(gj);
  }
  json net;
  net["latency"] = latency.geographic ? std::string("geographic") : latency.dist.describe(true);
  net["jitter"] = latency.jitter.describe(true);
  net["overhead"] = frame_overhead;
  net["fifo_links"] = fifo_links;
  net["faults"] = {{"loss", faults.loss},         {"duplicate", faults.duplicate},
                   {"reorder", faults.reorder},   {"reorder_delay_us", faults.reorder_delay},
                   {"truncate", faults.truncate}, {"corrupt", faults.corrupt}};
  // Only when set: summaries of scenarios without them stay as they were.
  if (faults.truncate_scale > 0)
    net["faults"]["truncate_scale_bytes"] = faults.truncate_scale;
  if (faults.corrupt_per_byte > 0)
    net["faults"]["corrupt_per_byte"] = faults.corrupt_per_byte;
  net["links"] = links.size();
  net["partitions"] = partitions.size();
  j["network"] = net;
  for (auto& cs : churn)
    j["churn"].push_back({{"group", cs.group},
                          {"session", cs.session.describe(true)},
                          {"downtime", cs.downtime.describe(true)},
                          {"crash", cs.crash},
                          {"restart", cs.restart}});
  j["metrics_interval_us"] = metrics_interval;
  return j;
}

} // namespace peerlab::sim
