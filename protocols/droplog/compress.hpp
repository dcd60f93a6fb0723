#pragma once
// zlib compression of one fragment. The compressed form is
// u32 original length (LE) || zlib stream, so the receiver allocates exactly
// once and can refuse a declared size above its bound before inflating.
#include "protocols/common/types.hpp"

#include <optional>

namespace peerlab::droplog {

/// Compressed form, or nullopt if it would not be smaller than `plain`.
std::optional<bytes> compress_fragment(byte_view plain);
/// Original bytes, or nullopt if malformed or larger than `max_plain`.
std::optional<bytes> decompress_fragment(byte_view packed, std::size_t max_plain);

} // namespace peerlab::droplog
