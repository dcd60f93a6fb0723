#pragma once
// Timer tokens of the kad node: kind in the top byte, an id below. Tokens
// cannot be cancelled, so every handler checks the id is still current.
#include <cstdint>

namespace peerlab::kad::timers {

enum kind : std::uint64_t {
  request = 1,   // id: request id (per-request timeout)
  query = 2,     // id: query id (whole-lookup timeout)
  republish = 3, // id: republish serial of a provided key
  refresh = 4,   // id: epoch (periodic bucket refresh)
  stall = 5,     // id: request id (the request stops holding back its lookup)
};

constexpr int shift = 56;
constexpr std::uint64_t id_mask = (std::uint64_t{1} << shift) - 1;

constexpr std::uint64_t token(kind k, std::uint64_t id) {
  return (static_cast<std::uint64_t>(k) << shift) | (id & id_mask);
}
constexpr std::uint64_t kind_of(std::uint64_t token) { return token >> shift; }
constexpr std::uint64_t id_of(std::uint64_t token) { return token & id_mask; }

} // namespace peerlab::kad::timers
