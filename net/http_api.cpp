#include "net/http_api.hpp"

#include "net/address.hpp"
#include "net/listener.hpp"

#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

namespace peerlab::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

http_api_answer json_error(unsigned status, const std::string& message) {
  nlohmann::json j{{"error", message}, {"status", status}};
  return {status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
}

namespace {

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty() && out.size() < 32) {
    auto amp = q.find('&');
    auto kv = q.substr(0, amp);
    auto eq = kv.find('=');
    if (!kv.empty())
      out[std::string(kv.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

} // namespace

class http_api_server::impl : public std::enable_shared_from_this<impl> {
public:
  class session;

  impl(http_api_options o, handler_fn h, log_fn log)
      : opts_(std::move(o)), handler_(std::move(h)), log_(std::move(log)) {
    if (!log_)
      log_ = [](const std::string& m) { std::fprintf(stderr, "http api: %s\n", m.c_str()); };
  }

  void start() {
    bound_ = open_listener(ioc_, acceptor_, opts_.listen, "http api");
    running_ = true;
    accept();
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    if (!running_.exchange(false))
      return;
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      if (acceptor_)
        acceptor_->close(ec);
      close_all();
      ioc_.stop();
    });
    if (thread_.joinable())
      thread_.join();
  }

  void post(std::function<void()> fn) {
    if (running_)
      asio::post(ioc_, std::move(fn));
  }

  const std::string& address() const { return bound_; }
  std::size_t connections() const { return open_.load(); }
  const http_api_options& opts() const { return opts_; }
  asio::io_context& ioc() { return ioc_; }
  bool running() const { return running_; }
  void log(const std::string& m) { log_(m); }
  void handle(http_api_request r, respond_fn f) { handler_(std::move(r), std::move(f)); }
  void closed(session* s) {
    sessions_.erase(s);
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
  void close_all();

  // Declared before the io_context: handlers it still holds when it is
  // destroyed own sessions, whose destructors use these.
  http_api_options opts_;
  handler_fn handler_;
  log_fn log_;
  std::string bound_;
  std::atomic<bool> running_{false};
  std::atomic<std::size_t> open_{0};
  std::map<session*, std::weak_ptr<session>> sessions_; // io thread only
  asio::io_context ioc_{1};
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
};

class http_api_server::impl::session : public std::enable_shared_from_this<session> {
public:
  session(impl& srv, tcp::socket s) : srv_(srv), stream_(std::move(s)), reply_timer_(srv.ioc()) {}
  ~session() { srv_.closed(this); }

  void run() { read(); }

  void refuse() {
    keep_alive_ = false;
    send(json_error(503, "too many connections (at most " +
                           std::to_string(srv_.opts().max_connections) + ")"));
  }

  void close() {
    boost::system::error_code ec;
    reply_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.opts().max_header));
    parser_->body_limit(srv_.opts().max_body);
    stream_.expires_after(std::chrono::microseconds(srv_.opts().read_timeout));
    http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  bool limit_error(beast::error_code ec) {
    keep_alive_ = false; // what is left of the request is not read
    if (ec == http::error::body_limit) {
      send(json_error(413, "request body larger than " + std::to_string(srv_.opts().max_body) +
                             " bytes"));
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
    if (ec) {
      if (!limit_error(ec))
        close();
      return;
    }
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (auto n = parser_->content_length(); n && *n > srv_.opts().max_body) {
      keep_alive_ = false;
      return send(json_error(413, "request body of " + std::to_string(*n) +
                                    " bytes is larger than " +
                                    std::to_string(srv_.opts().max_body) + " bytes"));
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
    auto& req = parser_->get();
    http_api_request r;
    r.method = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos)
      r.query = parse_query(target.substr(q + 1));
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
    srv_.handle(std::move(r), [weak, srv, serial](http_api_answer a) {
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

  void send(http_api_answer a) {
    auto res = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(a.status), version_);
    res->set(http::field::server, srv_.opts().server_name);
    res->set(http::field::content_type, "application/json");
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : a.headers)
      res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(a.body);
    if (!res->body().empty() && res->body().back() != '\n')
      res->body().push_back('\n');
    res->prepare_payload();
    stream_.expires_after(std::chrono::microseconds(srv_.opts().read_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer reply_timer_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::uint64_t serial_ = 0;  // requests read on this connection
  std::uint64_t waiting_ = 0; // the request whose answer is awaited, 0 if none
};

void http_api_server::impl::accept() {
  acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (running_ && ec != asio::error::operation_aborted)
        accept();
      return;
    }
    auto s = std::make_shared<session>(*this, std::move(socket));
    const bool busy = sessions_.size() >= opts_.max_connections;
    sessions_[s.get()] = s;
    open_.store(sessions_.size());
    if (busy)
      s->refuse();
    else
      s->run();
    accept();
  });
}

void http_api_server::impl::close_all() {
  std::vector<std::shared_ptr<session>> open;
  for (auto& [_, w] : sessions_)
    if (auto s = w.lock())
      open.push_back(s);
  for (auto& s : open)
    s->close();
}

http_api_server::http_api_server(http_api_options opts, handler_fn handler, log_fn log)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(handler), std::move(log))) {}
http_api_server::~http_api_server() { stop(); }
void http_api_server::start() { impl_->start(); }
void http_api_server::stop() { impl_->stop(); }
const std::string& http_api_server::address() const { return impl_->address(); }
void http_api_server::post(std::function<void()> fn) { impl_->post(std::move(fn)); }
std::size_t http_api_server::connections() const { return impl_->connections(); }

} // namespace peerlab::net
