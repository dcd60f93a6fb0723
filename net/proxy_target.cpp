#include "net/proxy_target.hpp"

#include <charconv>

namespace peerlab::net::proxy {

namespace {

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// "host", "host:port", "[v6]" or "[v6]:port"; `port` keeps the default when absent.
std::optional<target> split_authority(std::string_view text, bool port_required, std::uint16_t port,
                                      std::string& error) {
  target t;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close < 2) {
      error = "an IPv6 host must be written as [address]";
      return std::nullopt;
    }
    t.host = std::string(text.substr(1, close - 1));
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(t.host, ec);
    if (ec) {
      error = "\"" + t.host + "\" is not an IPv6 address";
      return std::nullopt;
    }
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    t.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
    if (t.host.empty() || t.host.size() > 253) {
      error = "the host must have 1 to 253 characters";
      return std::nullopt;
    }
    for (char c : t.host)
      if (!valid_host_char(c)) {
        error = "the host may hold only letters, digits, '-', '.' and '_'";
        return std::nullopt;
      }
  }
  if (rest.empty()) {
    if (port_required) {
      error = "expected host:port";
      return std::nullopt;
    }
    t.port = port;
    return t;
  }
  if (rest.front() != ':' || rest.size() == 1) {
    error = "expected ':' and a port after the host";
    return std::nullopt;
  }
  unsigned value = 0;
  auto digits = rest.substr(1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535) {
    error = "the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  t.port = static_cast<std::uint16_t>(value);
  return t;
}

} // namespace

std::string target::authority() const {
  auto h = host.find(':') == std::string::npos ? host : "[" + host + "]";
  return h + ":" + std::to_string(port);
}

std::optional<target> parse_connect_target(std::string_view text, std::string& error) {
  auto t = split_authority(text, true, 0, error);
  if (t)
    t->path.clear();
  return t;
}

std::optional<target> parse_absolute_target(std::string_view text, std::string& error) {
  constexpr std::string_view scheme = "http://";
  if (text.size() < scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), text.begin(),
                  [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b + 32 : b); })) {
    error = "the target must be an absolute http:// URL (use CONNECT for TLS)";
    return std::nullopt;
  }
  auto rest = text.substr(scheme.size());
  auto slash = rest.find_first_of("/?");
  auto t = split_authority(rest.substr(0, slash), false, 80, error);
  if (!t)
    return t;
  if (rest.find('@') < slash) {
    error = "user information in the URL is not accepted";
    return std::nullopt;
  }
  if (slash == std::string_view::npos)
    t->path = "/";
  else if (rest[slash] == '?')
    t->path = "/" + std::string(rest.substr(slash));
  else
    t->path = std::string(rest.substr(slash));
  return t;
}

bool is_internal_address(const boost::asio::ip::address& a) {
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped())
      return is_internal_address(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
    auto b = v6.to_bytes();
    bool unique_local = (b[0] & 0xfe) == 0xfc;
    return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() ||
           v6.is_site_local() || unique_local;
  }
  auto v = a.to_v4().to_uint();
  auto in = [v](std::uint32_t net, int bits) {
    std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (v & mask) == net;
  };
  return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0x64400000, 10) ||
         in(0xa9fe0000, 16) || in(0xac100000, 12) || in(0xc0a80000, 16) || in(0xe0000000, 4) ||
         in(0xf0000000, 4);
}

} // namespace peerlab::net::proxy
