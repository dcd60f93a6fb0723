#pragma once
// SHA-256 through OpenSSL's EVP interface (uses SHA-NI where the CPU has it).
#include "protocols/common/types.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace peerlab {

using digest = std::array<std::uint8_t, 32>;

class sha256 {
public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;
  sha256(sha256&&) noexcept;
  sha256& operator=(sha256&&) noexcept;

  void update(byte_view data);
  /// Finishes and resets, so the object can hash again.
  digest finish();
  /// The digest of what was hashed so far, leaving the state as it is (a
  /// checkpoint of a prefix that hashing then continues past).
  digest peek() const;

  static digest of(byte_view data);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

std::string to_hex(byte_view b);
inline std::string to_hex(const digest& d) { return to_hex(byte_view{d.data(), d.size()}); }
/// Parses 64 hex digits (an optional 0x prefix is accepted).
std::optional<digest> digest_from_hex(std::string_view hex);
/// Parses any even-length hex string (optional 0x prefix).
std::optional<bytes> bytes_from_hex(std::string_view hex);

} // namespace peerlab
