#pragma once
// What every codec of checksummed frames (protocols/common/frame_checksum.hpp)
// must show: the trailer is the SHA-256 prefix, any damage is reported as
// damage, every cut is rejected, and trailing bytes under a valid checksum are
// named as the sender's fault.
#include "protocols/common/frame_checksum.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace peerlab::test_kit {

inline const std::string damaged = "checksum mismatch (damaged in transit)";

/// A frame edited after encoding, with its checksum made valid again: what a
/// peer that builds a bad frame on purpose (or by a bug) would send.
inline bytes resealed(bytes f) {
  f.resize(f.size() - frame_checksum_bytes);
  append_frame_checksum(f);
  return f;
}

/// `f` ends with the first 8 bytes of SHA-256 of the bytes before.
inline void check_checksum_trailer(const bytes& f) {
  auto d = sha256::of(byte_view{f.data(), f.size() - frame_checksum_bytes});
  CHECK(std::equal(d.begin(), d.begin() + frame_checksum_bytes, f.end() - frame_checksum_bytes));
}

/// Every single flipped bit of `f` is rejected as damaged.
template <class Decode>
void check_bit_flips_damaged(const bytes& f, const char* name, Decode&& decode) {
  for (std::size_t i = 0; i < f.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      bytes g = f;
      g[i] ^= static_cast<std::uint8_t>(1u << bit);
      INFO(name << " byte " << i << " bit " << bit);
      CHECK(decode(g).error == damaged);
    }
}

/// Every cut of `f` is rejected (as damaged once it could hold a header and a
/// checksum); a byte appended is damage, and under a valid checksum it is
/// named as trailing bytes.
template <class Decode>
void check_cuts_and_trailing_rejected(const bytes& f, const char* name, Decode&& decode) {
  for (std::size_t n = 0; n < f.size(); ++n) {
    bytes cut(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n));
    INFO(name << " cut to " << n);
    auto d = decode(cut);
    CHECK_FALSE(d.ok());
    if (n >= 2 + frame_checksum_bytes)
      CHECK(d.error == damaged);
  }
  bytes longer = f;
  longer.push_back(0);
  INFO(name << " with a trailing byte");
  CHECK(decode(longer).error == damaged);
  CHECK(decode(resealed(longer)).error.find("trailing bytes") != std::string::npos);
}

} // namespace peerlab::test_kit
