#include "protocols/kad/ids.hpp"

#include "protocols/common/stable_hash.hpp"

#include <array>
#include <bit>
#include <string_view>

namespace peerlab::kad {

kad_id id_of(peer_id p) {
  // Memo of a pure function (every received contact is checked against it):
  // a direct-mapped cache per thread, so no state is shared between threads
  // and results never depend on what was cached.
  struct slot {
    peer_id peer;
    bool used;
    kad_id id;
  };
  static thread_local std::array<slot, 4096> cache{};
  slot& s = cache[mix64(p) & (cache.size() - 1)];
  if (s.used && s.peer == p)
    return s.id;
  std::uint8_t le[8];
  for (int i = 0; i < 8; ++i)
    le[i] = static_cast<std::uint8_t>(p >> (8 * i));
  s = slot{p, true, sha256::of(byte_view{le, 8})};
  return s.id;
}

kad_id distance(const kad_id& a, const kad_id& b) {
  kad_id d;
  for (std::size_t i = 0; i < id_bytes; ++i)
    d[i] = a[i] ^ b[i];
  return d;
}

bool closer(const kad_id& target, const kad_id& a, const kad_id& b) {
  for (std::size_t i = 0; i < id_bytes; ++i) {
    std::uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];
    if (da != db)
      return da < db;
  }
  return false;
}

int common_prefix_len(const kad_id& a, const kad_id& b) {
  for (std::size_t i = 0; i < id_bytes; ++i) {
    std::uint8_t x = a[i] ^ b[i];
    if (x != 0)
      return static_cast<int>(i) * 8 + std::countl_zero(x);
  }
  return id_bits;
}

kad_id random_id_with_cpl(const kad_id& self, int cpl, rng& r) {
  kad_id out;
  for (std::size_t i = 0; i < id_bytes; i += 8) {
    std::uint64_t w = r.next();
    for (std::size_t j = 0; j < 8; ++j)
      out[i + j] = static_cast<std::uint8_t>(w >> (8 * j));
  }
  // Copy the first `cpl` bits of self, then flip bit `cpl`.
  for (int bit = 0; bit <= cpl && bit < id_bits; ++bit) {
    std::size_t byte = static_cast<std::size_t>(bit / 8);
    std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    bool v = (self[byte] & mask) != 0;
    if (bit == cpl)
      v = !v;
    out[byte] = static_cast<std::uint8_t>(v ? (out[byte] | mask) : (out[byte] & ~mask));
  }
  return out;
}

kad_id proxy_providers_key() {
  static const kad_id k = [] {
    std::string_view name = "http_proxy_providers";
    return sha256::of(byte_view{reinterpret_cast<const std::uint8_t*>(name.data()), name.size()});
  }();
  return k;
}

std::optional<kad_id> parse_key(const std::string& s) {
  if (s == "http_proxy_providers")
    return proxy_providers_key();
  if (s.size() != 64 && !(s.size() == 66 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
    return std::nullopt;
  return digest_from_hex(s);
}

} // namespace peerlab::kad
