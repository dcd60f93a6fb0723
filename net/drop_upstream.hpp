#pragma once
// Side b of the live file-drop gateway (node config `drop_http`, side "b"):
// the droplog role's upstream. It is a local peer of the role (address
// droplog::upstream_peer_address, net/local_peers.hpp): the role sends it each
// request it takes from the log as a frame [port, layer-2 request], and it
// performs the request against a real HTTP server (Beast client,
// net/drop_http.hpp) and sends back [port, layer-2 response], a 502 or 504 of
// its own when the upstream fails or is late, or a 503 when too many wait.
// Bounds: calls in flight (max_in_flight) and waiting (max_queue). Runs one
// Asio thread of its own.
#include "net/address.hpp"
#include "net/local_peers.hpp"
#include "protocols/droplog/httpmsg.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <thread>

namespace peerlab::net {

struct drop_upstream_options {
  address upstream;
  time_us timeout = 60 * us_per_s; // one upstream call (504 from b after it)
  std::uint64_t max_body = 128u << 20;
  std::size_t max_in_flight = 32;
  std::size_t max_queue = 1024;
};

class drop_upstream {
public:
  using log_fn = std::function<void(const std::string&)>;
  drop_upstream(local_peer_host& host, drop_upstream_options o, log_fn log);
  ~drop_upstream();

  /// Opens the local peer (the role learns it and sends it what waits);
  /// throws std::runtime_error if the node runs no droplog role.
  void start();
  /// Closes the peer; calls in flight are abandoned (side b answers them
  /// again after a restart: the requests are rows until answered).
  void stop();

  struct counters {
    std::uint64_t calls = 0, answered = 0, refused_busy = 0, unreadable = 0;
  };
  counters stats() const;

private:
  void on_frame(bytes frame); // io thread
  void perform(droplog::http::request&& q);
  void reply(droplog::http::response&& p);

  local_peer_host& host_;
  drop_upstream_options o_;
  log_fn log_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<peer_id> id_{0};
  // io thread only
  std::size_t in_flight_ = 0;
  std::deque<droplog::http::request> queue_;
  std::atomic<std::uint64_t> calls_{0}, answered_{0}, busy_{0}, unreadable_{0};
};

} // namespace peerlab::net
