#include "protocols/droplog/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace peerlab::droplog {

namespace {

EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac)
    throw std::runtime_error("droplog: OpenSSL has no HMAC");
  return mac;
}

struct cipher_ctx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~cipher_ctx() { EVP_CIPHER_CTX_free(ctx); }
};

void make_nonce(std::uint64_t packet_id, std::uint32_t index, std::uint8_t nonce[12]) {
  std::memcpy(nonce, &packet_id, 8);
  std::memcpy(nonce + 8, &index, 4);
}

} // namespace

struct hmac_key::impl {
  EVP_MAC_CTX* ctx = nullptr;
  ~impl() { EVP_MAC_CTX_free(ctx); }
};

hmac_key::hmac_key(const key256& key) : impl_(std::make_unique<impl>()) {
  impl_->ctx = EVP_MAC_CTX_new(hmac_algorithm());
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  if (!impl_->ctx || EVP_MAC_init(impl_->ctx, key.data(), key.size(), params) != 1)
    throw std::runtime_error("droplog: HMAC init failed");
}
hmac_key::~hmac_key() = default;
hmac_key::hmac_key(hmac_key&&) noexcept = default;
hmac_key& hmac_key::operator=(hmac_key&&) noexcept = default;

key256 hmac_key::full(std::initializer_list<byte_view> parts) const {
  // A copy of the keyed context avoids re-deriving the HMAC pads per call.
  EVP_MAC_CTX* c = EVP_MAC_CTX_dup(impl_->ctx);
  if (!c)
    throw std::runtime_error("droplog: HMAC dup failed");
  for (auto p : parts)
    if (!p.empty())
      EVP_MAC_update(c, p.data(), p.size());
  key256 out{};
  std::size_t n = 0;
  EVP_MAC_final(c, out.data(), &n, out.size());
  EVP_MAC_CTX_free(c);
  return out;
}

tag hmac_key::compute(std::initializer_list<byte_view> parts) const {
  key256 f = full(parts);
  tag t{};
  std::memcpy(t.data(), f.data(), t.size());
  return t;
}

static key256 derive(const hmac_key& root, std::string_view label, peer_id s, peer_id r) {
  std::uint8_t ids[16];
  std::memcpy(ids, &s, 8);
  std::memcpy(ids + 8, &r, 8);
  std::string_view ctx = "peerlab droplog v1 ";
  return root.full({byte_view{reinterpret_cast<const std::uint8_t*>(ctx.data()), ctx.size()},
                    byte_view{reinterpret_cast<const std::uint8_t*>(label.data()), label.size()},
                    byte_view{ids, 16}});
}

static key256 root_key(std::string_view shared) {
  // HKDF-extract style: the shared key may have any length, HMAC needs none fixed.
  key256 salt{};
  hmac_key k(salt);
  return k.full({byte_view{reinterpret_cast<const std::uint8_t*>(shared.data()), shared.size()}});
}

direction_keys::direction_keys(std::string_view shared, peer_id sender, peer_id recipient)
    : header(derive(hmac_key(root_key(shared)), "header", sender, recipient)),
      message(derive(hmac_key(root_key(shared)), "message", sender, recipient)),
      cipher(derive(hmac_key(root_key(shared)), "cipher", sender, recipient)) {}

bool tags_equal(const tag& a, const std::uint8_t* b) {
  return CRYPTO_memcmp(a.data(), b, a.size()) == 0;
}

void gcm_seal(const key256& key, std::uint64_t packet_id, std::uint32_t index, byte_view aad,
              byte_view plain, std::uint8_t* cipher_out, tag& tag_out) {
  cipher_ctx c;
  std::uint8_t nonce[12];
  make_nonce(packet_id, index, nonce);
  int n = 0;
  bool ok = c.ctx && EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1;
  ok = ok && (aad.empty() ||
              EVP_EncryptUpdate(c.ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1);
  ok = ok && (plain.empty() || EVP_EncryptUpdate(c.ctx, cipher_out, &n, plain.data(),
                                                 static_cast<int>(plain.size())) == 1);
  ok = ok && EVP_EncryptFinal_ex(c.ctx, cipher_out + plain.size(), &n) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, tag_bytes, tag_out.data()) == 1;
  if (!ok)
    throw std::runtime_error("droplog: AES-256-GCM encryption failed");
}

bool gcm_open(const key256& key, std::uint64_t packet_id, std::uint32_t index, byte_view aad,
              byte_view cipher, const std::uint8_t* tag_in, std::uint8_t* plain_out) {
  cipher_ctx c;
  std::uint8_t nonce[12];
  make_nonce(packet_id, index, nonce);
  tag t{};
  std::memcpy(t.data(), tag_in, t.size());
  int n = 0;
  if (!c.ctx || EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1)
    return false;
  if (!aad.empty() &&
      EVP_DecryptUpdate(c.ctx, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1)
    return false;
  if (!cipher.empty() &&
      EVP_DecryptUpdate(c.ctx, plain_out, &n, cipher.data(), static_cast<int>(cipher.size())) != 1)
    return false;
  if (EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, tag_bytes, t.data()) != 1)
    return false;
  return EVP_DecryptFinal_ex(c.ctx, plain_out + cipher.size(), &n) == 1;
}

} // namespace peerlab::droplog
