#pragma once
// Integrity trailer of a frame: the first 8 bytes of SHA-256 over every byte
// before it. It catches a frame damaged in transit (the simulator's corruption
// fault flips bits on a link without TLS integrity) so the receiver drops it as
// lost instead of acting on a frame that still parses. It authenticates
// nothing: anyone can compute it, so a peer that lies still has to be caught by
// the protocol itself. Used by the market and ledger codecs.
#include "protocols/common/sha256.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

namespace peerlab {

constexpr std::size_t frame_checksum_bytes = 8;

/// Appends the checksum of `out` (every byte written so far) to `out`.
inline void append_frame_checksum(bytes& out) {
  auto d = sha256::of(byte_view{out.data(), out.size()});
  out.insert(out.end(), d.begin(), d.begin() + frame_checksum_bytes);
}

/// True if `frame` ends with the checksum of the bytes before it.
inline bool frame_checksum_ok(byte_view frame) {
  if (frame.size() < frame_checksum_bytes)
    return false;
  auto body = frame.first(frame.size() - frame_checksum_bytes);
  auto d = sha256::of(body);
  return std::equal(d.begin(), d.begin() + frame_checksum_bytes, body.end());
}

/// The frame without its checksum trailer (empty if it is too short to carry one).
inline byte_view frame_body(byte_view frame) {
  return frame.size() < frame_checksum_bytes ? byte_view{}
                                             : frame.first(frame.size() - frame_checksum_bytes);
}

/// Checks a checksummed frame before its body is parsed: "" and its `body`
/// (the frame without the trailer), or why it is refused: longer than `max`,
/// too short for a 2-byte header and the checksum, or damaged. The checksum
/// comes first so a frame damaged in transit is reported as damaged (the
/// receiver treats it as lost), not by whichever field the damage happened to
/// hit; a body error therefore means the sender built a bad frame (a bug or a
/// lying peer), since its checksum matched.
inline std::string checked_frame_body(byte_view frame, std::size_t max, byte_view& body) {
  if (frame.size() > max)
    return "frame of " + std::to_string(frame.size()) + " bytes exceeds the limit";
  if (frame.size() < 2 + frame_checksum_bytes)
    return "frame shorter than its 2-byte header and 8-byte checksum";
  if (!frame_checksum_ok(frame))
    return "checksum mismatch (damaged in transit)";
  body = frame_body(frame);
  return "";
}

} // namespace peerlab
