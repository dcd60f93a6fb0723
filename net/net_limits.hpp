#pragma once
// Bounds of the live transport (the frame and queue bounds shared with the
// simulator are in protocols/common/limits.hpp).
#include "protocols/common/types.hpp"

#include <cstddef>

namespace peerlab::net::live_limits {

/// A peer must send its hello within this time after the TCP connect.
constexpr time_us handshake_timeout = 5 * us_per_s;
/// Open connections (incoming and outgoing). A connection past it displaces
/// the one idle longest, if that one has been idle `idle_evict_after`;
/// otherwise it is closed at once.
constexpr std::size_t connections_max = 1024;
/// Connections from one IP address (the same rule applies within them).
constexpr std::size_t connections_per_ip_max = 256;
/// A connection without a complete frame for this long may be displaced by a
/// new one when the slots are full.
constexpr time_us idle_evict_after = 10 * us_per_s;
/// A connection without a complete frame for this long is closed.
constexpr time_us idle_timeout = 5 * 60 * us_per_s;
/// Before the hello, a length prefix above this closes the connection: a
/// stranger gets no large buffer.
constexpr std::size_t hello_frame_bytes_max = 512;
/// Bytes queued for sending over all of a node's connections (each is also
/// bounded by limits::conn_queue_bytes_max): peers that ask for much and
/// never read cannot hold more than this between them.
constexpr std::size_t node_queue_bytes_max = 128u << 20;
/// A connection whose queued bytes have not moved for this long is stalled;
/// when the node's send budget is spent, stalled connections are closed.
constexpr time_us write_stall_max = 10 * us_per_s;
/// After a failed accept (EMFILE, ENFILE, ...) the listener waits this long.
constexpr time_us accept_backoff = 100 * us_per_ms;
/// Peer addresses remembered (configured, learned, from hellos).
constexpr std::size_t known_addresses_max = 65536;
/// Timers armed at once by all roles of a node; past it a timer is dropped and counted.
constexpr std::size_t pending_timers_max = 1u << 20;
/// Reads of small frames land in a staging buffer of this size; larger frame
/// bodies are read straight into the frame.
constexpr std::size_t read_staging_bytes = 64 * 1024;
/// Frames gathered into one write (two buffers each: prefix and body).
constexpr std::size_t frames_per_write_max = 32;
/// A dial that failed is not retried on demand before this much time passed.
constexpr time_us redial_cooloff = 1 * us_per_s;
/// Back-off for configured peers: first retry, doubling up to the maximum.
constexpr time_us peer_retry_min = 100 * us_per_ms;
constexpr time_us peer_retry_max = 5 * us_per_s;
/// Bytes a frame shaper (live_options::shaper) holds back for their release
/// time, per peer and for the whole node; past them a frame is dropped and
/// counted (net.shaped_hold_full).
constexpr std::size_t shaped_hold_peer_bytes_max = 64u << 20;
constexpr std::size_t shaped_hold_bytes_max = 128u << 20;
/// On shutdown, time given to the roles' goodbyes and to the outbound queues.
constexpr time_us shutdown_grace = 2 * us_per_s;

} // namespace peerlab::net::live_limits
