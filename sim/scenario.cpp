#include "sim/scenario.hpp"

#include "actors/config/json_fields.hpp"
#include "actors/node_roles.hpp"
#include "protocols/common/limits.hpp"
#include "sim/workload_driver.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace peerlab::sim {

using nlohmann::json;
namespace c = peerlab::cfg;

std::string checker_names() {
  std::string list = "metric";
  for (auto& [kind, dk] : driver_kinds())
    for (auto& name : dk.checkers)
      list += ", " + name;
  return list;
}

namespace {

constexpr std::uint64_t max_nodes = 2'000'000;

fault_rates parse_faults(const json& v, const std::string& path, fault_rates base) {
  c::only_keys(v, path, {"loss", "duplicate", "reorder", "reorder_delay", "truncate", "corrupt"});
  if (auto* m = c::member(v, "loss"))
    base.loss = c::get_probability(*m, c::child(path, "loss"));
  if (auto* m = c::member(v, "duplicate"))
    base.duplicate = c::get_probability(*m, c::child(path, "duplicate"));
  if (auto* m = c::member(v, "reorder"))
    base.reorder = c::get_probability(*m, c::child(path, "reorder"));
  if (auto* m = c::member(v, "reorder_delay"))
    base.reorder_delay = c::get_duration(*m, c::child(path, "reorder_delay"));
  if (auto* m = c::member(v, "truncate"))
    base.truncate = c::get_probability(*m, c::child(path, "truncate"));
  if (auto* m = c::member(v, "corrupt"))
    base.corrupt = c::get_probability(*m, c::child(path, "corrupt"));
  return base;
}

void parse_bandwidth(const json& v, const std::string& path, double& up, double& down) {
  c::only_keys(v, path, {"up", "down"});
  if (auto* m = c::member(v, "up"))
    up = c::get_rate(*m, c::child(path, "up"));
  if (auto* m = c::member(v, "down"))
    down = c::get_rate(*m, c::child(path, "down"));
}

void parse_latency(const json& v, const std::string& path, latency_model& lat) {
  c::require_object(v, path);
  auto* model = c::member(v, "model");
  std::string m = model ? c::get_string(*model, c::child(path, "model")) : "";
  if (m == "geographic") {
    c::only_keys(v, path, {"model", "regions", "km_per_ms", "access", "jitter"});
    lat.geographic = true;
    auto* regions = c::member(v, "regions");
    if (!regions)
      c::fail_msg(path, "the geographic model needs \"regions\"");
    c::require_object(*regions, c::child(path, "regions"));
    if (regions->empty())
      c::fail(c::child(path, "regions"), "at least one region", *regions);
    for (auto it = regions->begin(); it != regions->end(); ++it) {
      auto rp = c::child(c::child(path, "regions"), it.key());
      c::only_keys(*it, rp, {"x_km", "y_km", "radius_km"});
      region r;
      r.name = it.key();
      if (auto* x = c::member(*it, "x_km"))
        r.x_km = c::get_number(*x, c::child(rp, "x_km"));
      if (auto* y = c::member(*it, "y_km"))
        r.y_km = c::get_number(*y, c::child(rp, "y_km"));
      if (auto* rad = c::member(*it, "radius_km"))
        r.radius_km = c::get_number(*rad, c::child(rp, "radius_km"));
      lat.regions.push_back(r);
    }
    if (auto* k = c::member(v, "km_per_ms")) {
      lat.km_per_ms = c::get_number(*k, c::child(path, "km_per_ms"));
      if (lat.km_per_ms <= 0)
        c::fail(c::child(path, "km_per_ms"), "a positive number", *k);
    }
    if (auto* a = c::member(v, "access"))
      lat.access = parse_duration_dist(*a, c::child(path, "access"));
    if (auto* j = c::member(v, "jitter"))
      lat.jitter = parse_duration_dist(*j, c::child(path, "jitter"));
    return;
  }
  if (!model)
    c::fail_msg(path, std::string("missing \"model\" (geographic, or a distribution: ") +
                        distribution_names() + ")");
  // Any other model is a distribution; reuse its parser with "model" as "dist".
  json d = v;
  d.erase("model");
  d["dist"] = m;
  try {
    lat.dist = parse_duration_dist(d, path);
  } catch (const config_error& e) {
    std::string msg = e.what();
    // Report the field the user wrote ("model"), not the internal "dist".
    auto pos = msg.find(".dist:");
    if (pos != std::string::npos)
      msg.replace(pos, 6, ".model:");
    throw config_error(msg);
  }
}

std::vector<std::string> parse_group_list(const json& v, const std::string& path,
                                          const std::set<std::string>& groups) {
  std::vector<std::string> out;
  auto check = [&](const json& item, const std::string& p) {
    auto n = c::get_string(item, p);
    if (!groups.count(n))
      c::fail(p, "the name of a group", item);
    out.push_back(n);
  };
  if (v.is_string()) {
    check(v, path);
  } else {
    c::require_array(v, path);
    for (std::size_t i = 0; i < v.size(); ++i)
      check(v[i], c::index(path, i));
  }
  return out;
}

std::string group_ref(const json& v, const std::string& path, const std::set<std::string>& groups,
                      bool allow_any = false) {
  auto n = c::get_string(v, path);
  if (allow_any && n == "*")
    return n;
  if (!groups.count(n))
    c::fail(path, allow_any ? "the name of a group or \"*\"" : "the name of a group", v);
  return n;
}

} // namespace

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
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw config_error(origin + ": not valid JSON: " + e.what());
  }
  scenario s;
  s.source_text = text;
  c::only_keys(doc, "",
               {"name", "description", "seed", "duration", "groups", "network", "churn", "workload",
                "checkers", "metrics", "record_events"});
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

  // Groups.
  const json& groups = need("groups");
  c::require_array(groups, "groups");
  if (groups.empty())
    c::fail("groups", "at least one group", groups);
  std::set<std::string> names;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto p = c::index("groups", i);
    const json& g = groups[i];
    c::only_keys(
      g, p,
      {"name", "count", "roles", "adversary", "bandwidth", "region", "start", "start_spread"});
    group_spec gs;
    auto* name = c::member(g, "name");
    if (!name)
      c::fail_msg(p, "missing \"name\"");
    gs.name = c::get_string(*name, c::child(p, "name"));
    if (gs.name.empty() || gs.name == "*")
      c::fail(c::child(p, "name"), "a non-empty group name other than \"*\"", *name);
    if (!names.insert(gs.name).second)
      c::fail_msg(c::child(p, "name"), "duplicate group name \"" + gs.name + "\"");
    auto* count = c::member(g, "count");
    if (!count)
      c::fail_msg(p, "missing \"count\"");
    gs.count = c::get_positive(*count, c::child(p, "count"));
    total += gs.count;
    if (total > max_nodes)
      c::fail_msg(c::child(p, "count"),
                  "the scenario exceeds " + std::to_string(max_nodes) + " nodes");
    auto* roles = c::member(g, "roles");
    if (!roles)
      c::fail_msg(p, "missing \"roles\"");
    gs.roles = *roles;
    if (auto* a = c::member(g, "adversary")) {
      gs.adversary = c::get_string(*a, c::child(p, "adversary"));
      bool known = false;
      for (auto& k : known_adversaries())
        known = known || k == gs.adversary;
      if (!known) {
        std::string list;
        for (auto& k : known_adversaries())
          list += (list.empty() ? "" : ", ") + k;
        c::fail(c::child(p, "adversary"), "one of " + list, *a);
      }
    }
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
    s.groups.push_back(std::move(gs));
  }

  // Network.
  s.latency.dist.a = 20.0 * us_per_ms; // default: constant 20 ms
  if (auto* net = c::member(doc, "network")) {
    c::only_keys(
      *net, "network",
      {"latency", "bandwidth", "overhead", "fifo_links", "faults", "links", "partitions"});
    if (auto* lat = c::member(*net, "latency"))
      parse_latency(*lat, "network.latency", s.latency);
    if (auto* bw = c::member(*net, "bandwidth"))
      parse_bandwidth(*bw, "network.bandwidth", s.default_up_bps, s.default_down_bps);
    if (auto* oh = c::member(*net, "overhead")) {
      auto v = c::get_count(*oh, "network.overhead");
      if (v > 65535)
        c::fail("network.overhead", "at most 65535 bytes", *oh);
      s.frame_overhead = static_cast<std::uint32_t>(v);
    }
    if (auto* f = c::member(*net, "fifo_links"))
      s.fifo_links = c::get_bool(*f, "network.fifo_links");
    if (auto* f = c::member(*net, "faults"))
      s.faults = parse_faults(*f, "network.faults", {});
    if (auto* links = c::member(*net, "links")) {
      c::require_array(*links, "network.links");
      for (std::size_t i = 0; i < links->size(); ++i) {
        auto p = c::index("network.links", i);
        const json& l = (*links)[i];
        c::only_keys(l, p, {"from", "to", "faults"});
        link_rule r;
        auto* from = c::member(l, "from");
        auto* to = c::member(l, "to");
        if (!from || !to)
          c::fail_msg(p, "needs \"from\" and \"to\" (group names or \"*\")");
        r.from = group_ref(*from, c::child(p, "from"), names, true);
        r.to = group_ref(*to, c::child(p, "to"), names, true);
        auto* f = c::member(l, "faults");
        if (!f)
          c::fail_msg(p, "missing \"faults\"");
        r.faults = parse_faults(*f, c::child(p, "faults"), s.faults);
        s.links.push_back(r);
      }
    }
    if (auto* parts = c::member(*net, "partitions")) {
      c::require_array(*parts, "network.partitions");
      for (std::size_t i = 0; i < parts->size(); ++i) {
        auto p = c::index("network.partitions", i);
        const json& pj = (*parts)[i];
        c::only_keys(pj, p, {"between", "from", "until", "direction"});
        partition pt;
        auto* between = c::member(pj, "between");
        if (!between || !between->is_array() || between->size() != 2)
          c::fail(c::child(p, "between"), "an array of two group names",
                  between ? *between : json());
        pt.a = group_ref((*between)[0], c::index(c::child(p, "between"), 0), names);
        pt.b = group_ref((*between)[1], c::index(c::child(p, "between"), 1), names);
        if (auto* f = c::member(pj, "from"))
          pt.from = c::get_duration(*f, c::child(p, "from"));
        pt.until = s.duration;
        if (auto* u = c::member(pj, "until"))
          pt.until = c::get_duration(*u, c::child(p, "until"));
        if (pt.until <= pt.from)
          c::fail_msg(c::child(p, "until"), "must be after \"from\"");
        if (auto* d = c::member(pj, "direction")) {
          auto dir = c::get_string(*d, c::child(p, "direction"));
          if (dir == "both") {
          } else if (dir == "a_to_b") {
            pt.b_to_a = false;
          } else if (dir == "b_to_a") {
            pt.a_to_b = false;
          } else {
            c::fail(c::child(p, "direction"), "\"both\", \"a_to_b\" or \"b_to_a\"", *d);
          }
        }
        s.partitions.push_back(pt);
      }
    }
  }
  // Geographic regions named by groups must exist.
  for (std::size_t i = 0; i < s.groups.size(); ++i) {
    auto& g = s.groups[i];
    if (g.region.empty())
      continue;
    bool found = false;
    for (auto& r : s.latency.regions)
      found = found || r.name == g.region;
    if (!found)
      c::fail_msg(c::child(c::index("groups", i), "region"),
                  "no region \"" + g.region + "\" in network.latency.regions");
  }

  // Churn.
  if (auto* churn = c::member(doc, "churn")) {
    c::require_array(*churn, "churn");
    for (std::size_t i = 0; i < churn->size(); ++i) {
      auto p = c::index("churn", i);
      const json& cj = (*churn)[i];
      c::only_keys(cj, p, {"group", "session", "downtime", "crash", "restart"});
      churn_spec cs;
      auto* g = c::member(cj, "group");
      if (!g)
        c::fail_msg(p, "missing \"group\"");
      cs.group = group_ref(*g, c::child(p, "group"), names);
      auto* se = c::member(cj, "session");
      if (!se)
        c::fail_msg(p, "missing \"session\" (a distribution of session lengths)");
      cs.session = parse_duration_dist(*se, c::child(p, "session"));
      cs.downtime.a = 60.0 * us_per_s;
      if (auto* d = c::member(cj, "downtime"))
        cs.downtime = parse_duration_dist(*d, c::child(p, "downtime"));
      if (auto* cr = c::member(cj, "crash"))
        cs.crash = c::get_probability(*cr, c::child(p, "crash"));
      if (auto* r = c::member(cj, "restart"))
        cs.restart = c::get_bool(*r, c::child(p, "restart"));
      s.churn.push_back(cs);
    }
  }

  // Workload.
  std::set<std::string> set_names;
  if (auto* wl = c::member(doc, "workload")) {
    c::require_array(*wl, "workload");
    for (std::size_t i = 0; i < wl->size(); ++i) {
      auto p = c::index("workload", i);
      const json& w = (*wl)[i];
      c::require_object(w, p);
      auto* kind = c::member(w, "kind");
      if (!kind)
        c::fail_msg(p, "missing \"kind\" (files, downloads, command, or a protocol workload)");
      auto k = c::get_string(*kind, c::child(p, "kind"));
      if (k == "files") {
        c::only_keys(w, p, {"kind", "name", "count", "size", "providers", "replicas", "price"});
        file_set_spec fs;
        auto* n = c::member(w, "name");
        if (!n)
          c::fail_msg(p, "missing \"name\"");
        fs.name = c::get_string(*n, c::child(p, "name"));
        if (!set_names.insert(fs.name).second)
          c::fail_msg(c::child(p, "name"), "duplicate file set name \"" + fs.name + "\"");
        auto* cnt = c::member(w, "count");
        if (!cnt)
          c::fail_msg(p, "missing \"count\"");
        fs.count = c::get_positive(*cnt, c::child(p, "count"));
        if (fs.count > 1'000'000)
          c::fail(c::child(p, "count"), "at most 1000000 files", *cnt);
        auto* sz = c::member(w, "size");
        if (!sz)
          c::fail_msg(p, "missing \"size\"");
        fs.size = c::get_size(*sz, c::child(p, "size"));
        if (fs.size == 0 || fs.size > limits::max_file_bytes)
          c::fail(c::child(p, "size"), "a size between 1 B and 64GiB", *sz);
        auto* pr = c::member(w, "providers");
        if (!pr)
          c::fail_msg(p, "missing \"providers\" (groups whose nodes hold the files)");
        fs.providers = parse_group_list(*pr, c::child(p, "providers"), names);
        if (auto* r = c::member(w, "replicas"))
          fs.replicas = c::get_positive(*r, c::child(p, "replicas"));
        if (auto* pc = c::member(w, "price"))
          fs.price = c::get_count(*pc, c::child(p, "price"));
        s.file_sets.push_back(fs);
      } else if (k == "command") {
        c::only_keys(w, p, {"kind", "group", "at", "role", "verb", "args"});
        command_spec cs;
        auto* g = c::member(w, "group");
        auto* r = c::member(w, "role");
        auto* v = c::member(w, "verb");
        if (!g || !r || !v)
          c::fail_msg(p, "a command needs \"group\", \"role\" and \"verb\"");
        cs.group = group_ref(*g, c::child(p, "group"), names);
        cs.role = c::get_string(*r, c::child(p, "role"));
        cs.verb = c::get_string(*v, c::child(p, "verb"));
        if (auto* at = c::member(w, "at"))
          cs.at = c::get_duration(*at, c::child(p, "at"));
        if (auto* a = c::member(w, "args")) {
          c::require_array(*a, c::child(p, "args"));
          if (a->size() > limits::max_command_args)
            c::fail(c::child(p, "args"), "at most 64 arguments", *a);
          for (std::size_t j = 0; j < a->size(); ++j)
            cs.args.push_back(c::get_string((*a)[j], c::index(c::child(p, "args"), j)));
        }
        s.commands.push_back(cs);
      } else if (auto d = driver_kinds().find(k); d != driver_kinds().end()) {
        d->second.validate(w, p, s);
        s.driver_items.push_back({k, w});
      } else {
        std::string list = "files, command";
        for (auto& [name, _] : driver_kinds())
          list += ", " + name;
        c::fail(c::child(p, "kind"), "one of " + list, *kind);
      }
    }
  }

  // Checkers.
  if (auto* ch = c::member(doc, "checkers")) {
    c::require_array(*ch, "checkers");
    for (std::size_t i = 0; i < ch->size(); ++i) {
      auto p = c::index("checkers", i);
      const json& cj = (*ch)[i];
      checker_spec cs;
      cs.raw = cj;
      c::require_object(cj, p);
      // Checkers owned by a protocol driver validate their own fields.
      if (auto* k = c::member(cj, "check"); k && k->is_string()) {
        bool owned = false;
        for (auto& [kind, dk] : driver_kinds())
          for (auto& name : dk.checkers)
            owned = owned || name == k->get<std::string>();
        if (owned) {
          cs.check = k->get<std::string>();
          for (auto& [kind, dk] : driver_kinds())
            for (auto& name : dk.checkers)
              if (name == cs.check && dk.parse_checker)
                dk.parse_checker(cs, p, s);
          s.checkers.push_back(cs);
          continue;
        }
      }
      c::only_keys(cj, p, {"check", "min", "max", "metric", "group", "grace"});
      auto* k = c::member(cj, "check");
      if (!k)
        c::fail_msg(p, "missing \"check\" (one of " + checker_names() + ")");
      cs.check = c::get_string(*k, c::child(p, "check"));
      if (cs.check != "metric") {
        c::fail(c::child(p, "check"), "one of " + checker_names(), *k);
      }
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
        cs.group = group_ref(*g, c::child(p, "group"), names);
      if (auto* gr = c::member(cj, "grace"))
        cs.grace = c::get_duration(*gr, c::child(p, "grace"));
      if (cs.check == "metric" && (cs.metric.empty() || (!cs.has_min && !cs.has_max)))
        c::fail_msg(p, "a metric check needs \"metric\" and \"min\" and/or \"max\"");
      s.checkers.push_back(cs);
    }
  }

  if (auto* m = c::member(doc, "metrics")) {
    c::only_keys(*m, "metrics", {"interval"});
    if (auto* iv = c::member(*m, "interval")) {
      s.metrics_interval = c::get_duration(*iv, "metrics.interval");
      if (s.metrics_interval < us_per_ms)
        c::fail("metrics.interval", "at least 1ms", *iv);
    }
  }
  if (auto* r = c::member(doc, "record_events"))
    s.record_events = c::get_bool(*r, "record_events");
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
  net["overhead"] = frame_overhead;
  net["fifo_links"] = fifo_links;
  net["faults"] = {{"loss", faults.loss},         {"duplicate", faults.duplicate},
                   {"reorder", faults.reorder},   {"reorder_delay_us", faults.reorder_delay},
                   {"truncate", faults.truncate}, {"corrupt", faults.corrupt}};
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
