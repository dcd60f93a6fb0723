#pragma once
// 256-bit Kademlia identifiers, XOR distance and the keys of the file market.
#include "protocols/common/rng.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace peerlab::kad {

using kad_id = digest;
constexpr std::size_t id_bytes = 32;
constexpr int id_bits = 256;

/// A node's id: SHA-256 of its peer id as 8 little-endian bytes, so the
/// simulator and live nodes derive the same id from the same peer id.
kad_id id_of(peer_id p);

/// XOR distance. Compared as a 256-bit big-endian number (std::array's <).
kad_id distance(const kad_id& a, const kad_id& b);

/// True if `a` is strictly closer to `target` than `b`.
bool closer(const kad_id& target, const kad_id& a, const kad_id& b);

/// Leading bits `a` and `b` share: 0..256 (256 only when equal).
int common_prefix_len(const kad_id& a, const kad_id& b);

/// A random id that shares exactly `cpl` leading bits with `self` (cpl < 256).
kad_id random_id_with_cpl(const kad_id& self, int cpl, rng& r);

/// Provider key of a file: SHA-256 of its content.
inline kad_id file_key(byte_view content) { return sha256::of(content); }

/// Fixed provider key of HTTP proxy providers: SHA-256 of the 20 ASCII bytes
/// "http_proxy_providers" (the seed's key name, hashed into the id space).
kad_id proxy_providers_key();

/// Parses a command key: 64 hex digits or the alias "http_proxy_providers".
std::optional<kad_id> parse_key(const std::string& s);

} // namespace peerlab::kad
