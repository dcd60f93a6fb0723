#include "protocols/common/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace peerlab {

struct sha256::impl {
  EVP_MD_CTX* ctx = nullptr;
  impl() : ctx(EVP_MD_CTX_new()) {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("sha256: EVP init failed");
  }
  ~impl() { EVP_MD_CTX_free(ctx); }
};

sha256::sha256() : impl_(std::make_unique<impl>()) {}
sha256::~sha256() = default;
sha256::sha256(sha256&&) noexcept = default;
sha256& sha256::operator=(sha256&&) noexcept = default;

void sha256::update(byte_view data) {
  if (!data.empty())
    EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

digest sha256::finish() {
  digest d{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, d.data(), &n);
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  return d;
}

digest sha256::peek() const {
  digest d{};
  unsigned int n = 0;
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  if (!copy || EVP_MD_CTX_copy_ex(copy, impl_->ctx) != 1) {
    EVP_MD_CTX_free(copy);
    throw std::runtime_error("sha256: EVP copy failed");
  }
  EVP_DigestFinal_ex(copy, d.data(), &n);
  EVP_MD_CTX_free(copy);
  return d;
}

digest sha256::of(byte_view data) {
  digest d{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

} // namespace peerlab
