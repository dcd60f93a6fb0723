#pragma once
// The browser CDN's demo site and live signalling server on one HTTP
// listener (docs/live.md "CDN server"):
//
//   GET /               the page: every resource with its size and SHA-224,
//                       and <script>s loading the client bundle
//   GET /index          the listing, exactly as the cdn_origin role serves it
//                       (the origin's `page`; protocols/cdn/site.hpp)
//   GET <resource url>  the resource's bytes; "Range: bytes=a-b" gives 206
//                       with Content-Range (clients resume at an offset)
//   GET /bundle/<file>  a file of the bundle folder (the wasm build's output)
//   GET /signal         WebSocket: browsers as local peers of the node's
//                       cdn_signal role (net/ws_bridge.hpp)
//
// The resources are the synthetic bytes the cdn_origin role builds from the
// same config (cdn::build_site), so browsers, native clients and the
// simulator see the same bytes and hashes. They are built once and held in
// memory, as the role holds them.
#include "net/cdn_site_config.hpp"
#include "net/http_server.hpp"
#include "net/local_peers.hpp"
#include "net/ws_bridge.hpp"
#include "protocols/cdn/site.hpp"

#include <map>
#include <memory>
#include <string>

namespace peerlab::net {

namespace cdn_site_paths {
constexpr const char* signal = "/signal";
constexpr const char* bundle = "/bundle/";
} // namespace cdn_site_paths

/// Why a URL of the origin's site cannot be served next to the site's own
/// routes ("/", /signal, /bundle/...), or empty.
std::string cdn_site_url_conflict(const std::string& url);

/// The HTML of the page at "/" (net/cdn_site_page.cpp).
std::string cdn_site_page(const cdn::built_site& site, const std::string& listing_url,
                          const std::vector<std::string>& scripts, bool has_signal);

class cdn_site {
public:
  using log_fn = std::function<void(const std::string&)>;

  /// `origin`: what the node's cdn_origin role serves. `signal`: the node,
  /// when it runs the cdn_signal role (null: no /signal route); it must
  /// outlive stop().
  cdn_site(cdn_site_config cfg, const cdn::origin_config& origin, local_peer_host* signal,
           log_fn log = {});
  ~cdn_site(); // stop()
  cdn_site(const cdn_site&) = delete;
  cdn_site& operator=(const cdn_site&) = delete;

  /// Binds and serves. Throws std::runtime_error naming the address.
  void start();
  /// Closes the WebSockets (1001, after what is queued for them), then the
  /// listener and every HTTP connection. Idempotent.
  void stop();
  /// The bound "ip:port" (after start).
  const std::string& address() const;
  /// The WebSocket bridge's counters (net/ws_bridge.hpp).
  std::map<std::string, double> counters() const;

private:
  http_server_answer page() const;
  http_server_answer resource(const http_server_request& r) const;
  http_server_answer bundle_file(const std::string& name) const;

  cdn_site_config cfg_;
  std::string listing_url_;
  cdn::built_site site_;
  std::map<std::string, std::size_t> by_url_; // into site_.resources
  std::unique_ptr<ws_bridge> bridge_;         // null without a signal role
  std::unique_ptr<http_server> http_;
  log_fn log_;
};

} // namespace peerlab::net
