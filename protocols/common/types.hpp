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
constexpr port_t file_provider = 1;   // filexfer requests (metadata, content)
constexpr port_t file_downloader = 2; // filexfer responses (metadata, chunks)
constexpr port_t kad = 3;             // Kademlia DHT
constexpr port_t ledger = 4;          // ledger
constexpr port_t payment = 5;         // payment notifications
constexpr port_t gossip = 6;          // gossipsub
constexpr port_t fileset = 7;         // file-set back-sync
constexpr port_t droplog = 8;         // file-drop message log
constexpr port_t payer = 9;           // payment requests and results to a paying node
constexpr port_t api = 10;            // the local HTTP API's agent on a live node
constexpr port_t client = 11;         // user-level commands: join, announce, fetch
constexpr port_t test_echo = 249;     // transport tests only
constexpr port_t traffic = 250;       // synthetic load (benchmarks, tests)
} // namespace ports

/// Short name of a port for traces and error messages.
const char* port_name(port_t p);

} // namespace peerlab
