#include "protocols/cdn/geo.hpp"

#include <cmath>

namespace peerlab::cdn {

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  constexpr double rad = 3.14159265358979323846 / 180.0;
  const double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
  const double a =
    std::sin(dlat / 2) * std::sin(dlat / 2) +
    std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0 * std::asin(std::sqrt(std::min(1.0, a)));
}

namespace {

// Reads "a.b.c.d" from the front of `s`, leaving the rest.
std::optional<std::uint32_t> dotted(std::string_view& s) {
  std::uint32_t ip = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.')
        return std::nullopt;
      s.remove_prefix(1);
    }
    std::uint32_t v = 0;
    std::size_t digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9' && digits < 4) {
      v = v * 10 + static_cast<std::uint32_t>(s.front() - '0');
      s.remove_prefix(1);
      ++digits;
    }
    if (digits == 0 || v > 255)
      return std::nullopt;
    ip = (ip << 8) | v;
  }
  return ip;
}

} // namespace

std::optional<std::uint32_t> ipv4_of(std::string_view address) {
  auto ip = dotted(address);
  if (!ip || !(address.empty() || address.front() == ':'))
    return std::nullopt;
  return ip;
}

std::optional<ip_location> parse_prefix(std::string_view cidr) {
  auto ip = dotted(cidr);
  if (!ip || cidr.size() < 2 || cidr.front() != '/')
    return std::nullopt;
  cidr.remove_prefix(1);
  unsigned bits = 0;
  for (char c : cidr) {
    if (c < '0' || c > '9' || bits > 32)
      return std::nullopt;
    bits = bits * 10 + static_cast<unsigned>(c - '0');
  }
  if (cidr.empty() || cidr.size() > 2 || bits > 32)
    return std::nullopt;
  ip_location l;
  l.bits = static_cast<std::uint8_t>(bits);
  l.prefix = bits == 0 ? 0 : (*ip & (~0u << (32 - bits)));
  return l;
}

const ip_location* lookup_ip(const std::vector<ip_location>& table, std::uint32_t ip) {
  const ip_location* best = nullptr;
  for (auto& l : table) {
    const std::uint32_t mask = l.bits == 0 ? 0 : (~0u << (32 - l.bits));
    if ((ip & mask) == l.prefix && (!best || l.bits > best->bits))
      best = &l;
  }
  return best;
}

} // namespace peerlab::cdn
