#pragma once
// Basic vocabulary shared by every protocol: bytes, peer ids, time, ports.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace peerlab {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

/// Identifies a node at the transport level. In the simulator it is the node's
/// index; in live mode the first 8 bytes of SHA-256 of the node's public name.
using peer_id = std::uint64_t;

/// Microseconds. Virtual in the simulator, steady time since start in live mode.
using time_us = std::int64_t;

constexpr time_us us_per_ms = 1000;
constexpr time_us us_per_s = 1000 * 1000;

/// First byte of every frame: which role of the receiving node handles it
/// (like a UDP port). Requests go to the server-side port, replies to the
/// client-side port.
using port_t = std::uint8_t;

namespace ports {
// Each protocol declares its own ports in protocols/<x>/<x>.hpp; the registry
// (protocols/registry.cpp) checks that no two share one.
constexpr port_t test_echo = 249; // reserved for transport tests
} // namespace ports

} // namespace peerlab
