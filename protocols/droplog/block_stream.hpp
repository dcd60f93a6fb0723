#pragma once
// The bytes a coded block protects: its log entries one after another,
//   entry count | count x (seq - previous seq | fragment index | fragment count |
//                          flags u8 | length | payload [length])
// (LEB128 varints but the flags; seqs increase, the first counts from 0),
// then zeros up to k x symbol size. Entries keep their wire payload
// (compressed if the flag says so); parse() decompresses like the codec.
#include "protocols/droplog/codec.hpp"

#include <optional>
#include <string>
#include <vector>

namespace peerlab::droplog {

// At most (varints of a u64, two u32, the flags and a u32): a bound for sizing.
constexpr std::size_t block_entry_header_bytes = 10 + 5 + 5 + 1 + 5;

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
