#pragma once
// Shared by the SHA-2 tests: the FIPS 180-4 example vectors, OpenSSL as the
// reference implementation, and deterministic test data.
#include "protocols/common/rng.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sha2_reference {

struct vector {
  std::string name;
  std::string input;
  const char* sha224;
  const char* sha256;
};

inline std::vector<vector> standard_vectors() {
  return {
    {"abc", "abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"empty", "", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"896 bits",
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnop"
     "qrsmnopqrstnopqrstu",
     "c97ca9a559850ce97a04a96def6d99a9e0e0e2ab14e6b8df265fc0b3",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"one million a", std::string(1000000, 'a'),
     "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67",
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
}

inline peerlab::byte_view view(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// OpenSSL's digest (EVP_sha224 or EVP_sha256) as hex.
inline std::string openssl_hex(const EVP_MD* md, peerlab::byte_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return peerlab::to_hex(peerlab::byte_view{out, n});
}

inline peerlab::bytes random_bytes(std::uint64_t seed, std::size_t n) {
  peerlab::rng r(seed);
  peerlab::bytes b(n);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(r.next() >> 56);
  return b;
}

} // namespace sha2_reference
