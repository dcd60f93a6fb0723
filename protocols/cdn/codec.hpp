#pragma once
// Binary frames between CDN clients, and between a client and the origin.
// Layout (little-endian, byte 0 the destination port):
//   HELLO     [port][1][u64 nonce]                link check and RTT probe
//   HELLO_ACK [port][2][u64 nonce]
//   REQUEST   [port][3][u32 req][u16 n][url n][sha224 28][u64 offset][u32 length]
//   DATA      [port][4][u32 req][u64 total][u64 offset][payload, at most 16 KiB]
//   REJECT    [port][5][u32 req][u8 reason]
// Signalling messages share the client's port: their byte 1 is '{' (JSON text).
#include "protocols/cdn/hash.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <string>
#include <variant>

namespace peerlab::cdn {

enum class frame_type : std::uint8_t {
  hello = 1,
  hello_ack = 2,
  request = 3,
  data = 4,
  reject = 5,
};
constexpr std::uint8_t json_type = '{';

enum class reject_reason : std::uint8_t {
  not_held = 1,   // no such resource (or a different hash)
  not_linked = 2, // the asker is not a linked peer
  busy = 3,       // too many uploads
  bad_range = 4,  // offset past the end
};

struct hello {
  std::uint64_t nonce = 0;
  bool ack = false;
};
struct request {
  std::uint32_t req = 0;
  std::string url;
  hash224 sha{}; // all zero: "the origin's own listing" (only the origin serves it)
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
};
struct data {
  std::uint32_t req = 0;
  std::uint64_t total = 0;
  std::uint64_t offset = 0;
  byte_view payload;
};
struct reject {
  std::uint32_t req = 0;
  reject_reason reason = reject_reason::not_held;
};
using message = std::variant<hello, request, data, reject>;

bytes encode_hello(port_t to, const hello& m);
bytes encode_request(port_t to, const request& m);
bytes encode_data(std::uint32_t req, std::uint64_t total, std::uint64_t offset, byte_view payload);
bytes encode_reject(std::uint32_t req, reject_reason why);

/// Strict: a truncated, oversized or inconsistent frame is an error naming the
/// field. A DATA payload points into `frame`.
bool decode(byte_view frame, message& out, std::string& err);

} // namespace peerlab::cdn
