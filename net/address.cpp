#include "net/address.hpp"

#include "protocols/common/sha256.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cstring>

namespace peerlab::net {

std::optional<address> parse_address(std::string_view text, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    error = "expected \"host:port\" (for example \"127.0.0.1:4000\")";
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      error = "an IPv6 host must be written as [address]:port";
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    error = "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  boost::system::error_code bec;
  auto ip = boost::asio::ip::make_address(std::string(host), bec);
  if (bec) {
    error = "host must be an IP address such as 127.0.0.1 (names are not resolved)";
    return std::nullopt;
  }
  return address{ip.to_string(), static_cast<std::uint16_t>(value)};
}

std::string to_string(const address& a) {
  bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

peer_id peer_id_from_name(std::string_view name) {
  auto d = sha256::of(byte_view{reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
  peer_id id = 0;
  std::memcpy(&id, d.data(), sizeof id); // little-endian hosts (see wire.hpp)
  return id;
}

} // namespace peerlab::net
