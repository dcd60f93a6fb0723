#pragma once
// Layer 2 of HTTP over file drops: HTTP requests and responses carried as messages of the
// droplog (layer 1). Every log message starts with an envelope kind byte:
//
//   0x01 application message   kind | payload
//   0x02 HTTP request          kind | version u8 | request id u64 | timeout ms u32 |
//                              method str16 | target str16 | headers | body
//   0x03 HTTP response         kind | version u8 | request id u64 | status u16 |
//                              reason str16 | headers | body
//   headers = count u16, count x (name str16, value str16)
//   body    = length u64, then exactly that many bytes (the message ends there)
//
// str16 is a u16 length then bytes; integers little-endian. The decoder is
// strict: every field is bounded and checked (no CR/LF/NUL in names or values,
// token characters in methods and header names, nothing after the body), so a
// message that decodes can be written to an HTTP/1.1 connection without
// header injection. Docs: docs/protocols/droplog.md, "Layer 2".
#include "protocols/common/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::droplog::http {

namespace limits {
constexpr std::size_t method_max = 32;
constexpr std::size_t target_max = 8192;
constexpr std::size_t headers_max = 128;
constexpr std::size_t header_name_max = 256;
constexpr std::size_t header_value_max = 8192;
constexpr std::size_t reason_max = 256;
/// Largest body either side carries (the gateways may set a lower bound).
constexpr std::uint64_t body_bytes_max = 512ull << 20;
/// Longest timeout a request may ask for.
constexpr std::uint32_t timeout_ms_max = 24u * 3600u * 1000u;
} // namespace limits

enum class kind : std::uint8_t { app_message = 1, request = 2, response = 3 };
constexpr std::uint8_t format_version = 1;

struct header_field {
  std::string name, value;
  bool operator==(const header_field&) const = default;
};

struct request {
  std::uint64_t id = 0;
  std::uint32_t timeout_ms = 0; // how long the caller waits; side B bounds its upstream call by it
  std::string method;           // e.g. "GET"
  std::string target;           // origin-form "/path?query"
  std::vector<header_field> headers;
  bytes body;
  bool operator==(const request&) const = default;
};

struct response {
  std::uint64_t id = 0; // the request's id
  std::uint16_t status = 200;
  std::string reason;
  std::vector<header_field> headers;
  bytes body;
  bool operator==(const response&) const = default;
};

/// Returns an empty string if the request can be encoded, else what is wrong.
std::string check(const request& r);
std::string check(const response& r);

/// Encoders; the caller checks first (they throw std::invalid_argument otherwise).
bytes encode(const request& r);
bytes encode(const response& r);
bytes encode_app_message(byte_view payload);

/// The envelope kind of a log message, or nullopt if it has none we know.
std::optional<kind> peek_kind(byte_view message);

struct decode_error {
  std::string what; // names the field
};
/// Strict decoders; `max_body` bounds the body (<= limits::body_bytes_max).
std::optional<request> decode_request(byte_view message, std::uint64_t max_body, decode_error& err);
std::optional<response> decode_response(byte_view message, std::uint64_t max_body,
                                        decode_error& err);

/// RFC 9110 token characters (methods, header names).
bool is_token(std::string_view s);
/// A header value without CR, LF, NUL or other control characters except HTAB.
bool is_field_value(std::string_view s);
/// A request target without spaces or control characters, starting with '/'.
bool is_origin_target(std::string_view s);
/// Connection-specific headers a proxy must not forward (RFC 9110 section 7.6.1),
/// plus Content-Length (each hop recomputes it).
bool is_hop_by_hop(std::string_view name);
/// Removes hop-by-hop headers and those named in a Connection header.
void strip_hop_by_hop(std::vector<header_field>& headers);

/// Standard reason phrase for the statuses the gateways produce.
const char* reason_phrase(std::uint16_t status);

} // namespace peerlab::droplog::http
