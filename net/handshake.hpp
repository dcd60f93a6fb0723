#pragma once
// The first frame on every connection, in both directions, before any role
// frame: who is speaking and where it listens. Not routed to roles.
//
//   "PLAB" (4 bytes) | version u16 | peer_id u64 | listen address (u16 length + bytes)
#include "protocols/common/types.hpp"

#include <string>
#include <variant>

namespace peerlab::net {

constexpr std::uint16_t protocol_version = 1;
/// Longest listen address carried in a hello ("[v6 address]:port" fits easily).
constexpr std::size_t max_hello_address = 255;

struct hello {
  peer_id id = 0;
  std::string listen; // "host:port"; empty if the node does not accept connections
};

bytes encode_hello(const hello& h);

/// Decodes a hello frame; on failure returns a message naming what was wrong.
std::variant<hello, std::string> decode_hello(byte_view frame);

} // namespace peerlab::net
