// peerlab::sha256 (sha256.hpp) over the portable SHA-2 code: the WebAssembly
// build compiles this file instead of sha256.cpp, which needs OpenSSL. Native
// builds keep sha256.cpp (SHA-NI through OpenSSL is several times faster).
#include "protocols/common/sha256.hpp"

#include "protocols/common/sha2_portable.hpp"

namespace peerlab {

struct sha256::impl {
  sha2::portable h{sha2::variant::sha256};
};

sha256::sha256() : impl_(std::make_unique<impl>()) {}
sha256::~sha256() = default;
sha256::sha256(sha256&&) noexcept = default;
sha256& sha256::operator=(sha256&&) noexcept = default;

void sha256::update(byte_view data) { impl_->h.update(data.data(), data.size()); }

digest sha256::finish() {
  digest d{};
  impl_->h.finish(d.data());
  return d;
}

digest sha256::peek() const {
  auto copy = impl_->h; // finishing a copy leaves this state as it is
  digest d{};
  copy.finish(d.data());
  return d;
}

digest sha256::of(byte_view data) {
  sha2::portable h{sha2::variant::sha256};
  h.update(data.data(), data.size());
  digest d{};
  h.finish(d.data());
  return d;
}

} // namespace peerlab
