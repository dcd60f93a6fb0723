#include "net/http_server.hpp"

#include "net/address.hpp"
#include "net/http_route.hpp"
#include "net/http_upgrade.hpp"
#include "net/listener.hpp"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

namespace peerlab::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http_server_answer json_error(unsigned status, const std::string& message) {
  nlohmann::json j{{"error", message}, {"status", status}};
  http_server_answer a;
  a.status = status;
  a.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return a;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z')
      ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

} // namespace

class http_server::impl : public std::enable_shared_from_this<impl> {
public:
  class session;

  impl(http_server_options o, std::vector<route> routes, log_fn log)
      : opts_(std::move(o)), routes_(std::move(routes)), log_(std::move(log)) {
    if (opts_.max_connections_per_client == 0)
      opts_.max_connections_per_client = opts_.max_connections;
    if (!log_)
      log_ = [](const std::string& m) { std::fprintf(stderr, "http server: %s\n", m.c_str()); };
    for (auto& r : routes_)
      patterns_.push_back({r.method, r.path});
    policy_.same_site_only = opts_.same_site_only;
    policy_.token = opts_.token;
    policy_.token_hint = opts_.token_hint;
  }

  void start() {
    bound_ = open_listener(ioc_, acceptor_, opts_.listen, opts_.server_name);
    policy_.bound = bound_;
    running_ = true;
    accept();
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    stopped_ = true;
    if (!running_.exchange(false))
      return;
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      if (acceptor_)
        acceptor_->close(ec);
      accept_retry_.cancel();
      close_all();
      ioc_.stop();
    });
    if (thread_.joinable())
      thread_.join();
  }

  // Work posted before start() waits for the io thread: a node learns peers
  // while its transport starts, before its API server runs.
  void post(std::function<void()> fn) {
    if (!stopped_)
      asio::post(ioc_, std::move(fn));
  }

  const std::string& address() const { return bound_; }
  std::size_t connections() const { return open_.load(); }

  /// What the request's line and headers decide (net/http_route.hpp).
  http_route_match decide(const http_route_input& in) const {
    return route_request(policy_, patterns_, in);
  }
  const route& route_at(std::size_t i) const { return routes_[i]; }
  const http_server_options& opts() const { return opts_; }
  asio::io_context& ioc() { return ioc_; }
  bool running() const { return running_; }
  void log(const std::string& m) { log_(m); }
  std::size_t largest_body() const {
    std::size_t n = opts_.max_body;
    for (auto& r : routes_)
      n = std::max(n, r.max_body);
    return n;
  }
  void closed(session* s, bool displaced) {
    auto it = sessions_.find(s);
    if (it == sessions_.end())
      return;
    if (displaced) // its client's count went down when it was displaced
      --displaced_open_;
    else if (auto c = per_client_.find(it->second.client);
             c != per_client_.end() && --c->second == 0)
      per_client_.erase(c);
    sessions_.erase(it);
    open_.store(sessions_.size());
  }

private:
  void run() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log_(std::string("unexpected error: ") + e.what());
      }
    }
  }
  void accept();
  /// Closes the connection (of that client, if given) that has waited longest
  /// for a request header, if at least displace_after; false if none has.
  bool displace_one(const std::string* of_client);
  void close_all();

  // Declared before the io_context: handlers it still holds when it is
  // destroyed own sessions, whose destructors use these.
  struct open_session {
    std::weak_ptr<session> s;
    std::string client; // remote address
  };
  http_server_options opts_;
  std::vector<route> routes_;
  std::vector<http_route_pattern> patterns_; // of routes_
  http_route_policy policy_;                 // bound once listening
  log_fn log_;
  std::string bound_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> open_{0};
  std::map<session*, open_session> sessions_;     // io thread only
  std::map<std::string, std::size_t> per_client_; // open connections per client address
  std::size_t displaced_open_ = 0; // displaced, not yet destroyed (still in sessions_)
  asio::io_context ioc_{1};
  std::optional<tcp::acceptor> acceptor_;
  asio::steady_timer accept_retry_{ioc_};
  std::uint64_t accept_failures_ = 0;
  std::uint64_t displaced_ = 0;
  std::thread thread_;
};

class http_server::impl::session : public std::enable_shared_from_this<session> {
public:
  session(impl& srv, tcp::socket s) : srv_(srv), stream_(std::move(s)), reply_timer_(srv.ioc()) {}
  ~session() { srv_.closed(this, displaced_); }

  void run() { read(); }

  void refuse(bool per_client) {
    keep_alive_ = false;
    send(per_client
           ? json_error(503, "too many connections from this client (at most " +
                               std::to_string(srv_.opts().max_connections_per_client) + ")")
           : json_error(503, "too many connections (at most " +
                               std::to_string(srv_.opts().max_connections) + ")"));
  }

  /// Still waiting for a request header, since when (io thread).
  bool waiting() const { return awaiting_header_ && !displaced_; }
  std::chrono::steady_clock::time_point waiting_since() const { return waiting_since_; }
  /// Closed to make room for a new connection.
  void displace() {
    displaced_ = true;
    close();
  }

  void close() {
    if (handed_over_) // the socket belongs to an upgrade's taker now
      return;
    boost::system::error_code ec;
    reply_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  void read() {
    if (served_ == 0 || buffer_.size() > 0)
      return read_header();
    // Keep-alive: wait up to idle_timeout for the next request to start.
    awaiting_header_ = true;
    waiting_since_ = std::chrono::steady_clock::now();
    stream_.expires_after(std::chrono::microseconds(srv_.opts().idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec)
                                return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.opts().max_header));
    // The parser checks a declared length against this as the header
    // completes: the largest limit of any route, narrowed once the route is known.
    body_limit_ = srv_.largest_body();
    parser_->body_limit(body_limit_);
    if (!awaiting_header_) { // the first request, or one that follows an answer at once
      awaiting_header_ = true;
      waiting_since_ = std::chrono::steady_clock::now();
    }
    stream_.expires_after(
      std::chrono::microseconds(std::min(srv_.opts().header_timeout, srv_.opts().read_timeout)));
    http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  bool limit_error(beast::error_code ec) {
    keep_alive_ = false; // what is left of the request is not read
    linger_ = true;
    if (ec == http::error::body_limit) {
      send(json_error(413, "request body larger than allowed (" + std::to_string(body_limit_) +
                             " bytes)"));
      return true;
    }
    if (ec == http::error::header_limit) {
      send(json_error(431, "request header larger than " + std::to_string(srv_.opts().max_header) +
                             " bytes"));
      return true;
    }
    // Other parse errors of a request that arrived: 400. A client that went
    // away (end of stream, partial message, reset, timeout) gets nothing.
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      send(json_error(400, "malformed HTTP request: " + ec.message()));
      return true;
    }
    return false;
  }

  void on_header(beast::error_code ec) {
    awaiting_header_ = false;
    if (ec) {
      if (!limit_error(ec))
        close();
      return;
    }
    stream_.expires_after(std::chrono::microseconds(srv_.opts().read_timeout)); // the body
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    auto header = [&](http::field f) {
      auto it = req.find(f);
      return it == req.end() ? std::string_view()
                             : std::string_view(it->value().data(), it->value().size());
    };
    match_ = srv_.decide({std::string_view(req.method_string().data(), req.method_string().size()),
                          std::string_view(req.target().data(), req.target().size()),
                          header(http::field::host), header(http::field::origin),
                          header(http::field::authorization)});
    if (match_.status == 403 || match_.status == 401) {
      keep_alive_ = false;
      linger_ = true; // the body, if any, is not read
      srv_.log("refused a request: " + match_.error);
      return send(json_error(match_.status, match_.error));
    }
    route_ = match_.status == 0 ? &srv_.route_at(match_.route) : nullptr;
    body_limit_ = route_ && route_->max_body ? route_->max_body : srv_.opts().max_body;
    parser_->body_limit(body_limit_);
    if (auto n = parser_->content_length(); n && *n > body_limit_) {
      keep_alive_ = false;
      linger_ = true;
      return send(json_error(413, "request body of " + std::to_string(*n) +
                                    " bytes is larger than allowed (" +
                                    std::to_string(body_limit_) + " bytes)"));
    }
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      auto cont =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
                          if (ec)
                            return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec) {
      if (!limit_error(ec))
        close();
      return;
    }
    stream_.expires_never();
    ++served_;
    auto& req = parser_->get();
    http_server_request r;
    r.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    r.target = std::string(target);
    r.path = std::move(match_.path);
    if (!route_) { // 400, 404 or 405, answered once the body is read
      auto a = json_error(match_.status, match_.error);
      if (match_.status == 405)
        a.headers.push_back({"Allow", match_.allowed});
      return send(std::move(a));
    }
    r.query = std::move(match_.query);
    r.params = std::move(match_.params);
    for (auto& f : req) {
      std::string name(f.name_string()), value(f.value());
      if (r.headers.size() < 64)
        r.headers[lower(name)] = value;
      r.header_list.emplace_back(std::move(name), std::move(value)); // bounded by max_header
    }
    boost::system::error_code rec;
    r.client = stream_.socket().remote_endpoint(rec).address().to_string();
    if (route_->upgrade && beast::websocket::is_upgrade(req))
      return upgrade(std::move(r));
    if (!route_->handler) {
      auto a = json_error(426, "this path takes WebSocket connections only");
      a.headers.push_back({"Upgrade", "websocket"});
      return send(std::move(a));
    }
    r.body = std::move(req.body());
    const auto serial = ++serial_;
    waiting_ = serial;
    reply_timer_.expires_after(std::chrono::microseconds(srv_.opts().reply_timeout));
    reply_timer_.async_wait([self = shared_from_this(), serial](beast::error_code ec) {
      if (ec || self->waiting_ != serial)
        return;
      self->waiting_ = 0;
      self->send(json_error(504, "the node did not answer within " +
                                   std::to_string(self->srv_.opts().reply_timeout / us_per_ms) +
                                   " ms"));
    });
    // The answer may come from any thread; it is handed back to the io thread.
    std::weak_ptr<session> weak = shared_from_this();
    auto srv = srv_.shared_from_this(); // the answer may come after the server stopped
    route_->handler(std::move(r), [weak, srv, serial](http_server_answer a) {
      if (!srv->running())
        return;
      asio::post(srv->ioc(), [weak, serial, a = std::move(a)]() mutable {
        auto self = weak.lock();
        if (!self || self->waiting_ != serial)
          return; // timed out or closed
        self->waiting_ = 0;
        self->reply_timer_.cancel();
        self->send(std::move(a));
      });
    });
  }

  // The route decides; a taker gets the socket and this session ends (the
  // server's counts drop as it goes: the taker bounds what it took).
  void upgrade(http_server_request r) {
    auto verdict = route_->upgrade(r);
    if (auto* refusal = std::get_if<http_server_answer>(&verdict)) {
      keep_alive_ = false;
      return send(std::move(*refusal));
    }
    boost::system::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    handed_over_ = true;
    http_upgrade u{std::move(stream_), parser_->release(), {}, {}};
    if (!ec) {
      u.client = remote.address().to_string();
      u.remote = to_string(net::address{u.client, remote.port()});
    }
    u.stream.expires_never();
    std::get<take_fn>(verdict)(std::move(u));
  }

  void send(http_server_answer a) {
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(a.status), version_);
    if (!a.reason.empty())
      res->reason(a.reason);
    if (a.passthrough) {
      for (auto& [k, v] : a.headers)
        res->insert(k, v);
    } else {
      res->set(http::field::server, srv_.opts().server_name);
      res->set(http::field::content_type, a.content_type);
      res->set(http::field::cache_control, "no-store");
      for (auto& [k, v] : a.headers)
        res->set(k, v);
    }
    res->keep_alive(keep_alive_);
    res->body() = std::move(a.body);
    const bool json = !a.passthrough && a.content_type == "application/json";
    if (json && !res->body().empty() && res->body().back() != '\n')
      res->body().push_back('\n');
    res->prepare_payload();
    stream_.expires_after(std::chrono::microseconds(srv_.opts().read_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (!ec && self->linger_)
                          return self->linger();
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  // Reads and drops what the client still sends (at most linger_bytes, for
  // at most read_timeout), then closes: closing with unread data would reset
  // the connection and the client could lose the answer it has not read yet.
  void linger() {
    static constexpr std::size_t linger_bytes = 64u << 20;
    if (!lingering_) {
      lingering_ = true;
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.expires_after(std::chrono::microseconds(srv_.opts().read_timeout));
    }
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > linger_bytes)
                                return self->close();
                              self->linger();
                            });
  }

  impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer reply_timer_;
  const route* route_ = nullptr; // of the request being read
  http_route_match match_;       // what its line and headers decided
  std::size_t body_limit_ = 0;
  std::uint64_t served_ = 0; // requests read in full
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::uint64_t serial_ = 0;     // requests read on this connection
  std::uint64_t waiting_ = 0;    // the request whose answer is awaited, 0 if none
  bool awaiting_header_ = false; // idle, or reading a request header
  bool displaced_ = false;
  bool handed_over_ = false; // stream_ was moved to an upgrade's taker
  std::chrono::steady_clock::time_point waiting_since_{};
  bool linger_ = false; // answered before the request was read in full
  bool lingering_ = false;
  std::size_t lingered_ = 0;
};

void http_server::impl::accept() {
  acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!running_ || ec == asio::error::operation_aborted)
        return;
      // Out of descriptors (EMFILE/ENFILE) the next accept fails at once:
      // wait, then keep accepting; log the first of each run of failures.
      if (++accept_failures_ == 1 || (accept_failures_ & (accept_failures_ - 1)) == 0)
        log_("accept failed: " + ec.message() + " (" + std::to_string(accept_failures_) +
             " so far); retrying in 100 ms");
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](const boost::system::error_code& e) {
        if (!e && running_)
          accept();
      });
      return;
    }
    boost::system::error_code ignored;
    auto client = socket.remote_endpoint(ignored).address().to_string();
    auto s = std::make_shared<session>(*this, std::move(socket));
    bool busy = sessions_.size() - displaced_open_ >= opts_.max_connections;
    if (busy && displace_one(nullptr))
      busy = false;
    bool client_busy = per_client_[client] >= opts_.max_connections_per_client;
    if (!busy && client_busy && displace_one(&client))
      client_busy = false;
    sessions_[s.get()] = {s, client};
    ++per_client_[client];
    open_.store(sessions_.size());
    if (busy || client_busy)
      s->refuse(!busy);
    else
      s->run();
    accept();
  });
}

bool http_server::impl::displace_one(const std::string* of_client) {
  auto now = std::chrono::steady_clock::now();
  std::shared_ptr<session> victim;
  const std::string* victim_client = nullptr;
  for (auto& [_, o] : sessions_) {
    auto s = o.s.lock();
    if (!s || !s->waiting() || (of_client && o.client != *of_client) ||
        now - s->waiting_since() < std::chrono::microseconds(opts_.displace_after))
      continue;
    if (!victim || s->waiting_since() < victim->waiting_since()) {
      victim = s;
      victim_client = &o.client;
    }
  }
  if (!victim)
    return false;
  // It leaves sessions_ when destroyed, a moment later; from now on it no
  // longer counts against either bound.
  if (auto c = per_client_.find(*victim_client); c != per_client_.end() && --c->second == 0)
    per_client_.erase(c);
  ++displaced_open_;
  victim->displace();
  if (++displaced_ == 1 || (displaced_ & (displaced_ - 1)) == 0)
    log_("displaced a connection waiting for its request header to make room (" +
         std::to_string(displaced_) + " so far)");
  return true;
}

void http_server::impl::close_all() {
  std::vector<std::shared_ptr<session>> open;
  for (auto& [_, o] : sessions_)
    if (auto s = o.s.lock())
      open.push_back(s);
  for (auto& s : open)
    s->close();
}

http_server::http_server(http_server_options opts, std::vector<route> routes, log_fn log)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(routes), std::move(log))) {}
http_server::~http_server() { stop(); }
void http_server::start() { impl_->start(); }
void http_server::stop() { impl_->stop(); }
const std::string& http_server::address() const { return impl_->address(); }
void http_server::post(std::function<void()> fn) { impl_->post(std::move(fn)); }
std::size_t http_server::connections() const { return impl_->connections(); }

} // namespace peerlab::net
