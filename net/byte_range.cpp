#include "net/byte_range.hpp"

#include <charconv>
#include <optional>

namespace peerlab::net {

namespace {

// Digits only (no sign, no space), at most 19 of them: fits a u64.
std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19)
    return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

byte_range parse_byte_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  byte_range r;
  if (header.substr(0, unit.size()) != unit)
    return r;
  auto spec = header.substr(unit.size());
  while (!spec.empty() && (spec.back() == ' ' || spec.back() == '\t'))
    spec.remove_suffix(1);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos)
    return r; // malformed, or several ranges: the whole resource
  auto a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) { // the last n bytes
    auto n = number(b);
    if (!n)
      return r;
    if (*n == 0 || size == 0)
      return {byte_range::unsatisfiable};
    r.kind = byte_range::part;
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
    return r;
  }
  auto first = number(a);
  auto last = b.empty() ? std::optional<std::uint64_t>(UINT64_MAX) : number(b);
  if (!first || !last || *last < *first)
    return r;
  if (*first >= size)
    return {byte_range::unsatisfiable};
  r.kind = byte_range::part;
  r.first = *first;
  r.last = std::min(*last, size - 1);
  return r;
}

} // namespace peerlab::net
