#pragma once
// WebSocket clients as local peers of one role (net/local_peers.hpp): the
// live signalling server's door for browsers. It knows no protocol: each
// accepted WebSocket gets a fresh peer id from the node, the role on `port`
// gets peer_up(id, "ip:port"), every text message becomes the frame
// [port] + text from that id, every frame the node sends to the id is written
// as a text message without its port byte, and when the socket closes the
// role gets [port] + `goodbye` from the id.
//
// Bounds (ws_bridge_options; docs/live.md "CDN server"): message size
// (Beast's read_message_max: a larger message closes the socket with 1009),
// sockets in all and per client IP (503 to the upgrade request beyond), a
// write queue per socket (a browser that does not read is disconnected, not
// buffered for), a write that does not move for write_stall (disconnected),
// messages per second per socket (1008 beyond the burst), the time to
// answer the upgrade and to close, and the idle time with nothing received
// (no keep-alive pings: a browser's heartbeat must come from its page).
// Binary messages are refused with 1003 and a reason.
//
// Sockets run on the io thread of the HTTP server that took their upgrade
// request (net/http_server.hpp, route.upgrade = bridge.upgrade()).
#include "net/http_server.hpp"
#include "net/local_peers.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace peerlab::net {

struct ws_bridge_options {
  port_t port = 0;          // the role the clients talk to (frame byte 0)
  std::string goodbye = {}; // the text delivered from a client whose socket closed ("": none)
  std::size_t message_max = 16u << 10;       // one message, as received
  std::size_t sockets_max = 4096;            // open WebSockets
  std::size_t sockets_per_ip_max = 32;       // open WebSockets of one client IP
  std::size_t queue_bytes_max = 256u << 10;  // bytes waiting to be written to one socket
  time_us write_stall = 10 * us_per_s;       // a write that does not finish by then: disconnected
  time_us handshake_timeout = 10 * us_per_s; // writing the upgrade answer; a close handshake
  time_us idle_timeout = 60 * us_per_s;      // nothing received for this long: closed
  std::uint32_t rate = 50;                   // messages a second per socket (token bucket) ...
  std::uint32_t burst = 200;                 // ... and at once; beyond: closed with 1008
};

class ws_bridge {
public:
  using log_fn = std::function<void(const std::string&)>;

  /// `host` must outlive the bridge's sockets: call stop() before it goes.
  ws_bridge(local_peer_host& host, ws_bridge_options opts, log_fn log = {});
  ~ws_bridge(); // stop()
  ws_bridge(const ws_bridge&) = delete;
  ws_bridge& operator=(const ws_bridge&) = delete;

  /// For the route that takes the upgrades (http_server::route::upgrade).
  http_server::upgrade_fn upgrade();

  /// Refuses new sockets, closes the open ones (1001, after what is queued
  /// for them, within handshake_timeout), waits for them at most that long
  /// and detaches from `host`. Idempotent; call before the HTTP server stops.
  void stop();

  /// Sockets open now (any thread).
  std::size_t open() const;
  /// Opened, refused and closed sockets by cause ("ws.opened",
  /// "ws.closed_too_big", ...), for the node's counters.
  std::map<std::string, double> counters() const;

  class core; // shared with the sockets, which may outlive this object briefly
private:
  std::shared_ptr<core> core_;
};

} // namespace peerlab::net
