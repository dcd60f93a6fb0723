#pragma once
// Shared pieces of the droplog tests: an in-memory kv_store, small test
// configurations, and deterministic message contents.
#include "protocols/common/memory_store.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/common/store.hpp"
#include "protocols/droplog/session.hpp"

#include <map>
#include <string>

namespace droplog_test {

using namespace peerlab;
using namespace peerlab::droplog;

using memory_kv = peerlab::memory_store;

inline constexpr peer_id side_a = 0x0a0a;
inline constexpr peer_id side_b = 0x0b0b;
inline const std::string test_key = "droplog test key: 32 bytes long!";

/// Small sizes so that tests exercise many packets and fragments.
inline session_config small_config(peer_id local, peer_id remote) {
  session_config c;
  c.local = local;
  c.remote = remote;
  c.shared_key = test_key;
  c.fragment_bytes = 256;
  c.ack_ranges = 8;
  c.nacks_per_packet = 8;
  c.min_packet_bytes = 1024;
  c.max_packet_bytes = 16 * 1024;
  c.initial_packet_bytes = 4 * 1024;
  c.size_increase_bytes = 512;
  c.initial_rtt = 1 * us_per_s;
  c.max_ack_delay = 50 * us_per_ms;
  c.max_outbox_entries = 1 << 14;
  c.max_outbox_bytes = 4 << 20;
  c.window_entries = 1024;
  c.max_inflight_packets = 64;
  c.max_inflight_bytes = 256 * 1024;
  c.max_tracked_packets = 1024;
  return c;
}

/// Deterministic message body: its index in the first 8 bytes, then pseudo-random bytes.
inline bytes message_body(std::uint64_t index, std::size_t size, std::uint64_t salt = 0) {
  bytes b(size);
  rng r(derive_seed(salt, index));
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<std::uint8_t>(i < 8 ? (index >> (8 * i)) : r.next());
  return b;
}

inline byte_view view(const bytes& b) { return {b.data(), b.size()}; }

} // namespace droplog_test
