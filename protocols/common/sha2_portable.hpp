#pragma once
// SHA-224 and SHA-256 (FIPS 180-4) in plain C++, for builds without OpenSSL
// (WebAssembly under emscripten). Native builds hash through OpenSSL, which
// uses SHA-NI; tests/protocols/common/sha2_portable_test.cpp checks that both
// give the same digests.
#include <array>
#include <cstddef>
#include <cstdint>

namespace peerlab::sha2 {

enum class variant { sha224, sha256 };

/// One incremental computation. Copyable, so a copy can finish a prefix
/// while the original hashes on.
class portable {
public:
  explicit portable(variant v = variant::sha256) : variant_(v) { reset(); }

  /// Starts over with the variant's initial state.
  void reset();
  void update(const std::uint8_t* data, std::size_t n);
  /// Writes digest_size() bytes to `out` and resets.
  void finish(std::uint8_t* out);
  std::size_t digest_size() const { return variant_ == variant::sha224 ? 28 : 32; }

private:
  void compress(const std::uint8_t* block);

  variant variant_;
  std::array<std::uint32_t, 8> state_{};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0; // bytes hashed since reset
};

} // namespace peerlab::sha2
