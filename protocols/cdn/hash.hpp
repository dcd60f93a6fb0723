#pragma once
// SHA-224, the digest the origin lists for every resource (the seed's choice;
// browsers' WebCrypto lacks it, so the wasm build brings its own).
#include "protocols/common/types.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace peerlab::cdn {

using hash224 = std::array<std::uint8_t, 28>;

hash224 sha224_of(byte_view data);
std::string hex(const hash224& h);
/// Exactly 56 hex digits.
std::optional<hash224> hash_from_hex(std::string_view text);

} // namespace peerlab::cdn
