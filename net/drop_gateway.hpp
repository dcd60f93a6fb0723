#pragma once
// One side of the HTTP-over-file-drop gateway (layers 0-2 live).
// Side a accepts HTTP/1.1 requests on a loopback address and carries each as
// a message of the droplog; side b performs them against its upstream server
// and sends the responses back. Between them only packet files in folders
// (net/drop_folder.hpp), usually copied by a mirror that delays, truncates and
// corrupts them. The folder pump, the gateway's state and the upstream client
// run on one Asio io_context thread; side a's HTTP server (net/http_server,
// the server every local API uses) runs its own thread and hands each request
// to that io_context.
#include "net/drop_folder.hpp"
#include "net/drop_gateway_config.hpp"
#include "net/drop_http.hpp"
#include "net/http_server.hpp"
#include "protocols/droplog/host.hpp"
#include "protocols/droplog/http_gateway.hpp"

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>

namespace peerlab {
class kv_store;
}

namespace peerlab::net {

class drop_gateway {
public:
  using log_fn = std::function<void(const std::string&)>;
  /// Opens folders and the state database; throws std::runtime_error.
  /// `store` overrides config.state_db (tests pass an in-memory store; may be null).
  drop_gateway(boost::asio::io_context& io, drop_gateway_config cfg, log_fn log,
               kv_store* store = nullptr);
  ~drop_gateway();
  drop_gateway(const drop_gateway&) = delete;
  drop_gateway& operator=(const drop_gateway&) = delete;

  /// Binds the listener (side a; throws if the address is taken) and starts polling.
  void start();
  /// Stops listening and polling; pending clients get no answer.
  void stop();
  /// The bound HTTP port (side a).
  std::uint16_t port() const;

  const droplog::http::gateway_metrics& metrics() const { return metrics_; }
  const droplog::session_stats& log_stats() const;
  const drop_folder& folder() const { return folder_; }
  /// One JSON object with gateway, log and folder figures.
  std::string metrics_json() const;

private:
  time_us now() const;
  void on_client_request(http_server_request&& r, http_server::respond_fn respond);
  void on_message(peer_id from, droplog::delivered_message& m);
  /// Side b: stores a request the log delivered until its answer is in the log.
  void remember_request(const droplog::delivered_message& m);
  /// Side b at start: performs again the stored requests whose answer never
  /// went into the log (a kill while performing them), if idempotent; others
  /// are answered 502 saying so.
  void resume_unanswered();
  void perform(droplog::http::request&& q);
  void start_upstream(droplog::http::request&& q);
  void send_response(droplog::http::response&& p);
  void pump();
  void schedule_pump(time_us delay);

  boost::asio::io_context& io_;
  drop_gateway_config cfg_;
  log_fn log_;
  std::unique_ptr<kv_store> owned_store_;
  kv_store* store_ = nullptr;
  drop_folder folder_;
  std::unique_ptr<droplog::host> host_;
  peer_id peer_;
  droplog::http::pending_table pending_;
  droplog::http::gateway_metrics metrics_;
  rng ids_;
  std::unique_ptr<http_server> http_; // side a
  boost::asio::steady_timer pump_timer_;
  std::chrono::steady_clock::time_point t0_;
  time_us pump_at_ = 0;
  bool pump_armed_ = false, running_ = false;
  time_us next_metrics_ = 0;
  // Side a: request id -> how to answer its client.
  std::map<std::uint64_t, http_server::respond_fn> waiting_;
  std::size_t upstream_in_flight_ = 0;
  std::uint64_t resumed_ = 0; // side b: stored requests taken up again at start
  std::deque<droplog::http::request> upstream_queue_;
};

} // namespace peerlab::net
