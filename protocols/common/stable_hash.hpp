#pragma once
// A fast 64-bit hash whose value never depends on the platform, compiler or
// library version (unlike std::hash). Used for the run fingerprint.
#include <cstdint>
#include <cstring>

namespace peerlab {

inline std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline std::uint64_t hash_combine(std::uint64_t h, std::uint64_t v) {
  return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

inline std::uint64_t stable_hash(const void* data, std::size_t n, std::uint64_t seed = 0) {
  auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = mix64(seed ^ (n * 0x9e3779b97f4a7c15ULL));
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = hash_combine(h, w);
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  if (n > 0) // memcpy from a null pointer is undefined even for 0 bytes (an empty frame's data())
    std::memcpy(&tail, p, n);
  return hash_combine(h, tail);
}

} // namespace peerlab
