#pragma once
// The bytes a coded block protects: its log entries one after another,
//   u32 entry count | count x (seq u64 | fragment index u32 | fragment count u32 |
//                              flags u8 | length u32 | payload [length])
// then zeros up to k x symbol size. Entries keep their wire payload
// (compressed if the flag says so); parse() decompresses like the codec.
#include "protocols/droplog/codec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace peerlab::droplog {

constexpr std::size_t block_entry_header_bytes = 8 + 4 + 4 + 1 + 4;

inline std::size_t block_entry_size(const message_frame& f) {
  return block_entry_header_bytes + f.payload.size();
}

/// The stream of `entries`, unpadded.
bytes serialize_block(const std::vector<const message_frame*>& entries);

/// Entries of a rebuilt block (trailing zeros ignored). nullopt, with the
/// reason in `why`, if the bytes do not form entries within `max_fragment_bytes`.
std::optional<std::vector<message_frame>>
parse_block(byte_view stream, std::uint32_t max_fragment_bytes, std::string* why);

} // namespace peerlab::droplog
