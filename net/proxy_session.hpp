#pragma once
// The connection handling both live proxies share: an io thread with a
// listener and a bound on connections (server), and one client connection
// (session): reading request headers under a size bound and a timeout,
// answering errors, connecting to the next hop under a timeout, relaying a
// request and its response or a tunnel, and closing idle connections. What
// a request means (authorization, where it goes, what is added) is decided
// by the derived sessions of net/forward_proxy and net/local_proxy.
#include "net/proxy_stream.hpp"
#include "protocols/common/types.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

namespace peerlab::net::proxy {

using log_fn = std::function<void(const std::string&)>;

struct session_limits {
  std::size_t max_header = 16 * 1024;
  time_us header_timeout = 10 * us_per_s;  // a request header, from the connection's start
                                           // or the end of the previous answer
  time_us idle_timeout = 60 * us_per_s;    // no byte moved on either socket
  time_us connect_timeout = 10 * us_per_s; // resolving and connecting the next hop
  std::size_t buffer_bytes = 64 * 1024;    // per direction of a relay
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket s, const session_limits& limits);
  virtual ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start();
  /// Closes both sockets; pending operations end with errors. Idempotent.
  void close();
  bool is_closed() const { return closed_; }
  /// Runs when the session is destroyed (the server forgets it).
  void on_gone(std::function<void()> fn) { gone_ = std::move(fn); }

protected:
  using request_parser = http::request_parser<http::buffer_body>;
  using response_parser = http::response_parser<http::buffer_body>;
  using endpoint_filter = std::function<bool(const tcp::endpoint&)>;

  /// The client connected: read its requests (read_requests), or first
  /// something else (a TLS handshake, accept_tls).
  virtual void on_connected() { read_requests(); }
  /// A request header is in req(); answer it (fail, tunnel, forward).
  virtual void on_request() = 0;
  /// Bytes moved on the client's socket (metering).
  virtual void on_client_bytes(std::size_t up, std::size_t down) = 0;
  /// A new upstream socket (not connected yet), and bytes moved on it.
  virtual void on_upstream_socket(counted_socket&) {}
  virtual void on_upstream_bytes(std::size_t read, std::size_t written) {
    (void)read;
    (void)written;
  }
  /// The next hop could not be reached or did not answer (before the 502/504).
  virtual void on_upstream_failed(unsigned status, const std::string& why) {
    (void)status;
    (void)why;
  }
  /// fail() after on_upstream_failed(why).
  void upstream_failed(unsigned status, const std::string& why);

  request_parser& req() { return *req_; }
  counted_socket& client() { return client_; }
  counted_socket& upstream() { return *upstream_; }
  bool has_upstream() const { return upstream_.has_value(); }
  beast::flat_buffer& client_buffer() { return cbuf_; }
  beast::flat_buffer& upstream_buffer() { return ubuf_; }
  const session_limits& limits() const { return limits_; }

  /// Answers `status` with `why` as text and closes (after a short lingering
  /// read, so the client sees the answer rather than a reset).
  void fail(unsigned status, const std::string& why,
            std::vector<std::pair<std::string, std::string>> headers = {});
  /// Waits for the client's requests, one after another.
  void read_requests() { read_header(); }
  /// The client must open with a TLS handshake (server side, `ctx`), done
  /// within header_timeout; then `then`. A client that sends anything but a
  /// TLS record first gets a plain 400 saying so; a failed handshake closes.
  void accept_tls(SSL_CTX* ctx, std::function<void()> then);
  /// TLS handshake (client side, `ctx`) on the freshly connected upstream
  /// within connect_timeout, then `then`; a failure is an upstream failure (502).
  void secure_upstream(SSL_CTX* ctx, std::function<void()> then);
  /// Connects the upstream socket to host:port, reusing an open connection to
  /// the same place. Endpoints `allow` refuses are skipped (403 when none is
  /// left); 502 when every connect failed, 504 past connect_timeout.
  void connect(const std::string& host, std::uint16_t port, endpoint_filter allow,
               std::function<void()> connected);
  /// Relays client and upstream both ways until both end; bytes already read
  /// past the headers go first.
  void start_tunnel();
  /// Sends the request in req() (as edited) upstream and relays the answer.
  /// `on_answer` sees each response header before it is relayed.
  void forward(std::function<void(const http::response_header<>&)> on_answer);
  /// Reads a response header from upstream (the answer to a CONNECT the
  /// derived session wrote), then calls `then`; fails with 502/504 itself.
  void read_response_header(std::function<void()> then);
  response_parser& res() { return *res_; }
  /// Relays the response in res() to the client, then closes.
  void relay_response_and_close();
  /// Waits for the next request on a kept-alive connection.
  void next_request();
  /// Timer phases: after `window` without a byte moved, `expire` runs.
  void phase(time_us window, std::function<void()> expire);
  void drop_upstream();

private:
  void read_header();
  void on_header(error_code ec);
  void watch();
  void touch();
  void try_connect(std::vector<tcp::endpoint> eps, std::size_t i, std::function<void()> connected);
  void read_response(bool head, std::function<void(const http::response_header<>&)> on_answer,
                     bool keep);
  void linger();

  session_limits limits_;
  counted_socket client_;
  std::optional<counted_socket> upstream_;
  std::string upstream_key_; // host:port of upstream_
  beast::flat_buffer cbuf_, ubuf_;
  std::optional<request_parser> req_;
  std::optional<response_parser> res_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::microseconds window_{0};
  std::function<void()> expire_;
  bool answered_ = false; // bytes of the current answer went to the client
  bool closed_ = false;
  std::function<void()> gone_;
};

/// An io thread, a listener and the open sessions. Past max_connections a new
/// connection gets 503 and is closed.
class server {
public:
  using factory_fn = std::function<std::shared_ptr<session>(tcp::socket)>;
  server(std::string listen, std::string what, std::size_t max_connections, log_fn log);
  ~server();

  /// Binds (throws std::runtime_error naming the address) and serves.
  void start(factory_fn make);
  void stop();
  const std::string& address() const { return bound_; }
  asio::io_context& io() { return io_; }
  void post(std::function<void()> fn);
  std::size_t connections() const { return open_.load(); }
  void log(const std::string& m) const;
  /// Runs `fn` on every open session (io thread).
  void each(const std::function<void(session&)>& fn);
  /// Every `period`, `fn` (io thread), until stopped.
  void every(time_us period, std::function<void()> fn);

private:
  void accept();
  void refuse(tcp::socket s);

  std::string listen_, what_, bound_;
  std::size_t max_connections_;
  log_fn log_;
  factory_fn make_;
  // Before the io_context: sessions it still holds when destroyed erase
  // themselves from here.
  std::map<session*, std::weak_ptr<session>> sessions_;
  std::atomic<std::size_t> open_{0};
  asio::io_context io_{1};
  std::optional<tcp::acceptor> acceptor_;
  asio::steady_timer accept_retry_{io_};
  std::vector<std::unique_ptr<asio::steady_timer>> periodic_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

} // namespace peerlab::net::proxy
