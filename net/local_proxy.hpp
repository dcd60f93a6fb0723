#pragma once
// The client node's local proxy port (live data plane of the paid proxy,
// docs/proxy-live.md): the user points `curl -x http://127.0.0.1:PORT` or a
// browser at it, and it passes every request and CONNECT on to the upstream
// forward proxy the role chose (net/forward_proxy on a provider), adding
// "Proxy-Authorization: Bearer <token>". The role switches upstreams at run
// time (new requests go to the new one; open tunnels stay where they are),
// learns how many bytes went through each upstream (metered, bounded rate;
// totals() exact) and hears when an upstream fails (refused connection,
// timeout, 407, 403), so it can choose another provider.
//
// Answers it makes itself: 400 malformed request or target, 431 header too
// large, 502 upstream unreachable, TLS handshake failed or another peer than
// the chosen provider, 503 no upstream chosen or too many
// connections, 504 upstream timeout; the upstream's own answers (407, 403,
// its 502...) are passed on.
#include "net/identity.hpp"
#include "net/proxy_meter.hpp"
#include "net/proxy_session.hpp"

#include <memory>
#include <mutex>

namespace peerlab::net {

struct local_proxy_options {
  std::string listen = "127.0.0.1:0"; // loopback only: it spends the user's money
  std::size_t max_connections = 128;
  proxy::session_limits limits;
  std::uint64_t report_bytes = 1u << 20;
  time_us report_interval = 1 * us_per_s;
  /// With an identity the upstream leg is TLS 1.3 with this node's
  /// certificate, and the upstream must prove it is upstream_proxy::provider
  /// (else 502, an upstream failure). Without one (unit tests) it is plain.
  std::shared_ptr<const node_identity> identity;
};

struct upstream_proxy {
  std::string id;       // the role's name for it (provider or session id), used in callbacks
  std::string address;  // "host:port" of the provider's forward proxy
  std::string token;    // its bearer token for this client
  peer_id provider = 0; // the provider node: its TLS certificate must prove this id
};

struct local_proxy_callbacks {
  /// Bytes moved through an upstream since its previous report (io thread).
  std::function<void(const std::string& upstream_id, std::uint64_t up, std::uint64_t down)> metered;
  /// An upstream failed: status 502 (unreachable), 504 (timeout) or the
  /// upstream's own 407 / 403; `why` in words (io thread).
  std::function<void(const std::string& upstream_id, unsigned status, const std::string& why)>
    upstream_failed;
  proxy::log_fn log;
};

class local_proxy {
public:
  /// Throws std::invalid_argument for a listen address that is not loopback.
  local_proxy(local_proxy_options opts, local_proxy_callbacks cbs);
  ~local_proxy();
  local_proxy(const local_proxy&) = delete;
  local_proxy& operator=(const local_proxy&) = delete;

  void start();
  void stop();
  const std::string& address() const;
  /// The upstream for new requests (any thread). Throws std::invalid_argument
  /// for an address that is not "host:port", an empty token, or (with an
  /// identity) no provider id.
  void set_upstream(upstream_proxy u);
  /// No upstream: new requests get 503 (any thread).
  void clear_upstream();
  proxy::byte_totals totals(const std::string& upstream_id) const;
  std::uint64_t reports() const;
  std::size_t connections() const;

  class impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace peerlab::net
