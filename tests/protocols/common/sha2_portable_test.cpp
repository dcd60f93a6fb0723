// The portable SHA-2 (the WebAssembly build's only SHA) against OpenSSL and the
// FIPS 180-4 vectors, and peerlab::sha224 in the native (OpenSSL) build.
#include "protocols/common/sha2_portable.hpp"
#include "protocols/common/sha224.hpp"

#include "sha2_reference.hpp"

#include <catch2/catch.hpp>

#include <string>

using peerlab::byte_view;
using peerlab::to_hex;
using peerlab::sha2::portable;
using peerlab::sha2::variant;
using sha2_reference::openssl_hex;
using sha2_reference::random_bytes;
using sha2_reference::view;

namespace {

std::string portable_hex(variant v, byte_view data) {
  portable h(v);
  h.update(data.data(), data.size());
  std::uint8_t out[32];
  h.finish(out);
  return to_hex(byte_view{out, h.digest_size()});
}

/// Both variants of the portable code equal OpenSSL's on `data`.
void check_same(byte_view data) {
  INFO("length " << data.size());
  CHECK(portable_hex(variant::sha224, data) == openssl_hex(EVP_sha224(), data));
  CHECK(portable_hex(variant::sha256, data) == openssl_hex(EVP_sha256(), data));
}

} // namespace

TEST_CASE("portable sha224 and sha256 give the FIPS 180-4 example digests", "[common][sha2]") {
  for (const auto& v : sha2_reference::standard_vectors()) {
    INFO(v.name);
    CHECK(portable_hex(variant::sha224, view(v.input)) == v.sha224);
    CHECK(portable_hex(variant::sha256, view(v.input)) == v.sha256);
    CHECK(openssl_hex(EVP_sha224(), view(v.input)) == v.sha224);
    CHECK(openssl_hex(EVP_sha256(), view(v.input)) == v.sha256);
  }
}

TEST_CASE("portable sha2 equals OpenSSL for every length 0 to 300", "[common][sha2]") {
  // Covers every padding case: lengths 55, 56, 63, 64 and so on across blocks.
  auto data = random_bytes(7, 300);
  for (std::size_t n = 0; n <= 300; ++n)
    check_same(byte_view{data.data(), n});
}

TEST_CASE("portable sha2 equals OpenSSL on random data up to 1 MiB", "[common][sha2]") {
  peerlab::rng r(11);
  auto data = random_bytes(12, 1 << 20);
  check_same(data);
  for (int i = 0; i < 12; ++i)
    check_same(byte_view{data.data(), r.below(data.size())});
}

TEST_CASE("portable sha2 gives the same digest however the input is split", "[common][sha2]") {
  auto data = random_bytes(21, 1000);
  for (auto v : {variant::sha224, variant::sha256}) {
    auto whole = portable_hex(v, data);
    portable h(v); // reused: finish resets it
    std::uint8_t out[32];
    for (std::size_t cut = 0; cut <= data.size(); ++cut) {
      h.update(data.data(), cut);
      h.update(data.data() + cut, data.size() - cut);
      h.finish(out);
      INFO("cut at " << cut);
      REQUIRE(to_hex(byte_view{out, h.digest_size()}) == whole);
    }
    peerlab::rng r(22); // many pieces of random sizes, empty ones included
    for (int round = 0; round < 50; ++round) {
      std::size_t at = 0;
      while (at < data.size()) {
        auto n = std::min<std::size_t>(r.below(150), data.size() - at);
        h.update(data.data() + at, n);
        at += n;
      }
      h.finish(out);
      REQUIRE(to_hex(byte_view{out, h.digest_size()}) == whole);
    }
    for (auto b : data) // one byte at a time
      h.update(&b, 1);
    h.finish(out);
    CHECK(to_hex(byte_view{out, h.digest_size()}) == whole);
  }
}

TEST_CASE("portable sha2 hashes past 4 GiB of length bits without a short count",
          "[common][sha2]") {
  // The bit length is 64 bits wide: 600 MB is 4.8e9 bits, past 32 bits.
  std::string block(1 << 20, 'q');
  portable h(variant::sha224);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestInit_ex(ctx, EVP_sha224(), nullptr) == 1);
  for (int i = 0; i < 600; ++i) {
    h.update(view(block).data(), block.size());
    EVP_DigestUpdate(ctx, block.data(), block.size());
  }
  std::uint8_t mine[28], theirs[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  h.finish(mine);
  EVP_DigestFinal_ex(ctx, theirs, &n);
  EVP_MD_CTX_free(ctx);
  CHECK(to_hex(byte_view{mine, 28}) == to_hex(byte_view{theirs, n}));
}

TEST_CASE("peerlab::sha224 hashes whole and in pieces and resets on finish", "[common][sha2]") {
  using peerlab::sha224;
  CHECK(sha224::to_hex(sha224::of(view("abc"))) ==
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  auto data = random_bytes(31, 5000);
  auto whole = sha224::of(data);
  CHECK(sha224::to_hex(whole) == openssl_hex(EVP_sha224(), data));
  sha224 h;
  h.update(byte_view{data.data(), 1234});
  h.update(byte_view{data.data() + 1234, data.size() - 1234});
  CHECK(h.finish() == whole);
  CHECK(sha224::to_hex(h.finish()) == "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f");
  sha224 moved = std::move(h);
  moved.update(view("abc"));
  CHECK(sha224::to_hex(moved.finish()) ==
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
}
