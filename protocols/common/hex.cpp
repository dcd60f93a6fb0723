// The hex helpers declared in sha256.hpp, apart from the hashing, so that the
// OpenSSL build (sha256.cpp) and the portable one (sha256_portable.cpp) share them.
#include "protocols/common/sha256.hpp"

#include "protocols/common/text.hpp"

#include <algorithm>

namespace peerlab {

std::string to_hex(byte_view b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.resize(b.size() * 2);
  for (std::size_t i = 0; i < b.size(); ++i) {
    s[2 * i] = digits[b[i] >> 4];
    s[2 * i + 1] = digits[b[i] & 15];
  }
  return s;
}

std::optional<bytes> bytes_from_hex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
    hex.remove_prefix(2);
  if (hex.size() % 2 != 0)
    return std::nullopt;
  bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<digest> digest_from_hex(std::string_view hex) {
  auto b = bytes_from_hex(hex);
  if (!b || b->size() != 32)
    return std::nullopt;
  digest d{};
  std::copy(b->begin(), b->end(), d.begin());
  return d;
}

} // namespace peerlab
