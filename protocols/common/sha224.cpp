#include "protocols/common/sha224.hpp"

#if defined(__EMSCRIPTEN__) || defined(PEERLAB_PORTABLE_SHA2)
#include "protocols/common/sha2_portable.hpp"
#else
#include <openssl/evp.h>

#include <stdexcept>
#endif

namespace peerlab {

#if defined(__EMSCRIPTEN__) || defined(PEERLAB_PORTABLE_SHA2)

struct sha224::impl {
  sha2::portable h{sha2::variant::sha224};
  void update(byte_view d) { h.update(d.data(), d.size()); }
  void finish(digest224& out) { h.finish(out.data()); }
};

#else

struct sha224::impl {
  EVP_MD_CTX* ctx = nullptr;
  impl() : ctx(EVP_MD_CTX_new()) {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha224(), nullptr) != 1)
      throw std::runtime_error("sha224: EVP init failed");
  }
  ~impl() { EVP_MD_CTX_free(ctx); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  void update(byte_view d) {
    if (!d.empty())
      EVP_DigestUpdate(ctx, d.data(), d.size());
  }
  void finish(digest224& out) {
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, out.data(), &n);
    EVP_DigestInit_ex(ctx, EVP_sha224(), nullptr);
  }
};

#endif

sha224::sha224() : impl_(std::make_unique<impl>()) {}
sha224::~sha224() = default;
sha224::sha224(sha224&&) noexcept = default;
sha224& sha224::operator=(sha224&&) noexcept = default;

void sha224::update(byte_view data) { impl_->update(data); }

digest224 sha224::finish() {
  digest224 d{};
  impl_->finish(d);
  return d;
}

digest224 sha224::of(byte_view data) {
  sha224 h;
  h.update(data);
  return h.finish();
}

} // namespace peerlab
