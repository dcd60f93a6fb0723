#pragma once
// A small JSON-over-HTTP/1.1 server on Boost.Beast for local control APIs:
// one io thread, bounded connections, bounded header and body, a read
// timeout per request and a reply timeout per handler. The handler runs on
// the io thread and answers later, from any thread, through `respond`
// (exactly once; later calls are ignored). Errors the server produces itself
// have the body {"error": "...", "status": N}:
//   400 malformed HTTP, 413 body over max_body, 431 header over 8 KiB,
//   503 too many connections, 504 the handler did not answer in time.
// The answer to a request whose handler timed out is dropped.
#include "protocols/common/types.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace peerlab::net {

struct http_api_options {
  std::string listen = "127.0.0.1:0";
  std::size_t max_connections = 32;
  std::size_t max_body = 64 * 1024;
  std::size_t max_header = 8 * 1024;
  time_us read_timeout = 10 * us_per_s;  // one request's header and body
  time_us reply_timeout = 30 * us_per_s; // the handler's answer
  std::string server_name = "peerlab";
};

struct http_api_request {
  std::string method;                       // "GET", "POST", ... as sent
  std::string path;                         // target without the query
  std::map<std::string, std::string> query; // raw values (no percent-decoding)
  std::string body;
};

struct http_api_answer {
  unsigned status = 200;
  std::string body; // JSON
  std::vector<std::pair<std::string, std::string>> headers;
};

/// {"error": message, "status": status} with that status.
http_api_answer json_error(unsigned status, const std::string& message);

class http_api_server {
public:
  using respond_fn = std::function<void(http_api_answer)>;
  using handler_fn = std::function<void(http_api_request, respond_fn)>;
  using log_fn = std::function<void(const std::string&)>;

  http_api_server(http_api_options opts, handler_fn handler, log_fn log = {});
  ~http_api_server(); // stops
  http_api_server(const http_api_server&) = delete;
  http_api_server& operator=(const http_api_server&) = delete;

  /// Binds and serves on its own thread. Throws std::runtime_error naming the
  /// address if it cannot bind.
  void start();
  /// Closes the listener and every connection, joins the thread. Idempotent.
  void stop();
  /// The bound "ip:port" (after start).
  const std::string& address() const;
  /// Runs `fn` on the io thread (where handlers run); dropped once stopped.
  void post(std::function<void()> fn);
  /// Connections open now (io thread or tests).
  std::size_t connections() const;

private:
  class impl;
  std::shared_ptr<impl> impl_;
};

} // namespace peerlab::net
