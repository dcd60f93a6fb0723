#pragma once
// The "cdn_site" object of a live node's config: the CDN's demo site and
// live signalling server on one HTTP listener (net/cdn_site.hpp). Reference:
// docs/live.md "CDN server"; example: examples/cdn_server.json.
//
//   "cdn_site": {"listen": "127.0.0.1:8080", "bundle": "build/cdn-bundle"}
#include "net/ws_bridge.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace peerlab::net {

namespace cdn_site_limits {
/// One signalling message, as the cdn_signal role bounds it (16 KiB).
constexpr std::size_t message_max = 16u << 10;
/// One file of the bundle folder (the wasm build's output).
constexpr std::size_t bundle_file_max = 64u << 20;
} // namespace cdn_site_limits

struct cdn_site_config {
  std::string listen = "127.0.0.1:0";
  /// Served under /bundle/<file> (empty: no bundle, /bundle/ answers 404).
  std::filesystem::path bundle;
  /// The bundle files the page loads with <script>, in this order: by
  /// default what scripts/build_cdn_bundle.sh writes, the page shim last
  /// (it starts by itself on this page).
  std::vector<std::string> scripts = {"simplepeer.min.js", "peerlab_role.js", "host.js",
                                      "cdn_client.js"};
  std::size_t max_connections = 256; // HTTP connections (an upgraded one leaves this count)
  ws_bridge_options ws;              // port, goodbye and message_max set by the node
};

/// Parses `j` (the value of "cdn_site"); `bundle` is taken relative to
/// `base`. A listen address other than a loopback one is refused unless
/// "allow_remote": true. Throws config_error naming the key.
cdn_site_config parse_cdn_site_config(const nlohmann::json& j, const std::string& path,
                                      const std::filesystem::path& base);

} // namespace peerlab::net
