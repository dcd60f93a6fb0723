#pragma once
// Packet (= one dropped file) codec of the message log. Layout, all integers
// little-endian (docs/protocols/droplog.md has the byte-exact table):
//
//   header   magic "DLOG" u32 | version u8 | flags u8 | reserved u16 |
//            sender u64 | recipient u64 | packet id u64 | total length u64 |
//            control length u32 | message count u32 | header tag [16]
//   control  cumulative ack u64 | ack-of-ack u64 | largest packet u64 |
//            ack delay us u64 | n u8, n x (first u64, last u64) message ranges |
//            n u8, n x (first, last) packet ranges | n u8, n x u64 NACKed ids |
//            control tag [16]
//   message  seq u64 | fragment index u32 | fragment count u32 | length u32 |
//            flags u8 | payload [length] | tag [16]            (repeated)
//
// Tags chain on the header tag, so every part is bound to (sender, recipient,
// packet id). Truncation cuts the tail: the header, the control block and the
// leading messages that arrived whole still verify.
#include "protocols/droplog/droplog.hpp"
#include "protocols/droplog/crypto.hpp"
#include "protocols/droplog/range_set.hpp"

#include <optional>
#include <string>
#include <vector>

namespace peerlab::droplog {

constexpr std::uint32_t packet_magic = 0x474f4c44; // "DLOG" in file byte order
constexpr std::uint8_t packet_version = 3;         // 2: NACKs carry bytes read, block reports;
                                                   // 3: frame header check, varint control block
constexpr std::size_t header_field_bytes = 48;
constexpr std::size_t header_bytes = header_field_bytes + tag_bytes;
// The control block's numbers are LEB128 varints, its ids differences from
// the previous one (wire version 3). The sizes below bound each part for ids
// below 2^49 (a million files a second for 17 years); the receiver trims its
// lists to stay within them, so a full control block always fits the packet
// sizes validate() accepts.
constexpr std::size_t control_min_bytes = 4 + 5;
constexpr std::size_t control_fixed_bytes = 4 * 8 + 5;
constexpr std::size_t range_wire_bytes = 16;
constexpr std::size_t nack_wire_bytes = 8 + 5;
constexpr std::size_t block_report_wire_bytes = 8 + 1;
// seq, fragment index, count, length, flags, then a CRC-32 of those 21 bytes:
// a frame whose payload rotted is skipped, and the frames after it still count.
constexpr std::size_t frame_fields_bytes = 8 + 4 + 4 + 4 + 1;
constexpr std::size_t frame_header_bytes = frame_fields_bytes + 4;
constexpr std::size_t frame_overhead = frame_header_bytes + tag_bytes;

namespace packet_flags {
constexpr std::uint8_t ack_eliciting = 1; // carries messages: the receiver acks or NACKs it
constexpr std::uint8_t encrypted = 2;     // message payloads are AES-256-GCM ciphertext
constexpr std::uint8_t known = ack_eliciting | encrypted;
} // namespace packet_flags

namespace message_flags {
constexpr std::uint8_t compressed = 1;
/// An erasure-coded symbol, not a log entry: seq = block id, fragment index =
/// symbol index, fragment count = k (docs/protocols/droplog.md, "Erasure coding").
constexpr std::uint8_t coded = 2;
} // namespace message_flags

struct packet_header {
  std::uint8_t flags = 0;
  peer_id sender = 0;
  peer_id recipient = 0;
  std::uint64_t packet_id = 0;
  std::uint64_t total_length = 0;
  std::uint32_t control_length = 0;
  std::uint32_t message_count = 0;
};

/// A packet the receiver could not read whole, and how many of its bytes it
/// could use (header, control and whole messages): the sender learns where
/// files get cut.
struct nack_entry {
  std::uint64_t id = 0;
  std::uint32_t bytes_read = 0;
  bool operator==(const nack_entry&) const = default;
};

/// A coded block the receiver holds some, but fewer than k, symbols of.
struct block_report {
  std::uint64_t block = 0;
  std::uint8_t have = 0;
  bool operator==(const block_report&) const = default;
};

struct control_block {
  std::uint64_t cumulative_ack = 0;     // every seq below this is received
  std::uint64_t ack_of_ack = 0;         // the peer's cumulative ack this side has seen
  std::uint64_t largest_packet = 0;     // largest intact packet id received (0: none)
  std::uint64_t ack_delay_us = 0;       // time since that packet arrived
  std::vector<id_range> message_ranges; // received seqs above the cumulative ack
  std::vector<id_range> packet_ranges;  // intact packet ids received, highest first
  std::vector<nack_entry> nacks;        // truncated or damaged packets
  std::vector<block_report> blocks;     // coded blocks not yet rebuilt, lowest first
  std::vector<id_range> rebuilt;        // coded blocks rebuilt, lowest ranges first
  bool operator==(const control_block&) const = default;
};

/// One log entry (a whole small message or one fragment of a large one).
/// `payload` is the wire form before encryption (compressed if the flag says so).
struct message_frame {
  std::uint64_t seq = 0;
  std::uint32_t fragment_index = 0;
  std::uint32_t fragment_count = 1;
  std::uint8_t flags = 0;
  bytes payload;
  bool operator==(const message_frame&) const = default;
};

std::size_t control_size(const control_block& c); // including its tag
inline std::size_t frame_size(std::size_t payload) { return frame_overhead + payload; }

/// Writes a packet. `flags` may only set packet_flags::encrypted; ack_eliciting
/// is set when there are messages.
bytes encode_packet(std::uint8_t flags, peer_id sender, peer_id recipient, std::uint64_t packet_id,
                    const control_block& control, const std::vector<const message_frame*>& messages,
                    const direction_keys& keys);

struct route {
  peer_id sender = 0;
  peer_id recipient = 0;
  std::uint64_t packet_id = 0;
};
/// Unauthenticated look at who a file claims to be from and for (to pick the
/// session); nullopt if it is not even a droplog header.
std::optional<route> peek_route(byte_view data);

/// Why a whole packet was rejected (nothing in it is used).
enum class packet_error : std::uint8_t {
  none,
  too_short, // shorter than a header
  bad_magic,
  bad_version,
  bad_flags,
  bad_header_tag, // wrong key, spoofed, or bit rot in the header
  oversize,       // declared length above the bound
  too_long,       // more bytes than the header declares
  bad_control_length,
};
const char* to_string(packet_error e);

/// What happened after an authenticated header.
enum class tail_state : std::uint8_t {
  intact,    // every part present and verified
  truncated, // file shorter than declared: prefix used
  damaged,   // a tag failed or a field is inconsistent: frames around it used
};

struct decode_limits {
  std::uint64_t max_packet_bytes = limits::packet_bytes_max;
  std::uint32_t max_fragment_bytes = limits::fragment_bytes_max; // plaintext fragment
  std::uint32_t max_symbol_bytes = limits::fragment_bytes_max;   // erasure-coded symbol
};

struct decoded_packet {
  packet_header header;
  std::optional<control_block> control; // present if whole and verified
  std::vector<message_frame> messages;  // verified leading messages, decrypted and decompressed
  tail_state tail = tail_state::intact;
  std::uint64_t usable_bytes = 0;   // prefix read: header, control, whole frames (used or skipped)
  std::uint32_t damaged_frames = 0; // frames skipped: framing intact, payload failed
  std::string tail_detail;          // which part failed first, for events
};

struct decode_result {
  packet_error error = packet_error::none;
  std::string detail;
  decoded_packet packet;
};

decode_result decode_packet(byte_view data, const direction_keys& keys, const decode_limits& lim);

} // namespace peerlab::droplog
