#pragma once
// Systematic Reed-Solomon erasure code over GF(2^8) (Intel ISA-L, the library
// Ceph and HDFS use). A block has k equal-size data symbols; parity symbol i
// (k <= i < max_symbols) is row i of ISA-L's Cauchy matrix, so parity can be
// generated a few at a time, fresh ones after earlier ones were lost, and any
// k distinct symbols of a block rebuild its data.
#include "protocols/common/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace peerlab::droplog::erasure {

/// Data plus parity symbols of one block (rows of the Cauchy matrix; i ^ j
/// must stay below 256 and nonzero).
constexpr std::uint32_t max_symbols = 255;

/// Parity symbols [first, first + count) of the k = data.size() data symbols,
/// all data.front().size() bytes. Requires k <= first and first + count <= max_symbols.
std::vector<bytes> encode(const std::vector<byte_view>& data, std::uint32_t first,
                          std::uint32_t count);

/// The k data symbols rebuilt from any k distinct symbols (index -> bytes, all
/// the same size); nullopt if fewer than k are given or sizes differ.
std::optional<std::vector<bytes>> decode(std::uint32_t k,
                                         const std::map<std::uint32_t, bytes>& symbols);

} // namespace peerlab::droplog::erasure
