#pragma once
// "host:port" addresses of live nodes. Hosts are IP literals only (no DNS):
// "127.0.0.1:4000" or "[::1]:4000". Port 0 asks the OS for a free port
// (listen addresses only).
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peerlab::net {

struct address {
  std::string host; // IP literal, without brackets
  std::uint16_t port = 0;
};

/// Parses "host:port"; on failure returns nullopt and sets `error`.
std::optional<address> parse_address(std::string_view text, std::string& error);

/// "127.0.0.1:4000" or "[::1]:4000".
std::string to_string(const address& a);

/// Node id of a live node: the first 8 bytes (little-endian) of SHA-256(name).
peer_id peer_id_from_name(std::string_view name);

} // namespace peerlab::net
