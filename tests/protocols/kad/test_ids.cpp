#include "protocols/kad/ids.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::kad;

TEST_CASE("kad id of a peer is SHA-256 of its 8 little-endian bytes", "[kad][ids]") {
  // Expected values computed with Python's hashlib over struct.pack('<Q', p).
  CHECK(to_hex(id_of(0)) == "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc");
  CHECK(to_hex(id_of(1)) == "7c9fa136d4413fa6173637e883b6998d32e1d675f88cddff9dcbcf331820f4b8");
  CHECK(to_hex(id_of(0x0102030405060708ULL)) ==
        "380b980886b7a3e726b5c2776160d7842b8f139eaea1e6acf7442cdf890e6287");
}

TEST_CASE("proxy providers key is SHA-256 of http_proxy_providers", "[kad][ids]") {
  CHECK(to_hex(proxy_providers_key()) ==
        "0001562d5f1803f7dfbe8c808d1acb2daafb156d0feba3f94a182e2cb2a64842");
  CHECK(parse_key("http_proxy_providers") == proxy_providers_key());
}

TEST_CASE("parse_key accepts exactly 64 hex digits", "[kad][ids]") {
  std::string hex = to_hex(id_of(7));
  CHECK(parse_key(hex) == id_of(7));
  CHECK(parse_key("0x" + hex) == id_of(7));
  CHECK_FALSE(parse_key(hex.substr(0, 62)));
  CHECK_FALSE(parse_key(hex + "00"));
  CHECK_FALSE(parse_key(hex.substr(0, 63) + "g"));
  CHECK_FALSE(parse_key(""));
}

TEST_CASE("XOR distance, closer and common prefix length", "[kad][ids]") {
  kad_id zero{}, a{}, b{};
  a[0] = 0x80;  // differs in the first bit
  b[31] = 0x01; // differs in the last bit
  CHECK(common_prefix_len(zero, zero) == 256);
  CHECK(common_prefix_len(zero, a) == 0);
  CHECK(common_prefix_len(zero, b) == 255);
  CHECK(distance(a, b)[0] == 0x80);
  CHECK(distance(a, b)[31] == 0x01);
  CHECK(distance(a, a) == zero);
  CHECK(closer(zero, b, a));
  CHECK_FALSE(closer(zero, a, b));
  CHECK_FALSE(closer(zero, a, a));
  // Symmetry of the metric for hashed ids.
  for (peer_id p = 1; p < 20; ++p)
    CHECK(distance(id_of(p), id_of(p + 1)) == distance(id_of(p + 1), id_of(p)));
}

TEST_CASE("random_id_with_cpl shares exactly cpl leading bits", "[kad][ids]") {
  rng r(42);
  kad_id self = id_of(99);
  for (int cpl = 0; cpl < 256; ++cpl)
    for (int i = 0; i < 4; ++i)
      REQUIRE(common_prefix_len(self, random_id_with_cpl(self, cpl, r)) == cpl);
}
