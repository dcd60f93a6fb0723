#pragma once
// Length-prefixed frames on a byte stream: u32 little-endian length, then the
// frame. Independent of the stream type, so TLS can wrap the connection
// without touching anything above.
#include "protocols/common/limits.hpp"
#include "protocols/common/types.hpp"

#include <array>
#include <cstddef>
#include <deque>
#include <span>
#include <string>

namespace peerlab::net {

constexpr std::size_t frame_header_bytes = 4;

/// The 4-byte length prefix of a frame of `n` bytes.
std::array<std::uint8_t, frame_header_bytes> frame_header(std::size_t n);

/// Appends one encoded frame to `out`.
void encode_frame(byte_view frame, bytes& out);

/// Incremental decoder. Two ways to use it:
/// - feed(bytes) with whatever arrived (tests, simple callers);
/// - zero-copy reading: read into read_buffer(), then commit(n). While a large
///   frame body is outstanding, read_buffer() points into that frame itself, so
///   its bytes go from the socket straight into the frame handed to the role.
/// A frame's buffer grows as its bytes arrive (doubling, from the staging
/// size), so a length prefix alone never costs the memory it announces.
class frame_decoder {
public:
  /// Reads land in a staging buffer of `staging` bytes unless a frame body of
  /// at least that size is outstanding. The first frame may be held to a
  /// smaller bound (`first_frame_max`, 0 = `max_frame`): a connection's first
  /// frame is the peer's hello, and a stranger gets no large buffer.
  explicit frame_decoder(std::size_t max_frame = limits::frame_bytes_max,
                         std::size_t staging = 64 * 1024, std::size_t first_frame_max = 0);

  /// Consumes `data`. Returns false (and sets error()) if a length prefix
  /// exceeds the bound; the connection must then be closed.
  bool feed(byte_view data);

  /// Where the next read should write. Never empty.
  std::span<std::uint8_t> read_buffer();
  /// `n` bytes were written at the start of read_buffer(). Same result as feed().
  bool commit(std::size_t n);

  /// Bytes held for the frame being read (at most twice what has arrived,
  /// or the staging size).
  std::size_t body_capacity() const { return body_.size(); }

  bool has_frame() const { return !ready_.empty(); }
  bytes take();
  const std::string& error() const { return error_; }

private:
  bool consume(const std::uint8_t* p, std::size_t n);
  bool start_body();
  void grow_body();
  void finish_body();

  std::size_t max_, first_max_;
  bool first_ = true;
  bytes staging_;
  std::array<std::uint8_t, frame_header_bytes> header_{};
  std::size_t header_have_ = 0;
  bool in_body_ = false;
  bytes body_;                 // grows towards body_total_ as bytes arrive
  std::size_t body_total_ = 0; // the announced length
  std::size_t body_have_ = 0;
  bool direct_ = false; // read_buffer() handed out the body itself
  std::deque<bytes> ready_;
  std::string error_;
};

} // namespace peerlab::net
