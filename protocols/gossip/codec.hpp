#pragma once
// Wire codec of gossipsub. Byte 0 = port (ports::gossip), byte 1 = message
// type, then little-endian fields (protocols/common/wire.hpp). Layout table:
// docs/protocols/gossipsub.md. Decoding is strict: a frame decodes only if
// re-encoding it gives back the same bytes.
#include "protocols/common/types.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace peerlab::gossip {

/// Message id: the first 20 bytes of SHA-256(u16 topic length || topic || data).
using msg_id = std::array<std::uint8_t, 20>;

msg_id message_id(std::string_view topic, byte_view data);
std::string to_hex(const msg_id& id);

/// Bounds of the wire format and of one node's tables.
namespace limits {
constexpr std::size_t topic_bytes_max = 256;
constexpr std::size_t subscriptions_per_frame_max = 64;
/// IDs per IHAVE or IWANT frame (go-libp2p MaxIHaveLength).
constexpr std::size_t ids_per_frame_max = 5000;
/// Largest message payload any configuration may allow.
constexpr std::size_t message_bytes_max = 1u << 20;
/// Peers one node keeps (connect beyond it is refused).
constexpr std::size_t peers_max = 4096;
/// Topics this node subscribes to, and topics remembered per peer.
constexpr std::size_t topics_max = 64;
/// Seen-cache entries; past it the oldest entry is forgotten early (counted).
constexpr std::size_t seen_max = 1u << 20;
/// Message-cache bounds; past them a new message is not cached for IWANT
/// (still delivered and forwarded; counted).
constexpr std::size_t cached_messages_max = 1u << 16;
constexpr std::size_t cached_bytes_max = 256u << 20;
/// Outstanding IWANT requests remembered to avoid asking twice.
constexpr std::size_t pending_iwant_max = 1u << 16;
/// Scores kept for disconnected peers (so a reconnect does not wash a bad score).
constexpr std::size_t retained_scores_max = 8192;
/// (topic, peer) backoff entries; a subscribed topic's are always within it.
constexpr std::size_t backoffs_max = topics_max * peers_max;
/// Longest backoff accepted from a PRUNE.
constexpr std::uint32_t backoff_s_max = 3600;
} // namespace limits

enum class msg_type : std::uint8_t {
  subscriptions = 1, // topics the sender joins/leaves; also the hello on connect
  message = 2,       // a published message
  ihave = 3,         // ids of recent messages in a topic (lazy gossip)
  iwant = 4,         // ids the sender wants after an IHAVE
  graft = 5,         // join the receiver's mesh for a topic
  prune = 6,         // leave the mesh, do not graft again for `backoff_s`
};

const char* type_name(std::uint8_t type);

struct subscription {
  bool subscribe = true;
  std::string topic;
  bool operator==(const subscription&) const = default;
};

struct subscriptions_msg {
  std::vector<subscription> subs; // may be empty (a plain hello)
  bool operator==(const subscriptions_msg&) const = default;
};

struct message_msg {
  std::string topic;
  std::uint8_t hops = 0; // links travelled, including this one (saturates at 255)
  bytes data;
  bool operator==(const message_msg&) const = default;
};

struct ihave_msg {
  std::string topic;
  std::vector<msg_id> ids; // 1..max_ids_per_frame
  bool operator==(const ihave_msg&) const = default;
};

struct iwant_msg {
  std::vector<msg_id> ids; // 1..max_ids_per_frame
  bool operator==(const iwant_msg&) const = default;
};

struct graft_msg {
  std::string topic;
  bool operator==(const graft_msg&) const = default;
};

struct prune_msg {
  std::string topic;
  std::uint32_t backoff_s = 0; // 0..max_backoff_s
  bool operator==(const prune_msg&) const = default;
};

using frame_body =
  std::variant<subscriptions_msg, message_msg, ihave_msg, iwant_msg, graft_msg, prune_msg>;

/// A topic is 1..max_topic_bytes of printable ASCII without spaces.
bool valid_topic(std::string_view topic);

/// Encodes a whole frame, port and type bytes included. The caller keeps the
/// fields within the bounds above (the role does).
bytes encode(const frame_body& body);

/// Decodes a whole frame. Payloads larger than `max_message_bytes` are
/// rejected. On failure returns false and sets `error` to what was wrong.
bool decode(byte_view frame, std::size_t max_message_bytes, frame_body& out, std::string& error);

} // namespace peerlab::gossip
