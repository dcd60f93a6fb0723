#include "net/ws_bridge.hpp"

#include "net/http_upgrade.hpp"
#include "net/log_budget.hpp"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace peerlab::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using executor = beast::tcp_stream::executor_type;

namespace {
class ws_session;
std::chrono::microseconds micros(time_us t) { return std::chrono::microseconds(t); }
} // namespace

class ws_bridge::core : public std::enable_shared_from_this<core> {
public:
  core(local_peer_host& host, ws_bridge_options o, log_fn log)
      : opts_(std::move(o)), log_(std::move(log)), host_(&host) {
    if (!log_)
      log_ = [](const std::string& m) { std::fprintf(stderr, "websocket: %s\n", m.c_str()); };
  }

  const ws_bridge_options& opts() const { return opts_; }

  // -- io thread -------------------------------------------------------------
  std::variant<http_server_answer, http_server::take_fn> decide(const http_server_request& r);
  void add(ws_session* s, std::weak_ptr<ws_session> w) { sessions_[s] = std::move(w); }
  void remove(ws_session* s, const std::string& ip) {
    sessions_.erase(s);
    if (auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second == 0)
      per_ip_.erase(it);
    open_.fetch_sub(1);
  }

  // -- any thread: the node, while attached ----------------------------------
  peer_id open_peer(const std::string& remote, local_sink sink) {
    std::lock_guard lock(mu_);
    return host_ ? host_->open_local_peer(opts_.port, remote, std::move(sink)) : 0;
  }
  void to_role(peer_id id, bytes frame) {
    std::lock_guard lock(mu_);
    if (host_)
      host_->local_frame(id, std::move(frame));
  }
  void closed_peer(peer_id id) {
    std::lock_guard lock(mu_);
    if (!host_)
      return;
    if (!opts_.goodbye.empty()) {
      bytes f(1 + opts_.goodbye.size());
      f[0] = opts_.port;
      std::copy(opts_.goodbye.begin(), opts_.goodbye.end(), f.begin() + 1);
      host_->local_frame(id, std::move(f));
    }
    host_->close_local_peer(id);
  }

  void count(const std::string& name, double d = 1) {
    std::lock_guard lock(counters_mu_);
    counters_[name] += d;
  }
  std::map<std::string, double> counters() const {
    std::lock_guard lock(counters_mu_);
    return counters_;
  }
  /// A line any client can cause: within a budget.
  void log_caused(const std::string& line) {
    auto v = budget_.take();
    if (v.suppressed_before > 0)
      log_(std::to_string(v.suppressed_before) +
           " lines about WebSocket clients were not logged (over the budget per 10 s)");
    if (v.allowed)
      log_(line);
  }
  std::size_t open() const { return open_.load(); }
  void stop();

private:
  ws_bridge_options opts_;
  log_fn log_;
  log_budget budget_;
  mutable std::mutex counters_mu_;
  std::map<std::string, double> counters_;
  std::atomic<std::size_t> open_{0};
  std::mutex mu_; // host_, stopping_, exec_
  local_peer_host* host_;
  bool stopping_ = false;
  std::optional<executor> exec_; // of the first socket: the HTTP server's io thread
  // io thread only
  std::map<ws_session*, std::weak_ptr<ws_session>> sessions_;
  std::map<std::string, std::size_t> per_ip_;
  friend class ws_bridge;
};

namespace {

// One WebSocket (io thread). Every way it ends (the client closes, a bound
// closes it, the node stops) fails the pending read; the session then goes
// when its last handler does, and the role hears the goodbye once.
class ws_session : public std::enable_shared_from_this<ws_session> {
public:
  ws_session(std::shared_ptr<ws_bridge::core> c, http_upgrade&& u, std::string ip)
      : core_(std::move(c)), ws_(std::move(u.stream)), req_(std::move(u.request)),
        ip_(std::move(ip)), remote_(std::move(u.remote)), stall_(ws_.get_executor()) {}

  ~ws_session() {
    finish();
    core_->count("ws.closed");
    core_->remove(this, ip_);
  }

  void start() {
    auto& o = core_->opts();
    ws_.read_message_max(o.message_max);
    websocket::stream_base::timeout t;
    t.handshake_timeout = micros(o.handshake_timeout);
    t.idle_timeout = micros(o.idle_timeout);
    t.keep_alive_pings = false; // idle means the page sent nothing, not that TCP is up
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& r) { r.set(beast::http::field::server, "peerlab"); }));
    ws_.async_accept(req_,
                     [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  /// The node is stopping: what is queued goes out, then a close (1001).
  void shutdown() {
    shutting_down_ = true;
    if (id_ == 0)
      return abort(); // still in the handshake
    if (!writing_)
      close(websocket::close_code::going_away, "server stopping");
  }

private:
  void on_accept(beast::error_code ec) {
    req_ = {};
    if (ec) {
      core_->count("ws.handshake_failed");
      return;
    }
    std::weak_ptr<ws_session> weak = shared_from_this();
    auto exec = ws_.get_executor();
    id_ = core_->open_peer(remote_, [weak, exec](bytes f) {
      asio::post(exec, [weak, f = std::move(f)]() mutable {
        if (auto s = weak.lock())
          s->send(std::move(f));
      });
    });
    if (id_ == 0) {
      core_->count("ws.refused_by_node");
      return close(websocket::close_code::try_again_later, "the node is not serving clients now");
    }
    core_->count("ws.opened");
    tokens_ = core_->opts().burst;
    refill_ = std::chrono::steady_clock::now();
    if (shutting_down_)
      return close(websocket::close_code::going_away, "server stopping");
    read();
  }

  void read() {
    ws_.async_read(
      buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    auto& o = core_->opts();
    if (ec) {
      if (ec == websocket::error::message_too_big) {
        core_->count("ws.closed_too_big"); // Beast has sent close 1009
        core_->log_caused("closed the WebSocket of " + remote_ + ": a message over " +
                          std::to_string(o.message_max) + " bytes");
      } else if (ec == beast::error::timeout) {
        core_->count("ws.closed_idle");
      }
      return finish();
    }
    if (!ws_.got_text()) {
      core_->count("ws.closed_binary");
      buf_.consume(buf_.size());
      return close(websocket::close_code::unknown_data,
                   "binary messages are not accepted: send JSON text");
    }
    // Token bucket: rate a second, burst at once.
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min<double>(
      o.burst, tokens_ + std::chrono::duration<double>(now - refill_).count() * o.rate);
    refill_ = now;
    if (tokens_ < 1) {
      core_->count("ws.closed_rate");
      core_->log_caused("closed the WebSocket of " + remote_ + ": more than " +
                        std::to_string(o.rate) + " messages a second");
      return close(websocket::close_code::policy_error,
                   "more than " + std::to_string(o.rate) + " messages a second");
    }
    tokens_ -= 1;
    bytes frame(1 + buf_.size());
    frame[0] = o.port;
    asio::buffer_copy(asio::buffer(frame.data() + 1, buf_.size()), buf_.data());
    buf_.consume(buf_.size());
    core_->count("ws.messages_in");
    core_->to_role(id_, std::move(frame));
    read();
  }

  void send(bytes f) {
    auto& o = core_->opts();
    if (closing_ || f.size() < 2)
      return;
    if (queued_ + f.size() - 1 > o.queue_bytes_max) {
      core_->count("ws.closed_slow");
      core_->log_caused("closed the WebSocket of " + remote_ + ": " + std::to_string(queued_) +
                        " bytes wait to be written (at most " + std::to_string(o.queue_bytes_max) +
                        "): it does not read");
      return abort();
    }
    queued_ += f.size() - 1;
    queue_.emplace_back(f.begin() + 1, f.end());
    if (!writing_)
      write_next();
  }

  void write_next() {
    writing_ = true;
    stall_.expires_after(micros(core_->opts().write_stall));
    stall_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || !s->writing_)
        return;
      s->core_->count("ws.closed_stalled");
      s->core_->log_caused("closed the WebSocket of " + s->remote_ + ": a write did not move for " +
                           std::to_string(s->core_->opts().write_stall / us_per_ms) + " ms");
      s->abort();
    });
    ws_.text(true);
    ws_.async_write(
      asio::buffer(queue_.front()),
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    stall_.cancel();
    if (ec)
      return abort();
    queued_ -= queue_.front().size();
    queue_.pop_front();
    core_->count("ws.messages_out");
    if (!queue_.empty() && !closing_)
      return write_next();
    if (shutting_down_)
      close(websocket::close_code::going_away, "server stopping");
  }

  // A closing handshake (bounded by handshake_timeout); the read it fails ends the session.
  void close(websocket::close_code code, const std::string& reason) {
    if (closing_)
      return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(code, reason),
                    [self = shared_from_this()](beast::error_code) {});
  }

  // No handshake: for a client that does not read (a close frame would queue behind).
  void abort() {
    closing_ = true;
    beast::get_lowest_layer(ws_).close();
  }

  void finish() {
    if (finished_ || id_ == 0)
      return;
    finished_ = true;
    core_->closed_peer(id_);
  }

  std::shared_ptr<ws_bridge::core> core_;
  websocket::stream<beast::tcp_stream> ws_;
  websocket::request_type req_;
  std::string ip_, remote_;
  asio::steady_timer stall_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  peer_id id_ = 0;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refill_{};
  bool writing_ = false, closing_ = false, shutting_down_ = false, finished_ = false;
};

} // namespace

std::variant<http_server_answer, http_server::take_fn>
ws_bridge::core::decide(const http_server_request& r) {
  auto refuse = [&](const std::string& cause, const std::string& why) {
    count("ws.refused_" + cause);
    log_caused("refused a WebSocket from " + r.client + ": " + why);
    return json_error(503, why);
  };
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !host_)
      return refuse("stopping", "the server is stopping");
  }
  if (open_.load() >= opts_.sockets_max)
    return refuse("full", "too many WebSocket connections (at most " +
                            std::to_string(opts_.sockets_max) + ")");
  if (per_ip_[r.client] >= opts_.sockets_per_ip_max)
    return refuse("per_ip", "too many WebSocket connections from this address (at most " +
                              std::to_string(opts_.sockets_per_ip_max) + ")");
  ++per_ip_[r.client];
  open_.fetch_add(1);
  return http_server::take_fn([self = shared_from_this(), ip = r.client](http_upgrade&& u) {
    {
      std::lock_guard lock(self->mu_);
      if (!self->exec_)
        self->exec_.emplace(u.stream.get_executor());
    }
    auto s = std::make_shared<ws_session>(self, std::move(u), ip);
    self->add(s.get(), s);
    s->start();
  });
}

void ws_bridge::core::stop() {
  std::optional<executor> exec;
  {
    std::lock_guard lock(mu_);
    if (stopping_)
      return;
    stopping_ = true;
    exec = exec_;
  }
  if (exec)
    asio::post(*exec, [self = shared_from_this()] {
      std::vector<std::shared_ptr<ws_session>> open;
      for (auto& [_, w] : self->sessions_)
        if (auto s = w.lock())
          open.push_back(s);
      for (auto& s : open)
        s->shutdown();
    });
  // Closing handshakes are bounded by handshake_timeout; what is left then
  // no longer reaches the node.
  auto until = std::chrono::steady_clock::now() + micros(opts_.handshake_timeout) +
               std::chrono::milliseconds(100);
  while (open_.load() > 0 && exec && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::lock_guard lock(mu_);
  host_ = nullptr;
}

ws_bridge::ws_bridge(local_peer_host& host, ws_bridge_options opts, log_fn log)
    : core_(std::make_shared<core>(host, std::move(opts), std::move(log))) {}
ws_bridge::~ws_bridge() { stop(); }

http_server::upgrade_fn ws_bridge::upgrade() {
  return [c = core_](const http_server_request& r) { return c->decide(r); };
}
void ws_bridge::stop() { core_->stop(); }
std::size_t ws_bridge::open() const { return core_->open(); }
std::map<std::string, double> ws_bridge::counters() const { return core_->counters(); }

} // namespace peerlab::net
