#include "net/node_config.hpp"

#include <charconv>
#include "protocols/proxy/proxy.hpp"

#include "net/config_text.hpp"

#include <boost/asio/ip/address.hpp>

#include "protocols/common/config_fields.hpp"
#include "protocols/common/json_depth.hpp"
#include "net/address.hpp"
#include "net/cdn_site.hpp"
#include "protocols/cdn/origin.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/market/market.hpp"

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace peerlab::net {

namespace {

using nlohmann::json;

std::string get_address(const json& v, const std::string& path) {
  auto text = cfg::get_string(v, path);
  std::string err;
  auto a = parse_address(text, err);
  if (!a)
    cfg::fail(path, "\"host:port\" with an IP address (" + err + ")", v);
  return to_string(*a);
}

std::vector<std::string> get_addresses(const json& v, const std::string& path, bool need_port) {
  cfg::require_array(v, path);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto p = cfg::index(path, i);
    auto a = get_address(v[i], p);
    if (need_port && a.ends_with(":0"))
      cfg::fail(p, "a peer address with a port other than 0", v[i]);
    out.push_back(a);
  }
  return out;
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base / path;
}

provide_spec get_provide(const json& v, const std::string& path,
                         const std::filesystem::path& base) {
  provide_spec s;
  if (v.is_string()) {
    s.path = resolve(base, v.get<std::string>());
  } else if (v.is_object()) {
    cfg::only_keys(v, path, {"path", "name", "price"});
    const auto& p = cfg::required(v, path, "path");
    s.path = resolve(base, cfg::get_string(p, cfg::child(path, "path")));
    if (auto* n = cfg::member(v, "name"))
      s.name = cfg::get_string(*n, cfg::child(path, "name"));
    if (auto* pr = cfg::member(v, "price"))
      s.price = cfg::get_count(*pr, cfg::child(path, "price"));
  } else {
    cfg::fail(path, "a file path or an object {\"path\", \"name\", \"price\"}", v);
  }
  if (s.path.empty())
    cfg::fail(path, "a non-empty file path", v);
  return s;
}

download_spec get_download(const json& v, const std::string& path) {
  cfg::only_keys(v, path, {"hash", "providers"});
  download_spec d;
  const auto& h = cfg::required(v, path, "hash");
  auto hp = cfg::child(path, "hash");
  auto hash = digest_from_hex(cfg::get_string(h, hp));
  if (!hash)
    cfg::fail(hp, "a SHA-256 as 64 hex digits", h);
  d.hash = *hash;
  auto* p = cfg::member(v, "providers");
  if (!p)
    return d; // no providers: the node finds them through the DHT (checked below)
  auto pp = cfg::child(path, "providers");
  d.providers = get_addresses(*p, pp, true);
  if (d.providers.empty())
    cfg::fail(pp, "at least one provider address", *p);
  if (d.providers.size() > limits::providers_per_download_max)
    cfg::fail(pp, "at most " + std::to_string(limits::providers_per_download_max) + " providers",
              *p);
  return d;
}

bool has_role(const node_config& c, port_t port) {
  for (auto& r : c.roles)
    if (r->port() == port)
      return true;
  return false;
}

// The live proxies the proxy roles drive (net/proxy_shell.hpp).
void parse_proxy_fields(const json& j, node_config& c) {
  if (auto* v = cfg::member(j, "proxy_listen")) {
    c.proxy_listen = get_address(*v, "proxy_listen");
    auto host = c.proxy_listen->substr(0, c.proxy_listen->rfind(':'));
    if (host.size() > 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    if (ec || !ip.is_loopback())
      cfg::fail("proxy_listen", "a loopback address (the local proxy spends the node's money)", *v);
    if (!has_role(c, ports::proxy_client))
      cfg::fail_msg("proxy_listen", "needs the \"proxy_client\" role in roles");
  }
  if (auto* v = cfg::member(j, "proxy_allow_internal")) {
    c.proxy_allow_internal = cfg::get_bool(*v, "proxy_allow_internal");
    if (!has_role(c, ports::proxy))
      cfg::fail_msg("proxy_allow_internal", "needs the \"proxy_provider\" role in roles");
  }
}

// The CDN site serves what the node's cdn_origin role serves.
void parse_cdn_site(const json& j, const std::filesystem::path& base, node_config& c) {
  auto* v = cfg::member(j, "cdn_site");
  if (!v)
    return;
  c.cdn_site = parse_cdn_site_config(*v, "cdn_site", base);
  const cdn::origin* origin = nullptr;
  for (auto& r : c.roles)
    if (auto* o = dynamic_cast<const cdn::origin*>(r.get()))
      origin = o;
  if (!origin)
    cfg::fail_msg("cdn_site", "needs the \"cdn_origin\" role in roles (the site serves its "
                              "listing and resources)");
  auto check = [&](const std::string& url) {
    if (auto why = cdn_site_url_conflict(url); !why.empty())
      cfg::fail_msg("cdn_site", "the cdn_origin role's " + why + ": rename it");
  };
  check(origin->config().page);
  for (auto& r : origin->config().resources)
    check(r.url);
}

shaping_config parse_shaping(const json& v, const std::string& path,
                             const std::filesystem::path& base) {
  cfg::only_keys(v, path, {"scenario", "seed", "node", "peers", "start_unix_us", "time_scale"});
  shaping_config s;
  auto sp = cfg::child(path, "scenario");
  auto file = cfg::get_string(cfg::required(v, path, "scenario"), sp);
  if (file.empty())
    cfg::fail(sp, "a scenario file path", v["scenario"]);
  s.scenario = resolve(base, file);
  if (auto* m = cfg::member(v, "seed"))
    s.seed = cfg::get_count(*m, cfg::child(path, "seed"));
  const auto& peers = cfg::required(v, path, "peers");
  auto pp = cfg::child(path, "peers");
  cfg::require_array(peers, pp);
  if (peers.empty())
    cfg::fail(pp, "the peer id of every node, in scenario order", peers);
  constexpr std::size_t peers_max = 2'000'000; // a scenario's bound on nodes
  if (peers.size() > peers_max)
    cfg::fail(pp, "at most " + std::to_string(peers_max) + " peers", peers);
  std::set<peer_id> seen;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    auto ip = cfg::index(pp, i);
    auto id = peers[i].is_string() ? parse_u64(peers[i].get<std::string>()) : std::nullopt;
    if (!id)
      cfg::fail(ip, "a peer id as a decimal string", peers[i]);
    if (!seen.insert(*id).second)
      cfg::fail(ip, "a peer id not listed before", peers[i]);
    s.peers.push_back(*id);
  }
  auto np = cfg::child(path, "node");
  auto node = cfg::get_count(cfg::required(v, path, "node"), np);
  if (node >= s.peers.size())
    cfg::fail(np, "an index into peers (below " + std::to_string(s.peers.size()) + ")", v["node"]);
  s.node = static_cast<std::uint32_t>(node);
  auto tp = cfg::child(path, "start_unix_us");
  s.start_unix_us = static_cast<std::int64_t>(
    std::min<std::uint64_t>(cfg::get_count(cfg::required(v, path, "start_unix_us"), tp),
                            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  if (auto* m = cfg::member(v, "time_scale")) {
    auto xp = cfg::child(path, "time_scale");
    s.time_scale = cfg::get_number(*m, xp);
    if (!(s.time_scale > 0 && s.time_scale <= 1e6))
      cfg::fail(xp, "a positive number up to 1000000 (wall seconds per scenario second)", *m);
  }
  return s;
}

} // namespace

node_config parse_node_config(const json& j, const std::filesystem::path& base) {
  cfg::only_keys(j, "", {"name",         "listen",
                         "peers",        "data_dir",
                         "roles",        "adversary",
                         "provide",      "seed",
                         "downloads",    "exit_when_done",
                         "run_for",      "provider_wait",
                         "fileset_http", "kad_bootstrap",
                         "dht_provide",  "api",
                         "plaintext",    "fileset_http_allow_remote",
                         "proxy_listen", "proxy_allow_internal",
                         "cdn_site",     "control",
                         "address_book", "shaping",
                         "drop_folders", "drop_http"});
  node_config c;
  auto required = [&](const char* key) -> const json& {
    auto* v = cfg::member(j, key);
    if (!v)
      cfg::fail_msg(key, "missing (required)");
    return *v;
  };
  c.name = cfg::get_string(required("name"), "name");
  if (c.name.empty())
    cfg::fail("name", "a non-empty string", j["name"]);
  if (auto* v = cfg::member(j, "listen"))
    c.listen = get_address(*v, "listen");
  if (auto* v = cfg::member(j, "peers"))
    c.peers = get_addresses(*v, "peers", true);
  auto dd = cfg::get_string(required("data_dir"), "data_dir");
  if (dd.empty())
    cfg::fail("data_dir", "a non-empty folder path", j["data_dir"]);
  c.data_dir = resolve(base, dd);
  std::string adversary;
  if (auto* v = cfg::member(j, "adversary"))
    adversary = cfg::get_string(*v, "adversary");
  json roles = required("roles"); // the file-drop sections imply droplog parameters
  parse_drop_sections(j, roles, base, c.drop_folders, c.drop_http);
  c.roles = make_roles(roles, "roles", adversary);
  if (auto* v = cfg::member(j, "provide")) {
    cfg::require_array(*v, "provide");
    for (std::size_t i = 0; i < v->size(); ++i)
      c.provide.push_back(get_provide((*v)[i], cfg::index("provide", i), base));
  }
  if (auto* v = cfg::member(j, "seed"))
    c.seed = cfg::get_count(*v, "seed");
  if (auto* v = cfg::member(j, "downloads")) {
    cfg::require_array(*v, "downloads");
    for (std::size_t i = 0; i < v->size(); ++i)
      c.downloads.push_back(get_download((*v)[i], cfg::index("downloads", i)));
    bool has_downloader = false;
    for (auto& r : c.roles)
      has_downloader |= r->port() == ports::file_downloader;
    if (!c.downloads.empty() && !has_downloader)
      cfg::fail_msg("downloads", "needs the \"downloader\" role in roles");
  }
  // Kademlia: bootstrap nodes, announcing provided files, downloads whose
  // providers are found through the DHT. All need the kad role.
  bool has_kad = false;
  for (auto& r : c.roles)
    has_kad |= r->port() == ports::kad;
  if (auto* v = cfg::member(j, "kad_bootstrap")) {
    c.kad_bootstrap = get_addresses(*v, "kad_bootstrap", true);
    if (!has_kad)
      cfg::fail_msg("kad_bootstrap", "needs the \"kad\" role in roles");
  }
  if (auto* v = cfg::member(j, "dht_provide")) {
    c.dht_provide = cfg::get_bool(*v, "dht_provide");
    if (c.dht_provide && !has_kad)
      cfg::fail_msg("dht_provide", "needs the \"kad\" role in roles");
  }
  for (std::size_t i = 0; i < c.downloads.size(); ++i)
    if (c.downloads[i].providers.empty() && !has_kad)
      cfg::fail_msg(cfg::index("downloads", i),
                    "missing \"providers\" (or the \"kad\" role in roles to find them in the DHT)");
  if (auto* v = cfg::member(j, "plaintext"))
    c.plaintext = cfg::get_bool(*v, "plaintext");
  if (auto* v = cfg::member(j, "exit_when_done"))
    c.exit_when_done = cfg::get_bool(*v, "exit_when_done");
  if (c.exit_when_done && c.downloads.empty())
    cfg::fail_msg("exit_when_done", "needs at least one entry in downloads");
  if (auto* v = cfg::member(j, "run_for")) {
    c.run_for = cfg::get_duration(*v, "run_for");
    if (*c.run_for <= 0)
      cfg::fail("run_for", "a positive duration", *v);
  }
  if (auto* v = cfg::member(j, "provider_wait")) {
    c.provider_wait = cfg::get_duration(*v, "provider_wait");
    if (c.provider_wait <= 0)
      cfg::fail("provider_wait", "a positive duration", *v);
  }
  if (auto* v = cfg::member(j, "api")) {
    c.api = parse_api_config(*v, "api", base, c.data_dir);
    // The API builds its account role from its own keys; a second one would
    // share its port and its rows.
    for (auto& r : c.roles)
      if (r->port() == ports::api)
        cfg::fail_msg("api", "runs the \"account\" role itself: remove it from roles and set "
                             "ledger, ledger_timeout and max_list under \"api\"");
  }
  if (auto* v = cfg::member(j, "fileset_http")) {
    c.fileset_http = get_address(*v, "fileset_http");
    bool remote = false;
    if (auto* r = cfg::member(j, "fileset_http_allow_remote"))
      remote = cfg::get_bool(*r, "fileset_http_allow_remote");
    boost::system::error_code ec;
    auto host = c.fileset_http->substr(0, c.fileset_http->rfind(':'));
    if (host.size() > 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    auto ip = boost::asio::ip::make_address(host, ec);
    if (!remote && (ec || !ip.is_loopback()))
      cfg::fail("fileset_http",
                "a loopback address (the API stores files; set \"fileset_http_allow_remote\": "
                "true to serve it elsewhere)",
                *v);
    bool has_fileset = false;
    for (auto& r : c.roles)
      has_fileset |= r->port() == ports::fileset;
    if (!has_fileset)
      cfg::fail_msg("fileset_http", "needs the \"fileset\" role in roles");
  }
  parse_proxy_fields(j, c);
  parse_cdn_site(j, base, c);
  if (auto* v = cfg::member(j, "control")) {
    if (!v->is_string() || v->get<std::string>() != "stdin")
      cfg::fail("control", "\"stdin\" (commands as JSON lines on standard input)", *v);
    c.control_stdin = true;
  }
  if (auto* v = cfg::member(j, "address_book")) {
    if (!v->is_object())
      cfg::fail("address_book", "an object {\"<peer id>\": \"ip:port\", ...}", *v);
    for (auto& [k, addr] : v->items()) {
      auto p = cfg::child("address_book", k);
      std::uint64_t id = 0;
      auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
      if (k.empty() || ec != std::errc() || end != k.data() + k.size())
        cfg::fail_msg(p, "the key must be a peer id (a decimal integer)");
      c.address_book.emplace_back(id, get_address(addr, p));
    }
  }
  if (auto* v = cfg::member(j, "shaping"))
    c.shaping = parse_shaping(*v, "shaping", base);
  return c;
}

node_config parse_node_config_text(std::string_view text, const std::filesystem::path& base) {
  return parse_node_config(parse_config_text(text), base);
}

node_config load_node_config(const std::filesystem::path& file) {
  std::string text = read_config_file(file);
  try {
    auto base = file.parent_path();
    return parse_node_config_text(text, base.empty() ? std::filesystem::path(".") : base);
  } catch (const config_error& e) {
    throw config_error(file.string() + ": " + e.what());
  }
}

} // namespace peerlab::net
