#include "sim/drivers/dht_spec.hpp"

#include "protocols/common/config_fields.hpp"

namespace peerlab::sim::dht {

using nlohmann::json;
namespace c = peerlab::cfg;

namespace {

const group_spec& group_named(const json& v, const std::string& path, const scenario& s) {
  auto name = c::get_string(v, path);
  const group_spec* g = s.find_group(name);
  if (!g)
    c::fail(path, "the name of a group", v);
  return *g;
}

/// The kad role's JSON in a group's roles (nullptr if it has none).
const json* kad_role_of(const group_spec& g) {
  if (!g.roles.is_array())
    return nullptr;
  for (auto& r : g.roles) {
    if (r.is_string() && r.get<std::string>() == "kad")
      return &r;
    if (r.is_object())
      if (auto* n = c::member(r, "role"); n && n->is_string() && n->get<std::string>() == "kad")
        return &r;
  }
  return nullptr;
}

bool has_role(const group_spec& g, const std::string& role) {
  if (!g.roles.is_array())
    return false;
  for (auto& r : g.roles) {
    if (r.is_string() && r.get<std::string>() == role)
      return true;
    if (r.is_object())
      if (auto* n = c::member(r, "role"); n && n->is_string() && n->get<std::string>() == role)
        return true;
  }
  return false;
}

std::string kad_group(const json& v, const std::string& path, const scenario& s) {
  auto& g = group_named(v, path, s);
  if (!kad_role_of(g))
    c::fail_msg(path, "group \"" + g.name + "\" does not run the kad role");
  return g.name;
}

bool has_file_set(const scenario& s, const std::string& name) {
  for (auto& fs : s.file_sets)
    if (fs.name == name)
      return true;
  return false;
}

void window(const json& w, const std::string& p, const scenario& s, time_us& start, time_us& stop) {
  if (auto* v = c::member(w, "start"))
    start = c::get_duration(*v, c::child(p, "start"));
  stop = s.duration;
  if (auto* v = c::member(w, "stop"))
    stop = c::get_duration(*v, c::child(p, "stop"));
  if (stop < start)
    c::fail_msg(c::child(p, "stop"), "must not be before \"start\"");
}

lookup_spec parse_lookup(const json& w, const std::string& p, const scenario& s) {
  c::require_object(w, p);
  c::only_keys(w, p, {"verb", "group", "interval", "start", "stop", "count", "want"});
  lookup_spec l;
  if (auto* v = c::member(w, "verb")) {
    auto verb = c::get_string(*v, c::child(p, "verb"));
    if (verb == "find_providers")
      l.verb = lookup_verb::find_providers;
    else if (verb == "find_node")
      l.verb = lookup_verb::find_node;
    else
      c::fail(c::child(p, "verb"), "\"find_providers\" or \"find_node\"", *v);
  }
  auto* g = c::member(w, "group");
  if (!g)
    c::fail_msg(p, "missing \"group\" (the nodes that look up)");
  l.group = kad_group(*g, c::child(p, "group"), s);
  auto* iv = c::member(w, "interval");
  if (!iv)
    c::fail_msg(p, "missing \"interval\" (time between two lookups, e.g. {\"dist\": "
                   "\"exponential\", \"mean\": \"1s\"})");
  l.interval = parse_duration_dist(*iv, c::child(p, "interval"));
  window(w, p, s, l.start, l.stop);
  if (auto* v = c::member(w, "count"))
    l.count = c::get_positive(*v, c::child(p, "count"));
  if (auto* v = c::member(w, "want")) {
    l.want = c::get_count(*v, c::child(p, "want"));
    if (l.want > 4096)
      c::fail(c::child(p, "want"), "a provider count between 0 (all) and 4096", *v);
  }
  return l;
}

download_spec_dht parse_download(const json& w, const std::string& p, const scenario& s) {
  c::require_object(w, p);
  c::only_keys(w, p, {"group", "files", "interval", "start", "stop", "max_per_node"});
  download_spec_dht d;
  auto* g = c::member(w, "group");
  if (!g)
    c::fail_msg(p, "missing \"group\" (the downloading nodes)");
  d.group = kad_group(*g, c::child(p, "group"), s);
  // A download is the user's `fetch`, which the client role composes.
  for (const char* role : {"downloader", "client"})
    if (!has_role(*s.find_group(d.group), role))
      c::fail_msg(c::child(p, "group"),
                  "group \"" + d.group + "\" does not run the " + role + " role");
  auto* f = c::member(w, "files");
  if (!f)
    c::fail_msg(p, "missing \"files\" (the name of a files entry)");
  d.files = c::get_string(*f, c::child(p, "files"));
  if (!has_file_set(s, d.files))
    c::fail(c::child(p, "files"), "the name of an earlier files entry", *f);
  d.interval.a = 60.0 * us_per_s;
  if (auto* iv = c::member(w, "interval"))
    d.interval = parse_duration_dist(*iv, c::child(p, "interval"));
  window(w, p, s, d.start, d.stop);
  if (auto* v = c::member(w, "max_per_node"))
    d.max_per_node = c::get_positive(*v, c::child(p, "max_per_node"));
  return d;
}

} // namespace

spec parse_spec(const json& w, const std::string& p, const scenario& s) {
  c::only_keys(w, p, {"kind", "bootstrap", "provide", "lookups", "downloads", "replication"});
  spec out;
  // Every group that runs kad takes part; its k is the replication target.
  for (auto& g : s.groups)
    if (const json* r = kad_role_of(g)) {
      out.kad_groups.push_back(g.name);
      if (r->is_object())
        if (auto* k = c::member(*r, "k"); k && k->is_number_unsigned())
          out.k = k->get<std::size_t>();
    }
  if (out.kad_groups.empty())
    c::fail_msg(p, "no group runs the kad role");

  auto* b = c::member(w, "bootstrap");
  if (!b)
    c::fail_msg(p, "missing \"bootstrap\" ({\"group\": ..., \"peers\": 3})");
  auto bp = c::child(p, "bootstrap");
  c::require_object(*b, bp);
  c::only_keys(*b, bp, {"group", "peers", "delay"});
  auto* bg = c::member(*b, "group");
  if (!bg)
    c::fail_msg(bp, "missing \"group\" (the bootstrap nodes)");
  out.bootstrap.group = kad_group(*bg, c::child(bp, "group"), s);
  if (auto* v = c::member(*b, "peers")) {
    out.bootstrap.peers = c::get_positive(*v, c::child(bp, "peers"));
    if (out.bootstrap.peers > 64)
      c::fail(c::child(bp, "peers"), "between 1 and 64 bootstrap peers", *v);
  }
  if (auto* v = c::member(*b, "delay"))
    out.bootstrap.delay = c::get_duration(*v, c::child(bp, "delay"));

  if (auto* pv = c::member(w, "provide")) {
    auto pp = c::child(p, "provide");
    c::require_object(*pv, pp);
    c::only_keys(*pv, pp, {"group", "keys", "files", "at", "spread"});
    out.has_provide = true;
    auto& pr = out.provide;
    auto* keys = c::member(*pv, "keys");
    auto* files = c::member(*pv, "files");
    if (!keys == !files)
      c::fail_msg(
        pp, "give either \"keys\" (random keys, with \"group\") or \"files\" (a files entry)");
    if (keys) {
      pr.keys = c::get_positive(*keys, c::child(pp, "keys"));
      if (pr.keys > 1'000'000)
        c::fail(c::child(pp, "keys"), "at most 1000000 keys", *keys);
      auto* g = c::member(*pv, "group");
      if (!g)
        c::fail_msg(pp, "random keys need \"group\" (the providing nodes)");
      pr.group = kad_group(*g, c::child(pp, "group"), s);
    } else {
      if (c::member(*pv, "group"))
        c::fail_msg(c::child(pp, "group"), "files are provided by their holders: no \"group\"");
      pr.files = c::get_string(*files, c::child(pp, "files"));
      if (!has_file_set(s, pr.files))
        c::fail(c::child(pp, "files"), "the name of an earlier files entry", *files);
    }
    if (auto* v = c::member(*pv, "at"))
      pr.at = c::get_duration(*v, c::child(pp, "at"));
    if (auto* v = c::member(*pv, "spread"))
      pr.spread = c::get_duration(*v, c::child(pp, "spread"));
  }

  if (auto* lv = c::member(w, "lookups")) {
    auto lp = c::child(p, "lookups");
    if (lv->is_array()) {
      for (std::size_t i = 0; i < lv->size(); ++i)
        out.lookups.push_back(parse_lookup((*lv)[i], c::index(lp, i), s));
    } else {
      out.lookups.push_back(parse_lookup(*lv, lp, s));
    }
    for (auto& l : out.lookups)
      if (l.verb == lookup_verb::find_providers && !out.has_provide)
        c::fail_msg(lp, "find_providers lookups need a \"provide\" entry (the keys to look up)");
  }

  if (auto* dv = c::member(w, "downloads")) {
    auto dp = c::child(p, "downloads");
    if (dv->is_array()) {
      for (std::size_t i = 0; i < dv->size(); ++i)
        out.downloads.push_back(parse_download((*dv)[i], c::index(dp, i), s));
    } else {
      out.downloads.push_back(parse_download(*dv, dp, s));
    }
  }

  if (auto* rv = c::member(w, "replication")) {
    auto rp = c::child(p, "replication");
    c::require_object(*rv, rp);
    c::only_keys(*rv, rp, {"interval", "records"});
    auto* iv = c::member(*rv, "interval");
    if (!iv)
      c::fail_msg(rp, "missing \"interval\" (how often the holders of records are counted)");
    out.replication.interval = c::get_duration(*iv, c::child(rp, "interval"));
    if (out.replication.interval < us_per_s)
      c::fail(c::child(rp, "interval"), "at least 1s", *iv);
    if (auto* v = c::member(*rv, "records")) {
      out.replication.records = c::get_positive(*v, c::child(rp, "records"));
      if (out.replication.records > 4096)
        c::fail(c::child(rp, "records"), "at most 4096 sampled records", *v);
    }
  }
  return out;
}

const std::vector<std::string>& checker_names() {
  static const std::vector<std::string> names = {"dht_lookups_end",    "dht_findable",
                                                 "dht_lookup_success", "dht_hops",
                                                 "dht_latency",        "dht_replication"};
  return names;
}

void validate_checker(const checker_spec& cs, const std::string& p) {
  const json& j = cs.raw;
  auto need_min = [&](double lo, double hi) {
    auto* m = c::member(j, "min");
    if (!m)
      c::fail_msg(p, cs.check + " needs \"min\"");
    double v = c::get_number(*m, c::child(p, "min"));
    if (v < lo || v > hi)
      c::fail(c::child(p, "min"),
              "a number between " + std::to_string(lo) + " and " + std::to_string(hi), *m);
  };
  auto verb = [&] {
    if (auto* v = c::member(j, "verb")) {
      auto s = c::get_string(*v, c::child(p, "verb"));
      if (s != "find_providers" && s != "find_node")
        c::fail(c::child(p, "verb"), "\"find_providers\" or \"find_node\"", *v);
    }
  };
  if (cs.check == "dht_lookups_end") {
    c::only_keys(j, p, {"check", "grace"});
    if (auto* g = c::member(j, "grace"))
      c::get_duration(*g, c::child(p, "grace"));
  } else if (cs.check == "dht_findable") {
    c::only_keys(j, p, {"check", "min"});
    need_min(0, 1);
  } else if (cs.check == "dht_lookup_success") {
    c::only_keys(j, p, {"check", "min", "verb"});
    need_min(0, 1);
    verb();
  } else if (cs.check == "dht_hops") {
    c::only_keys(j, p, {"check", "max", "quantile", "verb"});
    auto* m = c::member(j, "max");
    if (!m)
      c::fail_msg(p, "dht_hops needs \"max\"");
    c::get_number(*m, c::child(p, "max"));
    if (auto* q = c::member(j, "quantile"))
      c::get_probability(*q, c::child(p, "quantile"));
    verb();
  } else if (cs.check == "dht_latency") {
    c::only_keys(j, p, {"check", "max", "quantile", "verb"});
    auto* m = c::member(j, "max");
    if (!m)
      c::fail_msg(p, "dht_latency needs \"max\" (a duration)");
    if (c::get_duration(*m, c::child(p, "max")) <= 0)
      c::fail(c::child(p, "max"), "a positive duration", *m);
    if (auto* q = c::member(j, "quantile"))
      c::get_probability(*q, c::child(p, "quantile"));
    verb();
  } else if (cs.check == "dht_replication") {
    c::only_keys(j, p, {"check", "min"});
    need_min(0, 64);
  }
}

} // namespace peerlab::sim::dht
