#pragma once
// Text that came from a peer (error reasons, names) is data, never trusted:
// it may hold invalid UTF-8, terminal escape sequences or control characters.
// printable() makes it safe for JSON, SQLite and a terminal: valid UTF-8 is
// kept, a backslash becomes "\\", and every control character (C0, DEL, C1)
// and every byte that is not part of a well-formed UTF-8 sequence becomes
// "\xNN". Text that is already safe comes back unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace peerlab {

namespace detail {

/// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no
/// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (at(k) & 0xc0) == 0x80; };
  std::uint8_t b = at(i);
  if (b >= 0xc2 && b <= 0xdf)
    return cont(i + 1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    if (!cont(i + 1) || !cont(i + 2))
      return 0;
    std::uint8_t b1 = at(i + 1);
    if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 >= 0xa0))
      return 0; // overlong, or a UTF-16 surrogate
    return 3;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
      return 0;
    std::uint8_t b1 = at(i + 1);
    if ((b == 0xf0 && b1 < 0x90) || (b == 0xf4 && b1 >= 0x90))
      return 0; // overlong, or above U+10FFFF
    return 4;
  }
  return 0;
}

} // namespace detail

/// True if printable(s) == s.
inline bool is_printable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<std::uint8_t>(s[i]);
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      ++i;
      continue;
    }
    auto n = b >= 0x80 ? detail::utf8_sequence(s, i) : 0;
    // U+0080..U+009F (C1 controls) are encoded as 0xc2 0x80..0x9f.
    if (n == 0 || (n == 2 && b == 0xc2 && static_cast<std::uint8_t>(s[i + 1]) < 0xa0))
      return false;
    i += n;
  }
  return true;
}

/// The text with control characters and invalid UTF-8 escaped as "\xNN".
inline std::string printable(std::string_view s) {
  if (is_printable(s))
    return std::string(s);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<std::uint8_t>(s[i]);
    if (b == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    auto n = b >= 0x80 ? detail::utf8_sequence(s, i) : 0;
    if (n == 2 && b == 0xc2 && static_cast<std::uint8_t>(s[i + 1]) < 0xa0)
      n = 0; // a C1 control: escape both bytes
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    out += "\\x";
    out += hex[b >> 4];
    out += hex[b & 0xf];
    ++i;
  }
  return out;
}

} // namespace peerlab
