#include "protocols/common/sha256.hpp"

#include "protocols/common/text.hpp"

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

std::string to_hex(byte_view b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.resize(b.size() * 2);
  for (std::size_t i = 0; i < b.size(); ++i) {
    s[2 * i] = digits[b[i] >> 4];
    s[2 * i + 1] = digits[b[i] & 15];
  }
  return s;
}

std::optional<bytes> bytes_from_hex(std::string_view hex) {
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
    hex.remove_prefix(2);
  if (hex.size() % 2 != 0)
    return std::nullopt;
  bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]), lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

std::optional<digest> digest_from_hex(std::string_view hex) {
  auto b = bytes_from_hex(hex);
  if (!b || b->size() != 32)
    return std::nullopt;
  digest d{};
  std::copy(b->begin(), b->end(), d.begin());
  return d;
}

} // namespace peerlab
