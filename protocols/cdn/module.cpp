#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/geo.hpp"
#include "protocols/common/config_fields.hpp"
#include "protocols/common/module.hpp"

namespace peerlab::cdn {

namespace {

using nlohmann::json;

void check(const std::string& err, const std::string& path) {
  if (!err.empty())
    cfg::fail_msg(path, err);
}

std::shared_ptr<role> signal_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path,
                 {"role", "pairing", "max_peers", "scan_max", "asn_penalty_km", "unknown_km",
                  "client_timeout", "pair_timeout", "rate", "burst", "max_clients", "locations"});
  signal_config c;
  cfg::fields f(p, path);
  if (auto* v = f["pairing"]) {
    auto s = cfg::get_string(*v, f.path("pairing"));
    if (s == "proximity")
      c.pairing = pairing::proximity;
    else if (s == "first_come")
      c.pairing = pairing::first_come;
    else
      cfg::fail(f.path("pairing"), "\"proximity\" or \"first_come\"", *v);
  }
  f.positive("max_peers", c.max_peers);
  f.positive("scan_max", c.scan_max);
  if (auto* v = f["asn_penalty_km"])
    c.asn_penalty_km = cfg::get_number(*v, f.path("asn_penalty_km"));
  if (auto* v = f["unknown_km"])
    c.unknown_km = cfg::get_number(*v, f.path("unknown_km"));
  f.duration("client_timeout", c.client_timeout);
  f.duration("pair_timeout", c.pair_timeout);
  f.positive("rate", c.rate);
  f.positive("burst", c.burst);
  f.positive("max_clients", c.max_clients);
  if (auto* v = f["locations"]) {
    auto lp = f.path("locations");
    cfg::require_array(*v, lp);
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto ip = cfg::index(lp, i);
      auto& e = (*v)[i];
      cfg::require_object(e, ip);
      cfg::only_keys(e, ip, {"prefix", "lat", "lon", "asn"});
      auto& pre = cfg::required(e, ip, "prefix", "an IPv4 prefix such as \"10.1.0.0/16\"");
      auto loc = parse_prefix(cfg::get_string(pre, cfg::child(ip, "prefix")));
      if (!loc)
        cfg::fail(cfg::child(ip, "prefix"), "an IPv4 prefix such as \"10.1.0.0/16\"", pre);
      loc->lat = cfg::get_number(cfg::required(e, ip, "lat"), cfg::child(ip, "lat"));
      loc->lon = cfg::get_number(cfg::required(e, ip, "lon"), cfg::child(ip, "lon"));
      if (loc->lat < -90 || loc->lat > 90 || loc->lon < -180 || loc->lon > 180)
        cfg::fail_msg(ip, "lat must be in [-90, 90] and lon in [-180, 180]");
      if (auto* a = cfg::member(e, "asn"))
        loc->asn = static_cast<std::uint32_t>(cfg::get_count(*a, cfg::child(ip, "asn")));
      c.locations.push_back(*loc);
    }
  }
  check(c.validate(), path);
  return make_signal(c);
}

std::shared_ptr<role> origin_from_json(const json& p, const std::string& path, const std::string&) {
  cfg::only_keys(p, path, {"role", "page", "resources"});
  origin_config c;
  cfg::fields f(p, path);
  f.text("page", c.page);
  if (auto* v = f["resources"]) {
    auto rp = f.path("resources");
    cfg::require_array(*v, rp);
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto ip = cfg::index(rp, i);
      auto& e = (*v)[i];
      cfg::require_object(e, ip);
      cfg::only_keys(e, ip, {"url", "size", "count"});
      resource_spec r;
      r.url = cfg::get_string(cfg::required(e, ip, "url", "a path such as \"/img/1.png\""),
                              cfg::child(ip, "url"));
      r.size = cfg::get_size(cfg::required(e, ip, "size"), cfg::child(ip, "size"));
      // "count": n expands to n resources url-0 .. url-(n-1) (large sites in scenarios).
      std::uint64_t n = 1;
      if (auto* cnt = cfg::member(e, "count")) {
        n = cfg::get_positive(*cnt, cfg::child(ip, "count"));
        if (n > bounds::listing_entries_max)
          cfg::fail(cfg::child(ip, "count"), "at most 1024", *cnt);
        for (std::uint64_t k = 0; k < n; ++k)
          c.resources.push_back(resource_spec{r.url + "-" + std::to_string(k), r.size});
      } else {
        c.resources.push_back(r);
      }
    }
  }
  check(c.validate(), path);
  return make_origin(c);
}

std::shared_ptr<role> client_from_json(const json& p, const std::string& path,
                                       const std::string& adversary) {
  cfg::only_keys(p, path, {"role",           "server",        "origin",        "server_address",
                           "origin_address", "load",          "join_at_start", "want",
                           "fanout",         "first_window",  "window",        "peer_deadline",
                           "stall_timeout",  "fetch_timeout", "link_timeout",  "heartbeat",
                           "join_timeout",   "backoff_base",  "backoff_cap",   "jitter",
                           "cache_entries",  "cache_bytes",   "max_fetches",   "serve_rate",
                           "serve_burst",    "external_links"});
  client_config c;
  cfg::fields f(p, path);
  f.count("server", c.server);
  c.origin = c.server;
  f.count("origin", c.origin);
  f.text("server_address", c.server_address);
  f.text("origin_address", c.origin_address);
  if (c.origin_address.empty())
    c.origin_address = c.server_address;
  f.text("load", c.load);
  f.flag("join_at_start", c.join_at_start);
  f.positive("want", c.want);
  f.positive("fanout", c.fanout);
  f.size("first_window", c.first_window);
  f.size("window", c.window);
  f.duration("peer_deadline", c.peer_deadline);
  f.duration("stall_timeout", c.stall_timeout);
  f.duration("fetch_timeout", c.fetch_timeout);
  f.duration("link_timeout", c.link_timeout);
  f.duration("heartbeat", c.heartbeat);
  f.duration("join_timeout", c.join_timeout);
  f.duration("backoff_base", c.backoff_base);
  f.duration("backoff_cap", c.backoff_cap);
  f.flag("jitter", c.jitter);
  f.count("cache_entries", c.cache_entries);
  f.size("cache_bytes", c.cache_bytes);
  f.positive("max_fetches", c.max_fetches);
  f.size("serve_rate", c.serve_rate);
  f.size("serve_burst", c.serve_burst);
  f.flag("external_links", c.external_links);
  check(c.validate(), path);
  auto s = client_strategy::honest;
  if (adversary == "corrupt_content")
    s = client_strategy::corrupt_content;
  else if (adversary == "stall")
    s = client_strategy::stall;
  return make_client(c, s);
}

} // namespace

const peerlab::module& module() {
  static const peerlab::module m{
    "cdn",
    "docs/protocols/cdn.md",
    {{ports::cdn_signal, "cdn_signal"},
     {ports::cdn_origin, "cdn_origin"},
     {ports::cdn_client, "cdn_client"}},
    {{"cdn_signal", signal_from_json, {}, R"({"role": "cdn_signal"})"},
     {"cdn_origin",
      origin_from_json,
      {},
      R"({"role": "cdn_origin", "resources": [{"url": "/a.js", "size": "10KiB"}]})"},
     {"cdn_client",
      client_from_json,
      {"corrupt_content", "stall"},
      R"({"role": "cdn_client", "server": 0})"}},
    {},
  };
  return m;
}

} // namespace peerlab::cdn
