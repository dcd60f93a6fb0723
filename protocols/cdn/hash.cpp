#include "protocols/cdn/hash.hpp"

#include "protocols/common/sha224.hpp"

namespace peerlab::cdn {

hash224 sha224_of(byte_view data) { return sha224::of(data); }

std::string hex(const hash224& h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(56);
  for (auto b : h) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<hash224> hash_from_hex(std::string_view text) {
  if (text.size() != 56)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  hash224 h{};
  for (std::size_t i = 0; i < 28; ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    h[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return h;
}

} // namespace peerlab::cdn
