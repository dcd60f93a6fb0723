#include "protocols/droplog/block_stream.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/droplog/compress.hpp"

namespace peerlab::droplog {

bytes serialize_block(const std::vector<const message_frame*>& entries) {
  bytes out;
  std::size_t total = 4;
  for (auto* f : entries)
    total += block_entry_size(*f);
  out.reserve(total);
  wire::writer w(out);
  w.varint(entries.size());
  std::uint64_t prev = 0;
  for (auto* f : entries) {
    w.varint(f->seq - prev); // entries of a block are in seq order
    prev = f->seq;
    w.varint(f->fragment_index);
    w.varint(f->fragment_count);
    w.u8(f->flags);
    w.varint(f->payload.size());
    w.raw(f->payload);
  }
  return out;
}

std::optional<std::vector<message_frame>>
parse_block(byte_view stream, std::uint32_t max_fragment_bytes, std::string* why) {
  auto fail = [&](std::string text) -> std::optional<std::vector<message_frame>> {
    if (why)
      *why = std::move(text);
    return std::nullopt;
  };
  wire::reader r(stream);
  std::uint64_t count = 0;
  if (!r.varint(count) || count > limits::messages_per_packet_max)
    return fail("block entry count missing or too large");
  std::vector<message_frame> out;
  std::uint64_t prev = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    message_frame f;
    std::uint64_t gap = 0, index = 0, frags = 0, len = 0;
    if (!r.varint(gap) || !r.varint(index) || !r.varint(frags) || !r.u8(f.flags) || !r.varint(len))
      return fail("block entry " + std::to_string(i) + " header cut");
    if (gap > UINT64_MAX - prev || (i > 0 && gap == 0))
      return fail("block entry " + std::to_string(i) + " seq not increasing");
    f.seq = prev += gap;
    if (index > UINT32_MAX || frags > UINT32_MAX)
      return fail("block entry " + std::to_string(i) + " bad fragment fields");
    f.fragment_index = static_cast<std::uint32_t>(index);
    f.fragment_count = static_cast<std::uint32_t>(frags);
    if (f.fragment_count == 0 || f.fragment_count > limits::fragments_per_message_max ||
        f.fragment_index >= f.fragment_count || (f.flags & ~message_flags::compressed))
      return fail("block entry " + std::to_string(i) + " bad fragment fields");
    if (len > max_fragment_bytes + 64ull || r.remaining() < len)
      return fail("block entry " + std::to_string(i) + " length " + std::to_string(len));
    byte_view body = stream.subspan(stream.size() - r.remaining(), len);
    r.skip(len);
    if (f.flags & message_flags::compressed) {
      auto plain = decompress_fragment(body, max_fragment_bytes);
      if (!plain)
        return fail("block entry " + std::to_string(i) + " does not decompress");
      f.payload = std::move(*plain);
      f.flags = 0;
    } else if (len > max_fragment_bytes) {
      return fail("block entry " + std::to_string(i) + " fragment too large");
    } else {
      f.payload.assign(body.begin(), body.end());
    }
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace peerlab::droplog
