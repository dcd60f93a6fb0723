#pragma once
// Side a of the live file-drop gateway (node config `drop_http`, side "a"):
// an HTTP/1.1 listener on a loopback address (net/http_server, one catch-all
// route) that turns each request into the droplog role's `http` command (the
// command the simulator's workload issues, with the client's headers and
// want_message set) and answers from the role's http_response event: the
// carried response as the upstream sent it, or 504 when the role gave up
// waiting. Refusals of the command (command_failed) become their HTTP code.
// Bounds: the server's (connections, header and body size, read and reply
// times); requests waiting for an answer are bounded by the role
// (max_pending_http, 503 above it).
#include "net/address.hpp"
#include "net/http_server.hpp"
#include "protocols/common/command.hpp"
#include "protocols/common/role.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace peerlab::net {

/// Command ids of the listener (the other local APIs use lower ranges).
constexpr std::uint64_t drop_listener_first_command_id = 1ull << 54;

struct drop_listener_options {
  address listen{"127.0.0.1", 0};
  peer_id peer = 0; // side b's node id
  time_us request_timeout = 120 * us_per_s;
  std::uint64_t max_body = 128u << 20;
  std::size_t max_connections = 256;
};

class drop_listener {
public:
  using submit_fn = std::function<bool(const command&)>; // to the droplog role
  using log_fn = std::function<void(const std::string&)>;
  drop_listener(drop_listener_options o, submit_fn submit, log_fn log);
  ~drop_listener();

  /// Binds (throws naming the address if it cannot).
  void start();
  /// Stops listening; requests still waiting close unanswered.
  void stop();
  std::uint16_t port() const;

  /// A droplog role event (CAF thread): true if it answered one of ours.
  bool consume(const event& e);

  struct counters {
    std::uint64_t requests = 0, answered = 0, refused = 0, timeouts = 0, unreadable = 0;
  };
  counters stats() const;

private:
  void on_request(http_server_request&& r, http_server::respond_fn respond);

  drop_listener_options o_;
  submit_fn submit_;
  log_fn log_;
  std::unique_ptr<http_server> http_;
  mutable std::mutex mu_;
  std::map<std::uint64_t, http_server::respond_fn> waiting_;
  std::uint64_t next_id_ = drop_listener_first_command_id;
  counters stats_;
};

} // namespace peerlab::net
