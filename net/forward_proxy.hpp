#pragma once
// The provider's HTTP/1.1 forward proxy (live data plane of the paid proxy,
// docs/proxy-live.md). Clients send absolute-form requests
// ("GET http://host:port/path") or open CONNECT host:port tunnels, each with
// "Proxy-Authorization: Bearer <token>". The role decides who may pass
// (authorize), learns how many bytes each client moved (metered, at a bounded
// rate; totals() is exact), and can cut a client off at once (terminate).
//
// With a node identity the clients connect with TLS 1.3 and their own node
// certificate; a token presented by another peer than the one it was issued
// to is refused (403), one presented without a certificate gets 407.
//
// Answers the proxy makes itself: 400 malformed request or target, or plain
// HTTP to a TLS proxy, 402 client past the bytes the role allows it (its
// allowance fell: a payment failed), 403 terminated client, destination not allowed or
// token of another peer, 407 (with "Proxy-Authenticate: Bearer") token
// missing or unknown, or no client certificate over TLS, 429 too many
// connections of one client, 431 header too large, 502 upstream unreachable
// or broken, 503 too many connections, 504 upstream connect or answer timeout.
#include "net/identity.hpp"
#include "net/proxy_meter.hpp"
#include "net/proxy_session.hpp"

#include <memory>
#include <set>

namespace peerlab::net {

struct forward_proxy_options {
  std::string listen = "127.0.0.1:0";
  /// Listening on anything but a loopback address must be asked for: a
  /// provider opens its proxy to the world on purpose.
  bool allow_remote = false;
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 32;
  proxy::session_limits limits;
  /// A report per client when this many bytes are unreported, or when
  /// unreported bytes are report_interval old.
  std::uint64_t report_bytes = 1u << 20;
  time_us report_interval = 1 * us_per_s;
  /// Destinations in loopback, private, link-local and similar ranges
  /// (proxy::is_internal_address) are refused unless this is set: a client
  /// must not reach the provider's own services or its local network. Tests
  /// set it to reach origins on 127.0.0.1.
  bool allow_internal_destinations = false;
  /// With an identity the proxy accepts TLS 1.3 only, with this node's
  /// certificate, and asks the client for its own: a token is honoured only
  /// from the peer it was issued to (proxy_authorization::peer). Without one
  /// (unit tests) it speaks plain HTTP.
  std::shared_ptr<const node_identity> identity;
};

struct proxy_authorization {
  enum class verdict { allowed, unknown, terminated };
  verdict result = verdict::unknown;
  std::string client_id; // when allowed
  peer_id peer = 0;      // when allowed: the node the token was issued to (checked over TLS)
};

struct forward_proxy_callbacks {
  /// Decides on a bearer token; runs on the proxy's io thread for every
  /// request and must not block.
  std::function<proxy_authorization(const std::string& token)> authorize;
  /// Bytes moved for a client since its previous report (io thread).
  std::function<void(const std::string& client_id, std::uint64_t up, std::uint64_t down)> metered;
  /// Further restricts destinations (after the internal-range rule): host as
  /// the client named it, port, resolved address. Empty: all others allowed.
  std::function<bool(const std::string& host, std::uint16_t port,
                     const boost::asio::ip::address& resolved)>
    allow_destination;
  proxy::log_fn log;
  /// The most bytes (up + down) the client may move. Its reads wait (its
  /// traffic pauses, new requests too) before it would pass it, until
  /// allowance_changed() raises it; a client already past it (the allowance
  /// fell) has its connections closed, its bytes reported at once and its
  /// new requests answered 402. Io thread, must not block; empty: no limit.
  std::function<std::uint64_t(const std::string& client_id)> allowance;
  /// A client's traffic paused at its allowance (once per pause; io thread).
  std::function<void(const std::string& client_id)> stalled;
};

class forward_proxy {
public:
  /// Throws std::invalid_argument for a non-loopback listen address without
  /// allow_remote, or a missing authorize callback.
  forward_proxy(forward_proxy_options opts, forward_proxy_callbacks cbs);
  ~forward_proxy();
  forward_proxy(const forward_proxy&) = delete;
  forward_proxy& operator=(const forward_proxy&) = delete;

  /// Binds (throws std::runtime_error naming the address) and serves on its own thread.
  void start();
  void stop();
  const std::string& address() const;
  /// The client's allowance changed: paused reads try again (any thread).
  void allowance_changed(const std::string& client_id);
  /// Refuses the client's further requests (403) and closes its open
  /// connections and tunnels now; any thread.
  void terminate(const std::string& client_id);
  /// Exact bytes moved for the client so far (up: from it, down: to it), any thread.
  proxy::byte_totals totals(const std::string& client_id) const;
  /// Reports made through `metered` so far.
  std::uint64_t reports() const;
  std::size_t connections() const;

  class impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace peerlab::net
