#pragma once
// The Range header of a GET (RFC 9110 section 14), for resources served
// whole or from an offset: one range of bytes, "bytes=a-b", "bytes=a-" or
// "bytes=-n" (the last n bytes). A header this does not read (another unit,
// several ranges, a malformed one) is ignored, as the RFC allows, and the
// whole resource is sent.
#include <cstdint>
#include <string_view>

namespace peerlab::net {

struct byte_range {
  enum kind_t { whole, part, unsatisfiable } kind = whole;
  std::uint64_t first = 0, last = 0; // inclusive, when kind == part
};

/// The range `header` asks of a resource of `size` bytes: `part` (200 bytes
/// of a 100-byte resource end at 99), `unsatisfiable` (416: starts at or past
/// the end, or asks for the last 0 bytes), or `whole` (no or an ignored header).
byte_range parse_byte_range(std::string_view header, std::uint64_t size);

} // namespace peerlab::net
