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

} // namespace peerlab
