#pragma once
// Test pieces for the live proxies (forward_proxy_test, local_proxy_test,
// bench_proxy): origins on 127.0.0.1 with their own io thread, and a client
// whose every operation has a deadline and counts the bytes its socket moved.
#include "net/http_server.hpp"
#include "net/proxy_stream.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace peerlab::test::proxykit {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

/// A raw TCP origin: echo (every byte back), source (N bytes, then close),
/// silent (accepts, never answers), chunked (a chunked HTTP answer
/// "hello world" to every request header) or truncated (an answer that
/// announces 100 bytes, sends 50 and closes).
class raw_origin {
public:
  enum class mode { echo, source, silent, chunked, truncated };
  explicit raw_origin(mode m, std::uint64_t bytes = 0)
      : mode_(m), bytes_(bytes), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~raw_origin() {
    asio::post(io_, [this] {
      error_code ec;
      acceptor_.close(ec);
      for (auto& s : open_)
        if (auto p = s.lock())
          p->close(ec);
      io_.stop();
    });
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port()); }
  std::uint64_t received() const { return received_.load(); }

private:
  struct conn {
    std::shared_ptr<tcp::socket> s;
    std::vector<char> buf = std::vector<char>(64 * 1024, 'o');
    std::uint64_t left = 0;
    std::string pending; // of a chunked request header
  };
  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec)
        return;
      auto c = std::make_shared<conn>();
      c->s = std::make_shared<tcp::socket>(std::move(s));
      c->left = bytes_;
      open_.push_back(c->s);
      if (mode_ == mode::source)
        source(c);
      else if (mode_ != mode::silent)
        read(c);
      else
        hold_.push_back(c);
      accept();
    });
  }
  void read(std::shared_ptr<conn> c) {
    c->s->async_read_some(asio::buffer(c->buf), [this, c](error_code ec, std::size_t n) {
      if (ec)
        return;
      received_ += n;
      if (mode_ == mode::echo)
        return asio::async_write(*c->s, asio::buffer(c->buf.data(), n),
                                 [this, c](error_code ec, std::size_t) {
                                   if (!ec)
                                     read(c);
                                 });
      c->pending.append(c->buf.data(), n);
      auto answers = std::make_shared<std::string>();
      for (auto end = c->pending.find("\r\n\r\n"); end != std::string::npos;
           end = c->pending.find("\r\n\r\n")) {
        c->pending.erase(0, end + 4);
        *answers += mode_ == mode::chunked
                      ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                      : "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(50, 't');
      }
      asio::async_write(*c->s, asio::buffer(*answers), [this, c, answers](error_code ec, auto) {
        if (ec)
          return;
        if (mode_ == mode::truncated && !answers->empty()) {
          c->s->close(ec);
          return;
        }
        read(c);
      });
    });
  }
  void source(std::shared_ptr<conn> c) {
    if (c->left == 0) {
      error_code ec;
      c->s->shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    auto n = std::min<std::uint64_t>(c->left, c->buf.size());
    asio::async_write(*c->s, asio::buffer(c->buf.data(), n), [this, c, n](error_code ec, auto) {
      if (ec)
        return;
      c->left -= n;
      source(c);
    });
  }

  mode mode_;
  std::uint64_t bytes_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::weak_ptr<tcp::socket>> open_;
  std::vector<std::shared_ptr<conn>> hold_;
  std::atomic<std::uint64_t> received_{0};
  std::thread thread_;
};

/// An HTTP origin on net::http_server: GET /hello, POST /echo (the body
/// back), GET /size/N (N bytes of 'x').
class http_origin {
public:
  http_origin()
      : server_(
          [] {
            net::http_server_options o;
            o.same_site_only = false;
            o.max_connections = 64;
            return o;
          }(),
          {{"GET", "/hello",
            [](net::http_server_request, net::http_server::respond_fn r) {
              r({200, "hello", {}, "text/plain"});
            }},
           {"POST", "/echo",
            [](net::http_server_request q, net::http_server::respond_fn r) {
              r({200, q.body, {}, "application/octet-stream"});
            },
            64u << 20},
           {"GET", "/size/{}",
            [](net::http_server_request q, net::http_server::respond_fn r) {
              r({200, std::string(std::stoul(q.params[0]), 'x'), {}, "text/plain"});
            }}},
          [](const std::string&) {}) {
    server_.start();
  }
  std::string authority() const { return server_.address(); }

private:
  net::http_server server_;
};

/// A client socket whose operations run on its own io_context with a
/// deadline (a stuck proxy fails the test instead of hanging it).
class client {
public:
  struct answer {
    unsigned status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;
  };

  explicit client(std::uint16_t port) : sock_(tcp::socket(io_)) {
    error_code ec;
    sock_.socket().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec)
      throw std::runtime_error("connect: " + ec.message());
    sock_.on_bytes([this](std::size_t r, std::size_t w) {
      read_ += r;
      written_ += w;
    });
  }
  explicit client(const std::string& address)
      : client(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)))) {}

  void send(const std::string& bytes, std::chrono::milliseconds limit = 10s) {
    error_code result = asio::error::timed_out;
    asio::async_write(sock_, asio::buffer(bytes), [&](error_code ec, auto) { result = ec; });
    run(limit);
    if (result)
      throw std::runtime_error("send: " + result.message());
  }
  /// One response (keep-alive continues on the same buffer). `head`: no body.
  answer response(std::chrono::milliseconds limit = 10s, bool head = false) {
    http::response_parser<http::string_body> p;
    p.body_limit(1u << 30);
    p.skip(head);
    error_code result = asio::error::timed_out;
    http::async_read(sock_, buf_, p, [&](error_code ec, auto) { result = ec; });
    run(limit);
    if (result)
      throw std::runtime_error("response: " + result.message());
    answer a;
    a.status = p.get().result_int();
    for (auto& f : p.get()) {
      std::string name(f.name_string());
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      a.headers[name] = std::string(f.value());
    }
    a.body = p.get().body();
    return a;
  }
  /// The answer to a CONNECT: a header only (a 2xx has no body; the tunnel follows).
  answer connect_answer(std::chrono::milliseconds limit = 10s) {
    auto a = response(limit, true);
    if (a.status != 200) // an error answer has a body: read it too
      a.body = std::string(static_cast<const char*>(buf_.data().data()), buf_.size());
    return a;
  }
  /// Exactly n bytes (after any buffered ones).
  std::string read_exact(std::size_t n, std::chrono::milliseconds limit = 10s) {
    std::string out = take_buffer(n);
    error_code result{};
    std::size_t got = 0;
    std::vector<char> tmp(n - out.size());
    if (!tmp.empty()) {
      result = asio::error::timed_out;
      asio::async_read(sock_, asio::buffer(tmp), [&](error_code ec, std::size_t k) {
        result = ec;
        got = k;
      });
      run(limit);
    }
    if (result)
      throw std::runtime_error("read_exact: " + result.message());
    return out + std::string(tmp.data(), got);
  }
  /// Reads and drops until the peer closes; returns the bytes, or throws
  /// when `limit` passes first.
  std::uint64_t drain(std::chrono::milliseconds limit = 30s) {
    std::uint64_t n = take_buffer(buf_.size()).size();
    std::vector<char> tmp(256 * 1024);
    bool done = false;
    std::function<void()> loop = [&] {
      sock_.async_read_some(asio::buffer(tmp), [&](error_code ec, std::size_t k) {
        n += k;
        if (ec) {
          done = true;
          return;
        }
        loop();
      });
    };
    loop();
    run(limit);
    if (!done)
      throw std::runtime_error("drain: the peer did not close in time");
    return n;
  }
  /// Reads until nothing arrives for `quiet` or the peer closes; returns the
  /// bytes read. The connection stays usable.
  std::uint64_t read_while_flowing(std::chrono::milliseconds quiet,
                                   std::chrono::milliseconds limit = 30s) {
    std::uint64_t n = take_buffer(buf_.size()).size();
    std::vector<char> tmp(256 * 1024);
    asio::steady_timer idle(io_);
    bool quiet_now = false;
    auto arm = [&] {
      idle.expires_after(quiet);
      idle.async_wait([&](error_code ec) {
        if (ec)
          return; // re-armed or done
        quiet_now = true;
        sock_.socket().cancel();
      });
    };
    std::function<void()> loop = [&] {
      sock_.async_read_some(asio::buffer(tmp), [&](error_code ec, std::size_t k) {
        n += k;
        if (ec || quiet_now) {
          idle.cancel();
          return;
        }
        arm();
        loop();
      });
    };
    arm();
    loop();
    run(limit);
    return n;
  }
  /// True when the peer closed (or reset) within `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    try {
      drain(limit);
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }
  void shutdown_send() {
    error_code ec;
    sock_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  void close() { sock_.close(); }
  std::uint64_t bytes_read() const { return read_; }
  std::uint64_t bytes_written() const { return written_; }

private:
  std::string take_buffer(std::size_t max) {
    auto n = std::min(max, buf_.size());
    std::string out(static_cast<const char*>(buf_.data().data()), n);
    buf_.consume(n);
    return out;
  }
  void run(std::chrono::milliseconds limit) {
    io_.restart();
    io_.run_for(limit);
    if (!io_.stopped()) { // timed out: cancel, let the handlers see it
      sock_.socket().cancel();
      io_.restart();
      io_.run_for(1s);
    }
  }

  asio::io_context io_;
  net::proxy::counted_socket sock_;
  beast::flat_buffer buf_;
  std::uint64_t read_ = 0, written_ = 0;
};

/// Waits up to `limit` for `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

/// What a client sends a forward proxy: an absolute-form GET (no token) and a
/// CONNECT to `authority`.
inline std::string proxy_get(const std::string& authority, const std::string& path) {
  return "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}
inline std::string connect_request(const std::string& authority) {
  return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

} // namespace peerlab::test::proxykit
