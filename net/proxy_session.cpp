#include "net/proxy_session.hpp"

#include "net/listener.hpp"

#include <cstdio>

namespace peerlab::net::proxy {

namespace {

constexpr time_us linger_time = 1 * us_per_s;
constexpr std::size_t linger_buffer = 4096;

std::chrono::microseconds micros(time_us t) { return std::chrono::microseconds(t); }

} // namespace

void write_answer(counted_socket& s, unsigned status, const std::string& text,
                  std::vector<std::pair<std::string, std::string>> headers, bool keep_alive,
                  std::shared_ptr<void> owner, std::function<void(error_code)> done) {
  auto res =
    std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  res->set(http::field::server, "peerlab-proxy");
  for (auto& [k, v] : headers)
    res->set(k, v);
  if (!text.empty()) {
    res->set(http::field::content_type, "text/plain");
    res->body() = text + "\n";
  }
  res->keep_alive(keep_alive);
  if (status / 100 != 2 || !text.empty())
    res->prepare_payload();
  http::async_write(s, *res,
                    [res, owner = std::move(owner),
                     done = std::move(done)](error_code ec, std::size_t) { done(ec); });
}

// ---- session ----

session::session(tcp::socket s, const session_limits& limits)
    : limits_(limits), client_(std::move(s)),
      cbuf_(limits.max_header + 2 * limits.buffer_bytes + 65536),
      ubuf_(limits.max_header + 2 * limits.buffer_bytes + 65536),
      resolver_(client_.socket().get_executor()), timer_(client_.socket().get_executor()) {}

session::~session() {
  if (gone_)
    gone_();
}

void session::start() {
  // The callbacks reach the session through a weak pointer: the socket lives
  // inside it, so a strong one would keep it alive forever.
  std::weak_ptr<session> weak = shared_from_this();
  client_.on_bytes([this, weak](std::size_t up, std::size_t down) {
    if (weak.expired())
      return;
    touch();
    if (down)
      answered_ = true;
    on_client_bytes(up, down);
  });
  phase(limits_.header_timeout, [this] { close(); });
  watch();
  on_connected();
}

void session::accept_tls(SSL_CTX* ctx, std::function<void()> then) {
  phase(limits_.header_timeout, [this] { close(); });
  client_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), ctx,
                                                       then = std::move(then)](error_code ec) {
    if (self->closed_ || ec)
      return self->close();
    // A TLS connection opens with a handshake record (content type 22).
    unsigned char first = 0;
    error_code peek_ec;
    auto n =
      self->client_.socket().receive(asio::buffer(&first, 1), tcp::socket::message_peek, peek_ec);
    if (peek_ec || n == 0)
      return self->close();
    if (first != 22)
      return self->fail(400, "this proxy accepts TLS only (the node's identity); use "
                             "an https:// proxy address");
    self->client_.secure(ctx);
    self->client_.async_handshake(asio::ssl::stream_base::server, [self, then](error_code hec) {
      if (self->closed_)
        return;
      if (hec)
        return self->close();
      then();
    });
  });
}

void session::secure_upstream(SSL_CTX* ctx, std::function<void()> then) {
  phase(limits_.connect_timeout, [this] {
    upstream_failed(504, "TLS handshake with " + upstream_key_ + " took over " +
                           std::to_string(limits_.connect_timeout / us_per_ms) + " ms");
  });
  upstream_->secure(ctx);
  upstream_->async_handshake(
    asio::ssl::stream_base::client,
    [self = shared_from_this(), then = std::move(then)](error_code ec) {
      if (self->closed_)
        return;
      if (ec)
        return self->upstream_failed(502, "TLS handshake with " + self->upstream_key_ +
                                            " failed: " + ec.message());
      self->phase(self->limits_.idle_timeout, [s = self.get()] { s->close(); });
      then();
    });
}

void session::close() {
  if (closed_)
    return;
  closed_ = true;
  client_.close();
  if (upstream_)
    upstream_->close();
  resolver_.cancel();
  timer_.cancel();
}

void session::touch() { deadline_ = std::chrono::steady_clock::now() + window_; }

void session::phase(time_us window, std::function<void()> expire) {
  window_ = micros(window);
  expire_ = std::move(expire);
  touch();
}

void session::watch() {
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](error_code) {
    if (self->closed_)
      return;
    if (std::chrono::steady_clock::now() >= self->deadline_) {
      auto expire = self->expire_;
      self->touch(); // the expiry decides what follows; never twice at once
      if (expire)
        expire();
      if (self->closed_)
        return;
    }
    self->watch();
  });
}

void session::read_header() {
  req_.emplace();
  req_->header_limit(static_cast<std::uint32_t>(limits_.max_header));
  req_->body_limit(std::numeric_limits<std::uint64_t>::max());
  answered_ = false;
  phase(limits_.header_timeout, [this] { close(); });
  http::async_read_header(
    client_, cbuf_, *req_,
    [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
}

void session::on_header(error_code ec) {
  if (closed_)
    return;
  if (ec == http::error::header_limit)
    return fail(431, "request header over " + std::to_string(limits_.max_header) + " bytes");
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return close();
  if (ec == http::error::buffer_overflow)
    return fail(431, "request header too large");
  if (ec && ec.category() == beast::http::make_error_code(http::error::bad_version).category())
    return fail(400, "malformed request: " + ec.message());
  if (ec)
    return close();
  phase(limits_.idle_timeout, [this] { close(); });
  on_request();
}

void session::fail(unsigned status, const std::string& why,
                   std::vector<std::pair<std::string, std::string>> headers) {
  if (closed_)
    return;
  if (answered_)
    return close(); // part of another answer went out: only closing is honest now
  answered_ = true;
  drop_upstream();
  write_answer(client_, status, "peerlab proxy: " + why, std::move(headers), false,
               shared_from_this(), [self = shared_from_this()](error_code ec) {
                 if (ec)
                   return self->close();
                 self->linger();
               });
}

void session::upstream_failed(unsigned status, const std::string& why) {
  if (closed_ || answered_)
    return close();
  on_upstream_failed(status, why);
  fail(status, why);
}

void session::linger() {
  client_.shutdown_send();
  phase(linger_time, [this] { close(); });
  auto buf = std::make_shared<std::vector<char>>(linger_buffer);
  struct loop {
    std::shared_ptr<session> self;
    std::shared_ptr<std::vector<char>> buf;
    void operator()(error_code ec, std::size_t) {
      if (ec || self->closed_)
        return self->close();
      self->client_.socket().async_read_some(asio::buffer(*buf), *this);
    }
  };
  loop{shared_from_this(), buf}({}, 0);
}

void session::drop_upstream() {
  if (upstream_)
    upstream_->close();
  upstream_.reset();
  upstream_key_.clear();
  ubuf_.consume(ubuf_.size());
}

void session::connect(const std::string& host, std::uint16_t port, endpoint_filter allow,
                      std::function<void()> connected) {
  auto key = host + ":" + std::to_string(port);
  if (upstream_ && upstream_key_ == key && upstream_->socket().is_open())
    return connected();
  drop_upstream();
  phase(limits_.connect_timeout, [this, key] {
    upstream_failed(504, "connecting to " + key + " took over " +
                           std::to_string(limits_.connect_timeout / us_per_ms) + " ms");
  });
  resolver_.async_resolve(
    host, std::to_string(port),
    [self = shared_from_this(), key, allow = std::move(allow),
     connected = std::move(connected)](error_code ec, tcp::resolver::results_type results) {
      if (self->closed_)
        return;
      if (ec)
        return self->upstream_failed(502, "cannot resolve " + key + ": " + ec.message());
      std::vector<tcp::endpoint> eps;
      for (auto& r : results)
        if (!allow || allow(r.endpoint()))
          eps.push_back(r.endpoint());
      if (eps.empty())
        return self->fail(403, "destination " + key + " is not allowed by this proxy");
      self->upstream_key_ = key;
      self->try_connect(std::move(eps), 0, connected);
    });
}

void session::try_connect(std::vector<tcp::endpoint> eps, std::size_t i,
                          std::function<void()> connected) {
  upstream_.emplace(tcp::socket(client_.socket().get_executor()));
  std::weak_ptr<session> weak = shared_from_this();
  upstream_->on_bytes([this, weak](std::size_t read, std::size_t written) {
    if (weak.expired())
      return;
    touch();
    on_upstream_bytes(read, written);
  });
  on_upstream_socket(*upstream_);
  auto ep = eps[i];
  upstream_->socket().async_connect(ep, [self = shared_from_this(), eps = std::move(eps), i,
                                         connected = std::move(connected)](error_code ec) mutable {
    if (self->closed_ || ec == asio::error::operation_aborted)
      return;
    if (!ec) {
      error_code ignored;
      self->upstream_->socket().set_option(tcp::no_delay(true), ignored);
      self->phase(self->limits_.idle_timeout, [s = self.get()] { s->close(); });
      return connected();
    }
    if (i + 1 < eps.size())
      return self->try_connect(std::move(eps), i + 1, std::move(connected));
    self->upstream_failed(502, "cannot connect to " + self->upstream_key_ + ": " + ec.message());
  });
}

void session::start_tunnel() {
  auto take = [](beast::flat_buffer& b) {
    std::string s(static_cast<const char*>(b.data().data()), b.size());
    b.consume(b.size());
    return s;
  };
  auto t = std::make_shared<tunnel>(client_, *upstream_, limits_.buffer_bytes, shared_from_this(),
                                    [self = shared_from_this()](error_code) { self->close(); });
  t->start(take(cbuf_), take(ubuf_));
}

void session::forward(std::function<void(const http::response_header<>&)> on_answer) {
  bool head = req_->get().method() == http::verb::head;
  bool keep = req_->get().keep_alive();
  // While the client sends its body a stall is its own: closed, no 504.
  phase(limits_.idle_timeout, [this] { close(); });
  auto pump = std::make_shared<message_pump<true>>(
    client_, cbuf_, *upstream_, *req_, limits_.buffer_bytes, shared_from_this(),
    [self = shared_from_this(), head, keep, on_answer = std::move(on_answer)](error_code ec) {
      if (self->closed_)
        return;
      // A body cut short by the client: the upstream must not see a whole
      // request, so both connections close.
      if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
          ec == asio::error::eof || ec == asio::error::connection_reset)
        return self->close();
      if (ec)
        return self->upstream_failed(502, "sending the request upstream failed: " + ec.message());
      self->phase(self->limits_.idle_timeout, [s = self.get()] {
        s->upstream_failed(504, "no answer from upstream in " +
                                  std::to_string(s->limits_.idle_timeout / us_per_ms) + " ms");
      });
      self->read_response(head, on_answer, keep);
    });
  pump->start();
}

void session::read_response(bool head,
                            std::function<void(const http::response_header<>&)> on_answer,
                            bool keep) {
  res_.emplace();
  res_->header_limit(static_cast<std::uint32_t>(limits_.max_header));
  res_->body_limit(std::numeric_limits<std::uint64_t>::max());
  res_->skip(head);
  http::async_read_header(
    *upstream_, ubuf_, *res_,
    [self = shared_from_this(), head, keep, on_answer](error_code ec, std::size_t) {
      if (self->closed_)
        return;
      if (ec)
        return self->upstream_failed(502, "bad answer from upstream: " + ec.message());
      if (on_answer)
        on_answer(self->res_->get().base());
      if (self->closed_)
        return;
      unsigned status = self->res_->get().result_int();
      bool interim = status / 100 == 1 && status != 101;
      bool again = keep && self->res_->get().keep_alive() && !self->res_->need_eof();
      self->phase(self->limits_.idle_timeout, [s = self.get()] { s->close(); });
      auto pump = std::make_shared<message_pump<false>>(
        *self->upstream_, self->ubuf_, self->client_, *self->res_, self->limits_.buffer_bytes, self,
        [self, head, keep, interim, again, on_answer](error_code ec) {
          if (self->closed_)
            return;
          if (ec)
            return self->close();
          if (interim)
            return self->read_response(head, on_answer, keep);
          if (!again)
            return self->close();
          self->next_request();
        });
      pump->start();
    });
}

void session::read_response_header(std::function<void()> then) {
  res_.emplace();
  res_->header_limit(static_cast<std::uint32_t>(limits_.max_header));
  res_->body_limit(std::numeric_limits<std::uint64_t>::max());
  phase(limits_.idle_timeout, [this] {
    upstream_failed(504, "no answer from upstream in " +
                           std::to_string(limits_.idle_timeout / us_per_ms) + " ms");
  });
  http::async_read_header(
    *upstream_, ubuf_, *res_,
    [self = shared_from_this(), then = std::move(then)](error_code ec, std::size_t) {
      if (self->closed_)
        return;
      if (ec)
        return self->upstream_failed(502, "bad answer from upstream: " + ec.message());
      then();
    });
}

void session::relay_response_and_close() {
  phase(limits_.idle_timeout, [this] { close(); });
  auto pump = std::make_shared<message_pump<false>>(
    *upstream_, ubuf_, client_, *res_, limits_.buffer_bytes, shared_from_this(),
    [self = shared_from_this()](error_code) { self->close(); });
  pump->start();
}

void session::next_request() { read_header(); }

// ---- server ----

server::server(std::string listen, std::string what, std::size_t max_connections, log_fn log)
    : listen_(std::move(listen)), what_(std::move(what)), max_connections_(max_connections),
      log_(std::move(log)) {}

server::~server() { stop(); }

void server::log(const std::string& m) const {
  if (log_)
    log_(m);
  else
    std::fprintf(stderr, "%s: %s\n", what_.c_str(), m.c_str());
}

void server::start(factory_fn make) {
  make_ = std::move(make);
  bound_ = open_listener(io_, acceptor_, listen_, what_);
  running_ = true;
  accept();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log(std::string("unexpected error: ") + e.what());
      }
    }
  });
}

void server::stop() {
  if (!running_.exchange(false))
    return;
  asio::post(io_, [this] {
    error_code ec;
    if (acceptor_)
      acceptor_->close(ec);
    accept_retry_.cancel();
    for (auto& t : periodic_)
      t->cancel();
    each([](session& s) { s.close(); });
    io_.stop();
  });
  if (thread_.joinable())
    thread_.join();
}

void server::post(std::function<void()> fn) {
  if (running_)
    asio::post(io_, std::move(fn));
}

void server::each(const std::function<void(session&)>& fn) {
  std::vector<std::shared_ptr<session>> live;
  for (auto& [p, w] : sessions_)
    if (auto s = w.lock())
      live.push_back(std::move(s));
  for (auto& s : live)
    fn(*s);
}

void server::every(time_us period, std::function<void()> fn) {
  auto& t = periodic_.emplace_back(std::make_unique<asio::steady_timer>(io_));
  struct tick {
    server* srv;
    asio::steady_timer* t;
    time_us period;
    std::function<void()> fn;
    void arm() {
      t->expires_after(micros(period));
      t->async_wait([me = *this](error_code ec) mutable {
        if (ec || !me.srv->running_)
          return;
        me.fn();
        me.arm();
      });
    }
  };
  tick{this, t.get(), period, std::move(fn)}.arm();
}

void server::accept() {
  acceptor_->async_accept([this](error_code ec, tcp::socket s) {
    if (!running_)
      return;
    if (ec) {
      // Out of descriptors (or similar): wait instead of spinning.
      log("accept failed: " + ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](error_code e) {
        if (!e && running_)
          accept();
      });
      return;
    }
    if (sessions_.size() >= max_connections_)
      refuse(std::move(s));
    else {
      error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      auto sess = make_(std::move(s));
      auto* key = sess.get();
      sessions_[key] = sess;
      open_ = sessions_.size();
      sess->on_gone([this, key] {
        sessions_.erase(key);
        open_ = sessions_.size();
      });
      sess->start();
    }
    accept();
  });
}

void server::refuse(tcp::socket s) {
  auto sock = std::make_shared<tcp::socket>(std::move(s));
  auto body =
    "peerlab proxy: too many connections (at most " + std::to_string(max_connections_) + ")\n";
  auto text = std::make_shared<std::string>(
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: " +
    std::to_string(body.size()) + "\r\n\r\n" + body);
  asio::async_write(*sock, asio::buffer(*text), [sock, text](error_code, std::size_t) {
    error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
    sock->close(ec);
  });
}

} // namespace peerlab::net::proxy
