#pragma once
// Small text helpers for parsing command arguments and quoting untrusted
// strings in error messages.
#include "protocols/common/printable.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peerlab {

/// The value of one hexadecimal digit (either case), or -1.
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// A whole decimal unsigned number, or nullopt (empty, sign, junk, overflow).
inline std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return v;
}

/// At most `max` bytes of an untrusted argument, made printable (see
/// printable.hpp), for error messages.
inline std::string quote_arg(std::string_view s, std::size_t max = 256) {
  auto out = printable(s.substr(0, max));
  if (s.size() > max)
    out += "...";
  return out;
}

} // namespace peerlab
