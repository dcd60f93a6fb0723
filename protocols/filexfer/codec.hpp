#pragma once
// Wire codec of filexfer. Byte 0 = port, byte 1 = message type, then
// little-endian fields (protocols/common/wire.hpp). Layout table:
// docs/protocols/filexfer.md. Decoding is strict: a frame decodes only if
// re-encoding it gives back the same bytes.
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <variant>

namespace peerlab::filexfer {

enum class msg_type : std::uint8_t {
  meta_req = 1,      // downloader -> provider
  meta_ok = 2,       // provider -> downloader
  meta_err = 3,      // provider -> downloader
  content_req = 4,   // downloader -> provider
  content_chunk = 5, // provider -> downloader
  content_end = 6,   // provider -> downloader
  content_err = 7,   // provider -> downloader
};

enum class error_code : std::uint8_t {
  not_provider = 1,
  internal = 2,
  busy = 3,
  bad_range = 4, // CONTENT_REQ range outside the file
};

/// The seed's "payment reference number" sent with the content.
using payment_ref = std::array<std::uint8_t, 16>;

struct meta_req {
  std::uint64_t req_id = 0;
  digest hash{};
  bool operator==(const meta_req&) const = default;
};

struct meta_ok {
  std::uint64_t req_id = 0;
  std::string name;
  std::uint64_t price = 0;
  std::uint64_t size = 0;
  bool operator==(const meta_ok&) const = default;
};

struct meta_err {
  std::uint64_t req_id = 0;
  error_code code = error_code::internal;
  std::string text;
  bool operator==(const meta_err&) const = default;
};

/// Asks for bytes [offset, offset + length) in chunks of `chunk` bytes.
struct content_req {
  std::uint64_t req_id = 0;
  digest hash{};
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t chunk = 0;
  bool operator==(const content_req&) const = default;
};

struct content_chunk {
  std::uint64_t req_id = 0;
  std::uint64_t offset = 0;
  payment_ref ref{};
  bytes data; // u32 length, then the bytes, which must end the frame
  bool operator==(const content_chunk&) const = default;
};

struct content_end {
  std::uint64_t req_id = 0;
  std::uint64_t bytes_sent = 0;
  bool operator==(const content_end&) const = default;
};

struct content_err {
  std::uint64_t req_id = 0;
  error_code code = error_code::internal;
  std::string text;
  bool operator==(const content_err&) const = default;
};

using message =
  std::variant<meta_req, meta_ok, meta_err, content_req, content_chunk, content_end, content_err>;

/// Builds the frame, port byte included. Text longer than the bound is cut;
/// names and chunk data must already be within bounds (the roles check).
bytes encode(const message& m);
/// Same as encode(content_chunk) without copying the data into a message first.
bytes encode_chunk(std::uint64_t req_id, std::uint64_t offset, const payment_ref& ref,
                   byte_view data);

struct decode_result {
  message msg;
  std::string error; // empty on success; otherwise names the message and field
  bool ok() const { return error.empty(); }
};

/// Decodes a whole frame (port byte included). Never reads out of bounds.
decode_result decode(byte_view frame);

/// "META_REQ", "CONTENT_CHUNK", ... or "?" for an unknown type byte.
const char* message_name(std::uint8_t type);

/// The port a message type travels to (requests: provider, replies: downloader).
port_t port_of(msg_type t);

} // namespace peerlab::filexfer
