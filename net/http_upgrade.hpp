#pragma once
// A connection the HTTP server (net/http_server.hpp) hands over to a route
// that takes WebSocket upgrades: the socket and the request that asked to
// switch protocols, read (and checked: same site, token) by the server.
// Bytes a client sent after its upgrade request, before the server's answer,
// are not carried over (RFC 6455 lets a client send frames only after it).
#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace peerlab::net {

struct http_upgrade {
  boost::beast::tcp_stream stream; // expiry off
  boost::beast::http::request<boost::beast::http::string_body> request;
  std::string client; // the remote address (IP), as the server's bounds count it
  std::string remote; // "ip:port"
};

} // namespace peerlab::net
