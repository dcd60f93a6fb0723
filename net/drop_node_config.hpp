#pragma once
// The file-drop sections of a node config (docs/live.md, "File-drop
// gateways"): `drop_folders` (the folder transport of the droplog role,
// net/drop_transport.hpp) and `drop_http` (side a's HTTP listener,
// net/drop_listener.hpp, or side b's upstream, net/drop_upstream.hpp).
#include "net/address.hpp"
#include "net/drop_transport.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

namespace peerlab::net {

struct drop_http_config {
  bool side_a = true;
  // side a
  address listen{"127.0.0.1", 0}; // loopback only: an unauthenticated proxy
  peer_id peer = 0;               // side b's node id (default: the droplog role's only peer)
  time_us request_timeout = 120 * us_per_s;
  std::size_t max_connections = 256;
  // side b
  address upstream;
  time_us upstream_timeout = 60 * us_per_s;
  std::size_t max_in_flight = 32, max_queue = 1024;
  // both
  std::uint64_t max_body = 128u << 20;
  time_us metrics_interval = 5 * us_per_s; // a drop_gateway_metrics line this often (0: at exit)
};

/// Parses the two sections of node config `j` (either may be absent) and
/// sets, in `roles` (a copy of the config's "roles", before the roles are
/// built), the droplog role's parameters they imply unless given:
/// delete_files with drop_folders; serve_http and "upstream": "external" on
/// side b; max_http_body, and http_timeout on side a. Throws config_error.
void parse_drop_sections(const nlohmann::json& j, nlohmann::json& roles,
                         const std::filesystem::path& base,
                         std::optional<drop_folders_config>& folders,
                         std::optional<drop_http_config>& http);

/// "127.0.0.1:8000" or "http://127.0.0.1:8000[/]" (an IP literal).
address parse_upstream_address(const nlohmann::json& v, const std::string& path);

} // namespace peerlab::net
