#pragma once
// Test clients of the CDN site: a WebSocket client (Beast) whose every wait
// is bounded, so a broken server fails a test instead of hanging it, and a
// one-shot HTTP GET with extra headers.
#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace peerlab::test {

namespace ws_asio = boost::asio;
namespace ws_beast = boost::beast;

class ws_client {
public:
  using ms = std::chrono::milliseconds;

  /// Connects to `address` ("127.0.0.1:PORT") from `from_ip` and asks for
  /// `target`; ok() tells whether the upgrade succeeded, status() the HTTP
  /// answer's status (101, or 503 when refused).
  ws_client(const std::string& address, const std::string& target = "/signal",
            const std::string& from_ip = "127.0.0.1") {
    auto colon = address.rfind(':');
    ws_asio::ip::tcp::endpoint ep(ws_asio::ip::make_address(address.substr(0, colon)),
                                  static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
    auto& sock = ws_beast::get_lowest_layer(ws_).socket();
    sock.open(ep.protocol());
    sock.bind({ws_asio::ip::make_address(from_ip), 0});
    ec_ = wait([&](auto done) { sock.async_connect(ep, done); }, ms(5000));
    if (ec_)
      return;
    ec_ = wait([&](auto done) { ws_.async_handshake(res_, address, target, done); }, ms(5000));
  }

  bool ok() const { return !ec_; }
  unsigned status() const { return res_.result_int(); }
  std::string refusal() const { return res_.body(); }
  const ws_beast::error_code& error() const { return ec_; }
  /// The close frame the server sent (after read() failed with `closed`).
  ws_beast::websocket::close_reason close_reason() const { return ws_.reason(); }

  /// Sends one message (text unless `binary`); false if it could not.
  bool send(const std::string& text, bool binary = false) {
    ws_.binary(binary);
    ec_ = wait([&](auto done) { ws_.async_write(ws_asio::buffer(text), done); }, ms(5000));
    return !ec_;
  }

  /// The next message, or nothing (error() says why: closed, timeout).
  std::optional<std::string> read(ms timeout = ms(5000)) {
    buf_.clear();
    ec_ = wait([&](auto done) { ws_.async_read(buf_, done); }, timeout);
    if (ec_)
      return std::nullopt;
    return ws_beast::buffers_to_string(buf_.data());
  }

  /// A normal close (1000), waiting for the server's answer.
  void close() {
    wait([&](auto done) { ws_.async_close(ws_beast::websocket::close_code::normal, done); },
         ms(5000));
  }

  /// Sets the socket's receive buffer (small: a client that does not read fills it sooner).
  void receive_buffer(int bytes) {
    ws_beast::get_lowest_layer(ws_).socket().set_option(
      ws_asio::socket_base::receive_buffer_size(bytes));
  }

private:
  // Runs one operation for at most `timeout`; past it the socket is closed.
  template <typename Start>
  ws_beast::error_code wait(Start start, ms timeout) {
    bool done = false;
    ws_beast::error_code out;
    start([&](ws_beast::error_code ec, auto&&...) {
      out = ec;
      done = true;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!done) {
      ws_beast::get_lowest_layer(ws_).close();
      ioc_.restart();
      ioc_.run_for(ms(1000));
      return ws_beast::error::timeout;
    }
    return out;
  }

  ws_asio::io_context ioc_;
  ws_beast::websocket::stream<ws_beast::tcp_stream> ws_{ioc_};
  ws_beast::websocket::response_type res_;
  ws_beast::flat_buffer buf_;
  ws_beast::error_code ec_;
};

struct http_answer {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers; // lower-case names
};

/// One GET to `address` with `headers`; throws on a connection error.
inline http_answer http_get(const std::string& address, const std::string& target,
                            const std::map<std::string, std::string>& headers = {}) {
  ws_asio::io_context ioc;
  ws_beast::tcp_stream s(ioc);
  auto colon = address.rfind(':');
  s.expires_after(std::chrono::seconds(10));
  s.connect({ws_asio::ip::make_address(address.substr(0, colon)),
             static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)))});
  namespace http = ws_beast::http;
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, address);
  for (auto& [k, v] : headers)
    req.set(k, v);
  http::write(s, req);
  ws_beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(256u << 20);
  http::read(s, buf, p);
  http_answer a;
  a.status = p.get().result_int();
  a.body = p.get().body();
  for (auto& f : p.get()) {
    std::string name(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    a.headers[name] = std::string(f.value());
  }
  return a;
}

} // namespace peerlab::test
