#pragma once
// Wire codec of the file-set protocol. Two layers:
//  - gossip payloads (the data of a gossipsub MESSAGE on the file-set topic):
//    a file carried inline, or a large file announced by its leaf hash;
//  - back-sync frames on ports::fileset (request/response between two nodes):
//    LIST of completed sets, MANIFEST of one set, FETCH of a file chunk.
// Decoding is strict: truncation, trailing bytes and out-of-range fields are
// errors that name the field. Layout tables: docs/protocols/fileset.md.
#include "protocols/common/frame_checksum.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace peerlab::fileset {

/// Bounds of the wire format and of one node's tables.
namespace limits {
constexpr std::size_t set_id_max = 64;                // set id: 1..64 of [A-Za-z0-9._-]
constexpr std::uint32_t set_files_max = 65536;        // files per set (manifest <= 2 MiB)
constexpr std::uint64_t file_bytes_max = 64ull << 20; // largest file any config may allow
constexpr std::size_t sets_max = 4096;                // sets one node stores
constexpr std::size_t list_entries_max = 256;         // sets per LIST response
constexpr std::uint32_t chunk_bytes_max = 1u << 20;   // file bytes per FETCH response
constexpr std::size_t fetches_max = 64;               // file fetches one node runs at once
constexpr std::size_t wanted_max = 1u << 17;          // files queued for fetching
constexpr std::size_t requests_max = 1024;            // outstanding back-sync requests
constexpr std::size_t syncing_sets_max = 256;         // sets being back-synced at once
constexpr std::size_t bad_peers_max = 4096;           // peers caught serving bad data
} // namespace limits

/// True if `id` is a usable set id (1..64 characters of [A-Za-z0-9._-]).
bool valid_set_id(std::string_view id);

// ---- gossip payloads ------------------------------------------------------

enum class payload_kind : std::uint8_t { file = 1, announce = 2 };

/// Every payload ends with the first 8 bytes of SHA-256 of what precedes it
/// (the same trailer as a frame's: protocols/common/frame_checksum.hpp).
constexpr std::size_t payload_checksum_bytes = frame_checksum_bytes;

/// A file replicated through the topic: the file-set message of the seed
/// (set id, set count, index, content).
struct file_msg {
  std::string set;
  std::uint32_t count = 0;
  std::uint32_t index = 0;
  bytes content;
  bool operator==(const file_msg&) const = default;
};

/// A file too large for one message: receivers fetch it over back-sync and
/// check it against `leaf` (the RFC 6962 leaf hash H(0x00 || content)).
struct announce_msg {
  std::string set;
  std::uint32_t count = 0;
  std::uint32_t index = 0;
  std::uint64_t size = 0;
  digest leaf{};
  peer_id origin = 0; // the node that stored it first (asked first)
  bool operator==(const announce_msg&) const = default;
};

using payload = std::variant<file_msg, announce_msg>;

bytes encode(const file_msg& m);
bytes encode(const announce_msg& m);
/// `max_inline` bounds an inline file, `max_file` an announced size.
bool decode_payload(byte_view in, std::size_t max_inline, std::uint64_t max_file, payload& out,
                    std::string& error);

// ---- back-sync frames (ports::fileset) --------------------------------------

/// Frame byte 1. Types 1..6 on this port are gossipsub frames carried for
/// the wrapped gossip role (see fileset.hpp).
enum class sync_type : std::uint8_t {
  list_req = 0x20,
  list_resp = 0x21,
  manifest_req = 0x22,
  manifest_resp = 0x23,
  fetch_req = 0x24,
  fetch_resp = 0x25,
};

const char* sync_type_name(std::uint8_t type);

struct list_req {
  std::uint32_t req = 0;
  std::string after; // list sets whose id sorts after this one ("" = from the start)
  bool operator==(const list_req&) const = default;
};

struct set_summary {
  std::string set;
  std::uint32_t count = 0;
  digest root{};
  bool operator==(const set_summary&) const = default;
};

struct list_resp {
  std::uint32_t req = 0;
  std::vector<set_summary> sets; // completed sets only, in id order
  bool more = false;
  bool operator==(const list_resp&) const = default;
};

struct manifest_req {
  std::uint32_t req = 0;
  std::string set;
  bool operator==(const manifest_req&) const = default;
};

struct manifest_resp {
  std::uint32_t req = 0;
  std::string set;
  bool found = false;      // false: unknown or incomplete here
  std::uint32_t count = 0; // when found
  digest root{};
  std::vector<digest> leaves; // count leaf hashes
  bool operator==(const manifest_resp&) const = default;
};

struct fetch_req {
  std::uint32_t req = 0;
  std::string set;
  std::uint32_t index = 0;
  std::uint64_t offset = 0;
  std::uint32_t max_len = 0; // 1..chunk_bytes_max
  bool operator==(const fetch_req&) const = default;
};

struct fetch_resp {
  std::uint32_t req = 0;
  std::string set;
  std::uint32_t index = 0;
  bool found = false;
  std::uint64_t total = 0; // file size, when found
  std::uint64_t offset = 0;
  bytes data;
  bool operator==(const fetch_resp&) const = default;
};

using sync_frame =
  std::variant<list_req, list_resp, manifest_req, manifest_resp, fetch_req, fetch_resp>;

bytes encode(const list_req& m);
bytes encode(const list_resp& m);
bytes encode(const manifest_req& m);
bytes encode(const manifest_resp& m);
bytes encode(const fetch_req& m);
bytes encode(const fetch_resp& m);
bool decode_sync(byte_view in, sync_frame& out, std::string& error);

} // namespace peerlab::fileset
