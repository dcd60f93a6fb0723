#pragma once
// Length-prefixed frames on a byte stream: u32 little-endian length, then the
// frame. Independent of the stream type, so TLS can wrap the connection
// without touching anything above.
#include "protocols/common/limits.hpp"
#include "protocols/common/types.hpp"

#include <cstddef>
#include <deque>
#include <string>

namespace peerlab::net {

/// Appends one encoded frame to `out`.
void encode_frame(byte_view frame, bytes& out);

/// Incremental decoder: feed it bytes as they arrive, take whole frames out.
class frame_decoder {
public:
  explicit frame_decoder(std::size_t max_frame = limits::max_frame_bytes) : max_(max_frame) {}

  /// Consumes `data`. Returns false (and sets error()) if a length prefix
  /// exceeds the bound; the connection must then be closed.
  bool feed(byte_view data);

  bool has_frame() const { return !ready_.empty(); }
  bytes take();
  const std::string& error() const { return error_; }

private:
  std::size_t max_;
  bytes pending_;
  std::deque<bytes> ready_;
  std::string error_;
};

} // namespace peerlab::net
