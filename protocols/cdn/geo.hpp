#pragma once
// Where clients are: great-circle distance for proximity pairing, and the
// server's IP-to-location/ASN table for clients that send no coordinates.
#include "protocols/cdn/cdn.hpp"

#include <optional>
#include <string_view>

namespace peerlab::cdn {

/// Great-circle distance in km (haversine, mean Earth radius 6371 km).
double distance_km(double lat1, double lon1, double lat2, double lon2);

/// The IPv4 address of "a.b.c.d:port" or "a.b.c.d" (host order).
std::optional<std::uint32_t> ipv4_of(std::string_view address);
/// "a.b.c.d/n" -> prefix and bits; nullopt if malformed.
std::optional<ip_location> parse_prefix(std::string_view cidr);
/// The longest configured prefix holding `ip`, if any.
const ip_location* lookup_ip(const std::vector<ip_location>& table, std::uint32_t ip);

} // namespace peerlab::cdn
