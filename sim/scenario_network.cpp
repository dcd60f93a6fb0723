#include "sim/scenario_sections.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/scenario_bounds.hpp"

namespace peerlab::sim::sections {

namespace c = peerlab::cfg;

namespace {

fault_rates parse_faults(const json& v, const std::string& path, fault_rates base) {
  c::only_keys(v, path,
               {"loss", "duplicate", "reorder", "reorder_delay", "truncate", "corrupt",
                "truncate_scale", "corrupt_per_byte"});
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
  if (auto* m = c::member(v, "truncate_scale")) {
    base.truncate_scale = c::get_size(*m, c::child(path, "truncate_scale"));
    // Below a byte every frame is cut at length 0: a typo, not a model.
    if (base.truncate_scale > 0 && base.truncate_scale < 16)
      c::fail(c::child(path, "truncate_scale"), "0 (off) or a size of at least 16 bytes", *m);
  }
  if (auto* m = c::member(v, "corrupt_per_byte")) {
    base.corrupt_per_byte = c::get_probability(*m, c::child(path, "corrupt_per_byte"));
    // One flip per byte on average past 0.5 is noise, not bit rot.
    if (base.corrupt_per_byte > 0.5)
      c::fail(c::child(path, "corrupt_per_byte"), "a probability of at most 0.5", *m);
  }
  return base;
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
  if (auto* j = c::member(v, "jitter")) {
    lat.jitter = parse_duration_dist(*j, c::child(path, "jitter"));
    d.erase("jitter");
  }
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

link_rule parse_link(const json& l, const std::string& p, const scenario& s) {
  c::only_keys(l, p, {"from", "to", "faults"});
  link_rule r;
  auto* from = c::member(l, "from");
  auto* to = c::member(l, "to");
  if (!from || !to)
    c::fail_msg(p, "needs \"from\" and \"to\" (group names or \"*\")");
  r.from = group_ref(*from, c::child(p, "from"), s, true);
  r.to = group_ref(*to, c::child(p, "to"), s, true);
  const auto& f = c::required(l, p, "faults");
  r.faults = parse_faults(f, c::child(p, "faults"), s.faults);
  return r;
}

partition parse_partition(const json& pj, const std::string& p, const scenario& s) {
  c::only_keys(pj, p, {"between", "from", "until", "direction"});
  partition pt;
  auto* between = c::member(pj, "between");
  if (!between || !between->is_array() || between->size() != 2)
    c::fail(c::child(p, "between"), "an array of two group names", between ? *between : json());
  pt.a = group_ref((*between)[0], c::index(c::child(p, "between"), 0), s);
  pt.b = group_ref((*between)[1], c::index(c::child(p, "between"), 1), s);
  if (auto* f = c::member(pj, "from"))
    pt.from = c::get_duration(*f, c::child(p, "from"));
  pt.until = s.duration;
  if (auto* u = c::member(pj, "until"))
    pt.until = c::get_duration(*u, c::child(p, "until"));
  if (pt.until <= pt.from)
    c::fail_msg(c::child(p, "until"), "must be after \"from\"");
  if (auto* d = c::member(pj, "direction")) {
    auto dir = c::get_string(*d, c::child(p, "direction"));
    if (dir == "a_to_b")
      pt.b_to_a = false;
    else if (dir == "b_to_a")
      pt.a_to_b = false;
    else if (dir != "both")
      c::fail(c::child(p, "direction"), "\"both\", \"a_to_b\" or \"b_to_a\"", *d);
  }
  return pt;
}

} // namespace

void parse_bandwidth(const json& v, const std::string& path, double& up, double& down) {
  c::only_keys(v, path, {"up", "down"});
  if (auto* m = c::member(v, "up")) {
    up = c::get_rate(*m, c::child(path, "up"));
    check_rate(*m, up, c::child(path, "up"));
  }
  if (auto* m = c::member(v, "down")) {
    down = c::get_rate(*m, c::child(path, "down"));
    check_rate(*m, down, c::child(path, "down"));
  }
}

void parse_network(const json& net, scenario& s) {
  c::only_keys(net, "network",
               {"latency", "bandwidth", "overhead", "fifo_links", "faults", "links", "partitions"});
  if (auto* lat = c::member(net, "latency"))
    parse_latency(*lat, "network.latency", s.latency);
  if (auto* bw = c::member(net, "bandwidth"))
    parse_bandwidth(*bw, "network.bandwidth", s.default_up_bps, s.default_down_bps);
  if (auto* oh = c::member(net, "overhead")) {
    auto v = c::get_count(*oh, "network.overhead");
    if (v > 65535)
      c::fail("network.overhead", "at most 65535 bytes", *oh);
    s.frame_overhead = static_cast<std::uint32_t>(v);
  }
  if (auto* f = c::member(net, "fifo_links"))
    s.fifo_links = c::get_bool(*f, "network.fifo_links");
  if (auto* f = c::member(net, "faults"))
    s.faults = parse_faults(*f, "network.faults", {});
  if (auto* links = c::member(net, "links")) {
    c::require_array(*links, "network.links");
    for (std::size_t i = 0; i < links->size(); ++i)
      s.links.push_back(parse_link((*links)[i], c::index("network.links", i), s));
  }
  if (auto* parts = c::member(net, "partitions")) {
    c::require_array(*parts, "network.partitions");
    for (std::size_t i = 0; i < parts->size(); ++i)
      s.partitions.push_back(parse_partition((*parts)[i], c::index("network.partitions", i), s));
  }
}

void check_group_regions(const scenario& s) {
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
}

} // namespace peerlab::sim::sections
