#pragma once
// The HTTP ends of the file-drop gateways (Boost.Beast): side a's server
// connection, which reads one request at a time and later writes the answer
// that came back through the log, and side b's upstream call. Also the
// conversions between Beast messages and the layer-2 messages of
// protocols/droplog/httpmsg.hpp.
#include "net/address.hpp"
#include "protocols/droplog/httpmsg.hpp"

#include <utility> // before Asio: boost/asio/awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace peerlab::net {

namespace beast_http = boost::beast::http;
using http_body = beast_http::vector_body<std::uint8_t>;
using beast_request = beast_http::request<http_body>;
using beast_response = beast_http::response<http_body>;

/// A client's request as a layer-2 message (hop-by-hop headers removed).
/// nullopt with `why` set if it cannot be carried (e.g. absolute-form target).
std::optional<droplog::http::request> to_message(beast_request&& r, std::string& why);
/// A layer-2 response as what side a writes to its client.
beast_response to_beast(droplog::http::response&& p, unsigned version, bool keep_alive);
/// A layer-2 request as what side b sends upstream (Host set to `upstream`).
beast_request to_beast(droplog::http::request&& q, const address& upstream);
/// An upstream response as a layer-2 message for request `id`.
droplog::http::response to_message(beast_response&& r, std::uint64_t id);
/// A short plain-text response made by a gateway itself (400, 413, 502, 503, 504).
droplog::http::response error_response(std::uint64_t id, std::uint16_t status,
                                       const std::string& text);

/// Side a: one client connection. The gateway gets each request through
/// `on_request` and answers later with respond(); one request at a time.
class client_connection : public std::enable_shared_from_this<client_connection> {
public:
  using request_handler = std::function<void(std::shared_ptr<client_connection>, beast_request&&)>;
  using closed_handler = std::function<void(std::uint64_t id)>;
  client_connection(boost::asio::ip::tcp::socket s, std::uint64_t id, std::uint64_t max_body,
                    request_handler on_request, closed_handler on_closed);
  void start();
  void respond(droplog::http::response&& p);
  std::uint64_t id() const { return id_; }
  void close();

private:
  void read();
  void finish(bool keep_alive);
  void drain(); // lingering close: read what the client still sends, so it sees our answer

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<http_body>> parser_;
  std::shared_ptr<beast_response> out_;
  std::uint64_t id_, max_body_;
  unsigned version_ = 11;
  bool keep_alive_ = false, waiting_ = false, closed_ = false, drain_after_write_ = false;
  std::uint64_t drained_ = 0;
  request_handler on_request_;
  closed_handler on_closed_;
};

/// Side b: performs one request against the upstream server; calls `done`
/// exactly once with the response or a 502/504 made here.
class upstream_call : public std::enable_shared_from_this<upstream_call> {
public:
  using done_handler = std::function<void(droplog::http::response&&)>;
  upstream_call(boost::asio::io_context& io, address upstream, std::chrono::microseconds timeout,
                std::uint64_t max_body, droplog::http::request&& q, done_handler done);
  void start();

private:
  void fail(const boost::system::error_code& ec, const char* stage);

  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  address upstream_;
  std::chrono::microseconds timeout_;
  std::uint64_t id_;
  beast_request req_;
  beast_http::response_parser<http_body> parser_;
  done_handler done_;
};

} // namespace peerlab::net
