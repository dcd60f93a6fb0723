#include "protocols/droplog/compress.hpp"

#include <zlib.h>

#include <cstring>

namespace peerlab::droplog {

std::optional<bytes> compress_fragment(byte_view plain) {
  if (plain.size() < 64 || plain.size() > 0xffffffffu)
    return std::nullopt; // too small to gain anything
  uLongf bound = compressBound(static_cast<uLong>(plain.size()));
  bytes out(4 + bound);
  auto n = static_cast<std::uint32_t>(plain.size());
  std::memcpy(out.data(), &n, 4);
  if (compress2(out.data() + 4, &bound, plain.data(), static_cast<uLong>(plain.size()), 6) != Z_OK)
    return std::nullopt;
  out.resize(4 + bound);
  if (out.size() >= plain.size())
    return std::nullopt;
  return out;
}

std::optional<bytes> decompress_fragment(byte_view packed, std::size_t max_plain) {
  if (packed.size() < 5)
    return std::nullopt;
  std::uint32_t n = 0;
  std::memcpy(&n, packed.data(), 4);
  if (n > max_plain)
    return std::nullopt;
  bytes out(n);
  uLongf got = n;
  if (uncompress(out.data(), &got, packed.data() + 4, static_cast<uLong>(packed.size() - 4)) !=
        Z_OK ||
      got != n)
    return std::nullopt;
  return out;
}

} // namespace peerlab::droplog
