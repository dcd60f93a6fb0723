#pragma once
// The HTTP ends of the file-drop gateways: side a's requests arrive through
// net/http_server (converted here to layer-2 messages and back), side b's
// upstream call is a Beast client. The conversions follow
// protocols/droplog/httpmsg.hpp.
#include "net/address.hpp"
#include "net/http_server.hpp"
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
std::optional<droplog::http::request> to_message(http_server_request&& r, std::string& why);
/// A layer-2 response as what side a's server sends its client.
http_server_answer to_answer(droplog::http::response&& p);
/// A layer-2 request as what side b sends upstream (Host set to `upstream`).
beast_request to_beast(droplog::http::request&& q, const address& upstream);
/// An upstream response as a layer-2 message for request `id`.
droplog::http::response to_message(beast_response&& r, std::uint64_t id);
/// A short plain-text response made by a gateway itself (400, 413, 502, 503, 504).
droplog::http::response error_response(std::uint64_t id, std::uint16_t status,
                                       const std::string& text);

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
