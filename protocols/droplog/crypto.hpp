#pragma once
// Keys and primitives of the message log: HMAC-SHA-256 truncated to 128 bits
// and AES-256-GCM, both from OpenSSL libcrypto. Keys are derived per direction
// (sender, recipient) from the shared key, so a packet cannot be replayed into
// another pair or reflected back to its sender.
#include "protocols/common/types.hpp"

#include <array>
#include <initializer_list>
#include <memory>
#include <string_view>

namespace peerlab::droplog {

constexpr std::size_t tag_bytes = 16;
using tag = std::array<std::uint8_t, tag_bytes>;
using key256 = std::array<std::uint8_t, 32>;

/// HMAC-SHA-256 under one key, truncated to 16 bytes (RFC 2104 section 5).
class hmac_key {
public:
  explicit hmac_key(const key256& key);
  ~hmac_key();
  hmac_key(hmac_key&&) noexcept;
  hmac_key& operator=(hmac_key&&) noexcept;
  tag compute(std::initializer_list<byte_view> parts) const;
  key256 full(std::initializer_list<byte_view> parts) const; // untruncated, for derivation

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Everything one direction (sender -> recipient) needs.
struct direction_keys {
  direction_keys(std::string_view shared_key, peer_id sender, peer_id recipient);
  hmac_key header;  // header and control block tags
  hmac_key message; // per-message tags (plaintext mode)
  key256 cipher{};  // AES-256-GCM key (encrypted mode)
};

/// Constant-time comparison.
bool tags_equal(const tag& a, const std::uint8_t* b);

/// AES-256-GCM with nonce = packet id (8 bytes LE) || message index (4 bytes LE).
/// The nonce is unique because packet ids are never reused within a direction.
void gcm_seal(const key256& key, std::uint64_t packet_id, std::uint32_t index, byte_view aad,
              byte_view plain, std::uint8_t* cipher_out, tag& tag_out);
bool gcm_open(const key256& key, std::uint64_t packet_id, std::uint32_t index, byte_view aad,
              byte_view cipher, const std::uint8_t* tag_in, std::uint8_t* plain_out);

} // namespace peerlab::droplog
