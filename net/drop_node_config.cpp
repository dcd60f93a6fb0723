#include "net/drop_node_config.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/droplog/httpmsg.hpp"

namespace peerlab::net {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

address read_address(const json& v, const std::string& path) {
  std::string err;
  auto a = parse_address(cfg::get_string(v, path), err);
  if (!a)
    cfg::fail(path, "\"host:port\" with an IP literal (" + err + ")", v);
  return *a;
}

bool is_loopback(const std::string& host) { return host.rfind("127.", 0) == 0 || host == "::1"; }

fs::path folder(const json& s, const std::string& path, const char* key, const fs::path& base) {
  fs::path p = cfg::get_string(cfg::required(s, path, key), cfg::child(path, key));
  if (p.empty())
    cfg::fail_msg(cfg::child(path, key), "a non-empty folder path");
  return p.is_absolute() ? p : base / p;
}

drop_folders_config parse_folders(const json& s, const fs::path& base) {
  const std::string path = "drop_folders";
  cfg::require_object(s, path);
  cfg::only_keys(s, path, {"out_dir", "in_dir", "rescan", "max_write_queue", "max_file"});
  drop_folders_config c;
  c.out_dir = folder(s, path, "out_dir", base);
  c.in_dir = folder(s, path, "in_dir", base);
  cfg::fields f(s, path);
  f.duration("rescan", c.rescan_interval);
  if (c.rescan_interval <= 0)
    cfg::fail_msg(cfg::child(path, "rescan"), "must be positive");
  f.size("max_write_queue", c.max_write_queue_bytes);
  f.size("max_file", c.limits.max_file_bytes);
  return c;
}

drop_http_config parse_http(const json& s) {
  const std::string path = "drop_http";
  cfg::require_object(s, path);
  cfg::only_keys(s, path,
                 {"side", "listen", "peer", "request_timeout", "max_connections", "upstream",
                  "upstream_timeout", "max_in_flight", "max_queue", "max_body",
                  "metrics_interval"});
  drop_http_config c;
  auto side = cfg::get_string(cfg::required(s, path, "side"), path + ".side");
  if (side != "a" && side != "b")
    cfg::fail(path + ".side", "\"a\" (HTTP listener) or \"b\" (performs requests upstream)",
              s["side"]);
  c.side_a = side == "a";
  const std::set<std::string> only_a{"listen", "peer", "request_timeout", "max_connections"};
  const std::set<std::string> only_b{"upstream", "upstream_timeout", "max_in_flight", "max_queue"};
  for (auto& k : c.side_a ? only_b : only_a)
    if (cfg::member(s, k))
      cfg::fail_msg(cfg::child(path, k),
                    std::string("only side ") + (c.side_a ? "b" : "a") + " takes this");
  cfg::fields f(s, path);
  if (c.side_a) {
    if (auto* v = cfg::member(s, "listen"))
      c.listen = read_address(*v, path + ".listen");
    if (!is_loopback(c.listen.host))
      cfg::fail_msg(path + ".listen", "the gateway is an unauthenticated proxy: bind a loopback "
                                      "address (127.x.x.x or ::1)");
    f.count("peer", c.peer);
    f.duration("request_timeout", c.request_timeout);
    if (c.request_timeout <= 0)
      cfg::fail_msg(path + ".request_timeout", "must be positive");
    f.positive("max_connections", c.max_connections);
  } else {
    c.upstream = parse_upstream_address(cfg::required(s, path, "upstream"), path + ".upstream");
    f.duration("upstream_timeout", c.upstream_timeout);
    if (c.upstream_timeout <= 0)
      cfg::fail_msg(path + ".upstream_timeout", "must be positive");
    f.positive("max_in_flight", c.max_in_flight);
    f.positive("max_queue", c.max_queue);
  }
  f.size("max_body", c.max_body);
  if (c.max_body > droplog::http::limits::body_bytes_max)
    cfg::fail(path + ".max_body",
              "at most " + std::to_string(droplog::http::limits::body_bytes_max >> 20) + "MiB",
              s["max_body"]);
  f.duration("metrics_interval", c.metrics_interval);
  return c;
}

} // namespace

address parse_upstream_address(const json& v, const std::string& path) {
  auto text = cfg::get_string(v, path);
  if (text.rfind("http://", 0) == 0) {
    text = text.substr(7);
    if (!text.empty() && text.back() == '/')
      text.pop_back();
  }
  std::string err;
  auto a = parse_address(text, err);
  if (!a)
    cfg::fail(path, "\"http://IP:port\" or \"IP:port\" (" + err + ")", v);
  return *a;
}

void parse_drop_sections(const json& j, json& roles, const fs::path& base,
                         std::optional<drop_folders_config>& folders,
                         std::optional<drop_http_config>& http) {
  if (auto* v = cfg::member(j, "drop_folders"))
    folders = parse_folders(*v, base);
  if (auto* v = cfg::member(j, "drop_http"))
    http = parse_http(*v);
  if (!folders && !http)
    return;
  json* drop = nullptr;
  if (roles.is_array())
    for (auto& r : roles)
      if (r.is_object() && r.contains("role") && r["role"] == "droplog") {
        if (drop)
          cfg::fail_msg("roles", "drop_folders and drop_http need exactly one droplog role");
        drop = &r;
      }
  if (!drop)
    cfg::fail_msg(folders ? "drop_folders" : "drop_http", "needs the \"droplog\" role in roles");
  auto set = [&](const char* k, json v) {
    if (!drop->contains(k))
      (*drop)[k] = std::move(v);
  };
  if (folders)
    set("delete_files", true);
  if (!http)
    return;
  set("max_http_body", http->max_body);
  if (http->side_a) {
    set("http_timeout", std::to_string(http->request_timeout) + "us");
    if (http->peer == 0) {
      auto* peers = drop->contains("peers") ? &(*drop)["peers"] : nullptr;
      if (!peers || !peers->is_array() || peers->size() != 1 || !(*peers)[0].is_number_unsigned())
        cfg::fail_msg("drop_http.peer",
                      "missing: the droplog role has not exactly one peer to send requests to");
      http->peer = (*peers)[0].get<std::uint64_t>();
    }
  } else {
    set("serve_http", true);
    set("upstream", "external");
  }
}

} // namespace peerlab::net
