#pragma once
// The one HTTP/1.1 server of the local APIs (market API, file-set REST API),
// on Boost.Beast: one io thread, a route table, and every bound in one place
// (http_server_options): connections in all and per client address, header
// size, body size (per route), the time to read a request, the idle time
// between keep-alive requests, and the time a handler has to answer.
//
// A handler runs on the io thread and answers later, from any thread,
// through `respond` (exactly once; later calls are ignored). Errors the
// server produces itself have the body {"error": "...", "status": N}:
//   400 malformed HTTP or a bad percent-escape (net/http_route.hpp), 401 a state-changing request
//   without the API token, 403 a Host or Origin of another site (same_site_only), 404 no route, 405
//   method not allowed on the path (with Allow), 413 body over the route's limit, 431 header over
//   max_header, 503 too many connections, 504 the handler did not answer in time.
// The answer to a request whose handler timed out is dropped. When the server
// answers before it has read a request's body (413, 431), it reads and drops
// what the client still sends for a bounded time before closing (a lingering
// close), so the client sees the answer instead of a reset.
#include "protocols/common/types.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::net {

struct http_server_options {
  std::string listen = "127.0.0.1:0";
  std::size_t max_connections = 32;
  /// Connections from one client address; 0: max_connections.
  std::size_t max_connections_per_client = 0;
  std::size_t max_body = 64 * 1024; // routes without their own limit
  std::size_t max_header = 8 * 1024;
  time_us read_timeout = 10 * us_per_s; // one request's header and body, once it started
  /// A request's header, counted from the connection's start or the end of
  /// the previous answer: honest clients send it at once, so this is short
  /// even where bodies may take long (the file-drop gateway).
  time_us header_timeout = 10 * us_per_s;
  /// When every connection is taken, a new one displaces the connection that
  /// has waited longest for a request header (idle, or still sending it), if
  /// that has waited at least this long; otherwise the new one gets 503.
  /// Sockets that send a byte and then nothing cannot lock clients out.
  time_us displace_after = 1 * us_per_s;
  time_us idle_timeout = 30 * us_per_s;  // a connection waiting for its next request
  time_us reply_timeout = 30 * us_per_s; // the handler's answer
  std::string server_name = "peerlab";
  /// Answer only requests meant for this server: a Host header must name it
  /// (its address, or localhost / [::1] with its port, when it listens on
  /// loopback; any host with its port otherwise), and an Origin header, when
  /// present, must be http:// plus such a host. A web page the user happens
  /// to visit can then neither post to a local API (cross-site request
  /// forgery) nor read it through a rebound DNS name. Off only for a proxy,
  /// whose requests name other sites (the file-drop gateway).
  bool same_site_only = true;
  /// Non-empty: every request that may change state (any method but GET,
  /// HEAD and OPTIONS) must carry "Authorization: Bearer <token>"; 401
  /// otherwise. A local process or a page that gets past the same-site
  /// check still cannot move money or files without reading the node's folder.
  std::string token;
  /// Where the token is kept, named in the 401 answer.
  std::string token_hint = "the node's data_dir/api.token";
};

struct http_server_request {
  std::string method;                         // "GET", "POST", ... as sent
  std::string path;                           // target without the query, as sent
  std::map<std::string, std::string> query;   // percent-decoded (as sent for a "*" route)
  std::vector<std::string> params;            // "{}" segments of the route, percent-decoded
  std::map<std::string, std::string> headers; // names in lower case
  /// Every header as sent (name case and order kept, repeats kept), for
  /// handlers that forward the request, such as the file-drop gateway.
  std::vector<std::pair<std::string, std::string>> header_list;
  std::string target; // as sent, query included
  std::string body;
  std::string client = {}; // the remote address (IP)
};

struct http_server_answer {
  unsigned status = 200;
  std::string body; // JSON unless content_type says otherwise
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  std::string reason = {}; // empty: the standard phrase of status
  /// Send `headers` exactly as given (repeats kept, no Server, Content-Type
  /// or Cache-Control added): a forwarded response, such as the file-drop
  /// gateway's. Content-Length is always set from the body.
  bool passthrough = false;
};

struct http_upgrade; // net/http_upgrade.hpp (Beast types)

/// {"error": message, "status": status} with that status.
http_server_answer json_error(unsigned status, const std::string& message);

class http_server {
public:
  using respond_fn = std::function<void(http_server_answer)>;
  using handler_fn = std::function<void(http_server_request, respond_fn)>;
  using log_fn = std::function<void(const std::string&)>;
  /// Takes over an upgraded connection (io thread, right after `upgrade_fn`).
  using take_fn = std::function<void(http_upgrade&&)>;
  /// A route's answer to a WebSocket upgrade request, on the io thread: the
  /// HTTP answer to send instead (a refusal: 503 when full), or the function
  /// that takes the connection. Deciding and taking happen in one io step,
  /// so a taker may count the connection when it decides.
  using upgrade_fn =
    std::function<std::variant<http_server_answer, take_fn>(const http_server_request&)>;

  /// One entry of the route table. `path` is matched segment by segment; a
  /// segment "{}" matches any one non-empty segment (it lands in params), a
  /// path "*" matches every path, a method "*" every method. The first route
  /// whose path matches and whose method is the request's answers it.
  struct route {
    std::string method;
    std::string path;
    handler_fn handler;
    std::size_t max_body = 0; // 0: options.max_body
    /// Set: a request with "Upgrade: websocket" (and the rest of RFC 6455's
    /// handshake headers) goes here instead of to `handler`; without those
    /// headers `handler` answers, or 426 if there is none.
    upgrade_fn upgrade = {};
  };

  http_server(http_server_options opts, std::vector<route> routes, log_fn log = {});
  ~http_server(); // stops
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and serves on its own thread. Throws std::runtime_error naming the
  /// address if it cannot bind.
  void start();
  /// Closes the listener and every connection, joins the thread. Idempotent.
  void stop();
  /// The bound "ip:port" (after start).
  const std::string& address() const;
  /// Runs `fn` on the io thread (where handlers run); before start() it waits
  /// for the thread; dropped once stopped.
  void post(std::function<void()> fn);
  /// Connections open now (io thread or tests).
  std::size_t connections() const;

private:
  class impl;
  std::shared_ptr<impl> impl_;
};

} // namespace peerlab::net
