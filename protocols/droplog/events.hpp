#pragma once
// What a session reports besides delivered messages: events for traces and
// checkers, counters for metrics, and packet files that may be deleted.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <string>

namespace peerlab::droplog {

struct delivered_message {
  std::uint64_t id = 0; // seq of its first fragment (what submit returned to the sender)
  bytes data;
};

enum class event_kind : std::uint8_t {
  packet_rejected,  // spoofed, wrong key, wrong pair, malformed header: nothing used
  packet_duplicate, // packet id seen before (replay or channel duplicate)
  packet_truncated, // shorter than declared: intact prefix used, NACKed
  packet_damaged,   // a tag failed after the header: prefix before it used, NACKed
  nack_received,    // the peer NACKed one of our packets
  packets_lost,     // loss detection or timeout declared packets lost
  timeout,          // retransmission timeout fired
  window_overflow,  // a message above the receive window was dropped
  protocol_error,   // an authenticated peer broke a rule (fragment chain)
};
const char* to_string(event_kind k);

struct session_event {
  event_kind kind{};
  std::uint64_t packet_id = 0;
  std::string detail;
};

enum class folder_side : std::uint8_t { outgoing, incoming };

/// A packet file neither side needs any more.
struct deletable_packet {
  folder_side side{};
  std::uint64_t packet_id = 0;
  bool operator==(const deletable_packet&) const = default;
};

struct session_stats {
  std::uint64_t messages_submitted = 0, messages_delivered = 0;
  std::uint64_t payload_bytes_submitted = 0, payload_bytes_delivered = 0;
  std::uint64_t packets_sent = 0, data_packets_sent = 0, ack_packets_sent = 0, bytes_sent = 0;
  std::uint64_t entries_sent = 0, entries_retransmitted = 0;
  std::uint64_t packets_received = 0, bytes_received = 0;
  std::uint64_t packets_rejected = 0, packets_duplicate = 0;
  std::uint64_t packets_truncated = 0, packets_damaged = 0;
  std::uint64_t nacks_sent = 0, nacks_received = 0;
  std::uint64_t packets_lost = 0, spurious_losses = 0, timeouts = 0, rtt_samples = 0;
  std::uint64_t entries_duplicate = 0, window_drops = 0;
  std::uint64_t symbols_sent = 0, parity_symbols_sent = 0, blocks_opened = 0, blocks_rebuilt = 0;
  // Symbols read intact, and those of them a block no longer needed.
  std::uint64_t symbols_received = 0, symbols_surplus = 0;
};

} // namespace peerlab::droplog
