#pragma once
// SHA-224: OpenSSL in native builds, the portable code (sha2_portable.hpp) in
// WebAssembly builds (__EMSCRIPTEN__) or when PEERLAB_PORTABLE_SHA2 is defined.
// Browsers check content with it: WebCrypto has no SHA-224, so the page hashes
// in wasm with the same code the node-side tests compare against OpenSSL.
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <array>
#include <memory>
#include <string>

namespace peerlab {

using digest224 = std::array<std::uint8_t, 28>;

class sha224 {
public:
  sha224();
  ~sha224();
  sha224(const sha224&) = delete;
  sha224& operator=(const sha224&) = delete;
  sha224(sha224&&) noexcept;
  sha224& operator=(sha224&&) noexcept;

  void update(byte_view data);
  /// Finishes and resets, so the object can hash again.
  digest224 finish();

  static digest224 of(byte_view data);
  /// 56 lowercase hex digits.
  static std::string to_hex(const digest224& d) {
    return peerlab::to_hex(byte_view{d.data(), d.size()});
  }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace peerlab
