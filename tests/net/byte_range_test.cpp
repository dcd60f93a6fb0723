// The Range header of the CDN site's resources (net/byte_range.hpp).
#include "net/byte_range.hpp"

#include <catch2/catch.hpp>

using peerlab::net::byte_range;
using peerlab::net::parse_byte_range;

namespace {
bool part(const byte_range& r, std::uint64_t first, std::uint64_t last) {
  return r.kind == byte_range::part && r.first == first && r.last == last;
}
} // namespace

TEST_CASE("byte range: one range, an open end, a suffix, clamped to the size") {
  CHECK(part(parse_byte_range("bytes=0-99", 1000), 0, 99));
  CHECK(part(parse_byte_range("bytes=500-", 1000), 500, 999));
  CHECK(part(parse_byte_range("bytes=900-5000", 1000), 900, 999));
  CHECK(part(parse_byte_range("bytes=-10", 1000), 990, 999));
  CHECK(part(parse_byte_range("bytes=-5000", 1000), 0, 999));
  CHECK(part(parse_byte_range("bytes=999-999", 1000), 999, 999));
}

TEST_CASE("byte range: past the end or an empty suffix cannot be satisfied (416)") {
  CHECK(parse_byte_range("bytes=1000-", 1000).kind == byte_range::unsatisfiable);
  CHECK(parse_byte_range("bytes=5000-6000", 1000).kind == byte_range::unsatisfiable);
  CHECK(parse_byte_range("bytes=-0", 1000).kind == byte_range::unsatisfiable);
  CHECK(parse_byte_range("bytes=0-", 0).kind == byte_range::unsatisfiable);
}

TEST_CASE("byte range: headers it does not read are ignored: the whole resource") {
  for (auto h : {"", "bytes=", "bytes=a-b", "bytes=5-2", "items=0-9", "bytes=0-1,5-6", "bytes=-",
                 "bytes= 0-9", "bytes=+1-2", "bytes=99999999999999999999-", "Bytes=0-9"})
    CHECK(parse_byte_range(h, 1000).kind == byte_range::whole);
}
