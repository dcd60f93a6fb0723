#include "net/framing.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>

using namespace peerlab;
using peerlab::net::frame_decoder;

namespace {

bytes pattern(std::size_t n, std::uint8_t seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

std::vector<bytes> drain(frame_decoder& d) {
  std::vector<bytes> out;
  while (d.has_frame())
    out.push_back(d.take());
  return out;
}

} // namespace

TEST_CASE("framing: frames split at every byte boundary decode unchanged", "[net][framing]") {
  std::vector<bytes> frames = {pattern(5, 1), bytes{}, pattern(1, 9), pattern(300, 3)};
  bytes stream;
  for (auto& f : frames)
    net::encode_frame(f, stream);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    frame_decoder d(1024, 16); // a tiny staging buffer exercises the direct body path too
    REQUIRE(d.feed(byte_view{stream.data(), cut}));
    auto got = drain(d);
    REQUIRE(d.feed(byte_view{stream.data() + cut, stream.size() - cut}));
    for (auto& f : drain(d))
      got.push_back(std::move(f));
    REQUIRE(got == frames);
  }
}

TEST_CASE("framing: one byte at a time decodes unchanged", "[net][framing]") {
  std::vector<bytes> frames = {pattern(70, 4), pattern(2, 5), bytes{}};
  bytes stream;
  for (auto& f : frames)
    net::encode_frame(f, stream);
  frame_decoder d(1024, 16);
  std::vector<bytes> got;
  for (auto b : stream) {
    REQUIRE(d.feed(byte_view{&b, 1}));
    for (auto& f : drain(d))
      got.push_back(std::move(f));
  }
  REQUIRE(got == frames);
}

TEST_CASE("framing: read_buffer and commit deliver a large body in place", "[net][framing]") {
  auto big = pattern(300'000, 11);
  auto small = pattern(10, 12);
  bytes stream;
  net::encode_frame(big, stream);
  net::encode_frame(small, stream);
  frame_decoder d(1 << 20, 4096);
  std::size_t pos = 0, step = 1;
  std::vector<bytes> got;
  while (pos < stream.size()) {
    auto buf = d.read_buffer();
    REQUIRE(!buf.empty());
    auto n = std::min({buf.size(), stream.size() - pos, step});
    std::memcpy(buf.data(), stream.data() + pos, n);
    REQUIRE(d.commit(n));
    pos += n;
    step = step * 3 + 1; // irregular read sizes, like a socket
    for (auto& f : drain(d))
      got.push_back(std::move(f));
  }
  REQUIRE(got.size() == 2);
  REQUIRE(got[0] == big);
  REQUIRE(got[1] == small);
}

TEST_CASE("framing: a frame of exactly the bound is accepted", "[net][framing]") {
  bytes stream;
  net::encode_frame(pattern(64, 1), stream);
  frame_decoder d(64);
  REQUIRE(d.feed(stream));
  REQUIRE(drain(d).size() == 1);
}

TEST_CASE("framing: a length prefix over the bound is rejected", "[net][framing]") {
  bytes stream;
  net::encode_frame(pattern(65, 1), stream);
  frame_decoder d(64);
  REQUIRE_FALSE(d.feed(byte_view{stream.data(), 4})); // the prefix alone is enough
  REQUIRE(d.error() == "frame of 65 bytes exceeds the bound of 64 bytes");
  REQUIRE_FALSE(d.has_frame());
  // The stream is unusable afterwards: no frame is ever produced again.
  bytes ok;
  net::encode_frame(pattern(3, 1), ok);
  REQUIRE_FALSE(d.feed(ok));
  REQUIRE_FALSE(d.has_frame());
}

TEST_CASE("framing: a huge prefix is rejected without allocating it", "[net][framing]") {
  std::uint8_t prefix[4] = {0xff, 0xff, 0xff, 0xff};
  frame_decoder d; // the project bound: 4 MiB
  REQUIRE_FALSE(d.feed(byte_view{prefix, 4}));
  REQUIRE(d.error() == "frame of 4294967295 bytes exceeds the bound of 4194304 bytes");
}

TEST_CASE("framing: the header is the little-endian length", "[net][framing]") {
  auto h = net::frame_header(0x01020304);
  REQUIRE(h == std::array<std::uint8_t, 4>{4, 3, 2, 1});
}

TEST_CASE("framing: a length prefix alone costs the staging size, not what it announces",
          "[net][framing]") {
  frame_decoder d(4u << 20, 64 * 1024);
  const bytes frame = pattern(4u << 20, 11);
  bytes stream;
  net::encode_frame(frame, stream);
  REQUIRE(d.feed(byte_view{stream.data(), 4 + 10}));
  CHECK(d.body_capacity() <= 64 * 1024);
  // The buffer grows with what arrived: at most about twice of it.
  REQUIRE(d.feed(byte_view{stream.data() + 14, 1u << 20}));
  CHECK(d.body_capacity() <= 2u << 20);
  // Zero-copy reads into the growing body give the same frame.
  std::size_t at = 14 + (1u << 20);
  while (at < stream.size()) {
    auto buf = d.read_buffer();
    auto n = std::min(buf.size(), stream.size() - at);
    std::memcpy(buf.data(), stream.data() + at, n);
    REQUIRE(d.commit(n));
    at += n;
  }
  auto got = drain(d);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == frame);
  CHECK(d.body_capacity() == 0);
}

TEST_CASE("framing: the first frame has its own bound, the next ones the full one",
          "[net][framing]") {
  bytes stream;
  net::encode_frame(pattern(512, 1), stream); // a hello-sized first frame
  net::encode_frame(pattern(4096, 2), stream);
  frame_decoder ok(1u << 20, 64, 512);
  REQUIRE(ok.feed(stream)); // both at once: the second frame's prefix arrives with the first
  CHECK(drain(ok).size() == 2);

  bytes big;
  net::encode_frame(pattern(513, 1), big);
  frame_decoder d(1u << 20, 64, 512);
  CHECK_FALSE(d.feed(big));
  CHECK(d.error() == "frame of 513 bytes exceeds the bound of 512 bytes before the hello");
}
