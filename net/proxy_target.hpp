#pragma once
// Where a proxied request goes: the authority of a CONNECT ("host:port") or
// of an absolute-form target ("http://host[:port]/path"), and the default
// destination policy of a provider's forward proxy.
#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peerlab::net::proxy {

struct target {
  std::string host; // a name or an IP literal, without brackets
  std::uint16_t port = 0;
  std::string path = "/";        // origin form ("/path?query"); empty for CONNECT
  std::string authority() const; // "host:port" or "[v6]:port"
};

/// "host:port" or "[v6]:port" as a CONNECT names it (a port is required).
std::optional<target> parse_connect_target(std::string_view text, std::string& error);
/// "http://host[:port][/path]" (port 80 by default). https:// in absolute
/// form is refused: a client reaches TLS sites through CONNECT.
std::optional<target> parse_absolute_target(std::string_view text, std::string& error);

/// Loopback, private (RFC 1918, RFC 4193), carrier-grade NAT, link-local,
/// unspecified, multicast and broadcast addresses, and IPv4-mapped forms of
/// them: what a provider's clients must not reach by default (the provider's
/// own services and its local network).
bool is_internal_address(const boost::asio::ip::address& a);

} // namespace peerlab::net::proxy
