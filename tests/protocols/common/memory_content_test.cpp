#include "protocols/common/memory_content.hpp"

#include "protocols/common/rng.hpp"

#include <catch2/catch.hpp>

using peerlab::byte_view;
using peerlab::bytes;
using peerlab::memory_content;
using peerlab::sha256;

namespace {
bytes make(std::uint64_t seed, std::size_t n) {
  peerlab::rng r(seed);
  bytes b(n);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(r.next());
  return b;
}
} // namespace

TEST_CASE("memory_content serves added files by SHA-256 and reads ranges", "[common][content]") {
  memory_content c;
  auto data = make(1, 1000);
  auto info = c.add("a.bin", data, 7);
  REQUIRE(info);
  CHECK(info->hash == sha256::of(data));
  CHECK(info->size == 1000);
  auto st = c.stat(info->hash);
  REQUIRE(st);
  CHECK(st->name == "a.bin");
  CHECK(st->price == 7);
  bytes out;
  CHECK(c.read(info->hash, 990, 100, out)); // clipped at the end
  CHECK(out == bytes(data.begin() + 990, data.end()));
  CHECK(c.read(info->hash, 1000, 10, out));
  CHECK(out.empty());
  CHECK_FALSE(c.read(info->hash, 1001, 1, out));
  CHECK_FALSE(c.read(sha256::of(out), 0, 1, out));
  CHECK(c.used_bytes() == 1000);
  REQUIRE(c.data(info->hash));
  CHECK(*c.data(info->hash) == data);
  CHECK(c.served_files().size() == 1);
  CHECK(c.unprovide(info->hash));
  CHECK_FALSE(c.unprovide(info->hash));
  CHECK(c.used_bytes() == 0);
}

TEST_CASE("memory_content commits an intact sink and drops a corrupt one", "[common][content]") {
  memory_content c;
  auto data = make(2, 5000);
  auto hash = sha256::of(data);
  auto s = c.open_sink(hash, "f", data.size());
  REQUIRE(s != 0);
  CHECK(c.write(s, 2500, byte_view{data.data() + 2500, 2500}));
  CHECK(c.write(s, 0, byte_view{data.data(), 2500}));
  CHECK_FALSE(c.write(s, 4999, byte_view{data.data(), 2})); // past the end
  bytes back;
  CHECK(c.read_sink(s, 100, 50, back));
  CHECK(back == bytes(data.begin() + 100, data.begin() + 150));
  CHECK_FALSE(c.read_sink(s, 4990, 20, back));
  CHECK(c.resume_sink(hash, "f", data.size()) == s);
  CHECK(c.resume_sink(hash, "f", data.size() + 1) == 0);
  CHECK(c.commit_sink(s));
  CHECK_FALSE(c.commit_sink(s));
  auto st = c.stat(hash);
  REQUIRE(st);
  CHECK(st->size == data.size());
  CHECK(c.served_files().at(0).downloaded);
  CHECK(c.used_bytes() == data.size());

  auto bad = c.open_sink(sha256::of(make(3, 10)), "g", 10);
  REQUIRE(bad != 0);
  CHECK(c.write(bad, 0, byte_view{data.data(), 10}));
  CHECK(c.commit_sink(bad));
  CHECK_FALSE(c.stat(sha256::of(make(3, 10))));
  CHECK(c.used_bytes() == data.size());
}

TEST_CASE("memory_content refuses files and sinks past its byte budget", "[common][content]") {
  memory_content c(10000);
  CHECK(c.open_sink({}, "huge", 64ull << 30) == 0); // refused before allocating
  auto s = c.open_sink({}, "x", 6000);
  REQUIRE(s != 0);
  CHECK_FALSE(c.add("y", make(4, 5000)));
  c.discard_sink(s);
  CHECK(c.used_bytes() == 0);
  CHECK(c.add("y", make(4, 5000)));
  CHECK(c.add("y2", make(4, 5000))); // the same bytes again: no more room needed
  CHECK(c.used_bytes() == 5000);
  CHECK(c.open_sink({}, "z", 5000) != 0);
  CHECK(c.open_sink({}, "w", 1) == 0);
}
