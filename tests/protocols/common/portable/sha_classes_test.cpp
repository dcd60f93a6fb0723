// peerlab::sha224 and peerlab::sha256 as the WebAssembly build compiles them
// (sha224.cpp with PEERLAB_PORTABLE_SHA2, sha256_portable.cpp instead of
// sha256.cpp), built natively so they can be checked against OpenSSL.
#include "protocols/common/sha224.hpp"
#include "protocols/common/sha256.hpp"

#include "../sha2_reference.hpp"

#include <catch2/catch.hpp>

#ifndef PEERLAB_PORTABLE_SHA2
#error "this test checks the portable build of the sha classes"
#endif

using peerlab::byte_view;
using peerlab::sha224;
using peerlab::sha256;
using peerlab::to_hex;
using sha2_reference::openssl_hex;
using sha2_reference::random_bytes;
using sha2_reference::view;

TEST_CASE("portable sha224 and sha256 classes give the FIPS 180-4 digests", "[sha2][portable]") {
  for (const auto& v : sha2_reference::standard_vectors()) {
    INFO(v.name);
    CHECK(sha224::to_hex(sha224::of(view(v.input))) == v.sha224);
    CHECK(to_hex(sha256::of(view(v.input))) == v.sha256);
  }
}

TEST_CASE("portable sha classes equal OpenSSL in pieces, with peek and reset", "[sha2][portable]") {
  auto data = random_bytes(41, 70000);
  for (std::size_t n : {0u, 1u, 55u, 56u, 64u, 65u, 4095u, 70000u}) {
    byte_view part{data.data(), n};
    INFO("length " << n);
    CHECK(sha224::to_hex(sha224::of(part)) == openssl_hex(EVP_sha224(), part));
    CHECK(to_hex(sha256::of(part)) == openssl_hex(EVP_sha256(), part));
  }
  sha256 h;
  sha224 h224;
  std::size_t at = 0;
  for (std::size_t step : {1u, 63u, 64u, 1000u, 17u}) {
    h.update(byte_view{data.data() + at, step});
    h224.update(byte_view{data.data() + at, step});
    at += step;
    // peek is the digest of the prefix and leaves the state alone.
    CHECK(to_hex(h.peek()) == openssl_hex(EVP_sha256(), byte_view{data.data(), at}));
  }
  h.update(byte_view{data.data() + at, data.size() - at});
  h224.update(byte_view{data.data() + at, data.size() - at});
  CHECK(to_hex(h.finish()) == openssl_hex(EVP_sha256(), data));
  CHECK(sha224::to_hex(h224.finish()) == openssl_hex(EVP_sha224(), data));
  CHECK(to_hex(h.finish()) == openssl_hex(EVP_sha256(), {})); // finish reset it
}
