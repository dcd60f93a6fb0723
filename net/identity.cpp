#include "net/identity.hpp"
#include "net/private_file.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace peerlab::net {

namespace {

constexpr std::size_t key_file_bytes_max = 64 * 1024; // a PEM Ed25519 key is about 120 bytes

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw std::runtime_error("node key " + file.string() + ": " + what);
}

std::string hex_id(peer_id id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

EVP_PKEY* parse_key(const std::filesystem::path& file, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key)
    fail(file, "not a PEM private key");
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    fail(file, "not an Ed25519 key");
  }
  return key;
}

std::string to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    throw std::runtime_error("cannot encode a new node key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key)
    throw std::runtime_error("cannot generate an Ed25519 key");
  return key;
}

// Self-signed: peers check the key, not a chain; the dates only need to
// satisfy libraries that look at them.
X509* self_signed(EVP_PKEY* key, peer_id id) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert, key);
  auto cn = "peerlab " + hex_id(id);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, nullptr) <= 0) { // Ed25519 signs without a separate digest
    X509_free(cert);
    throw std::runtime_error("cannot sign the node certificate");
  }
  return cert;
}

// Any certificate passes OpenSSL's chain check (they are all self-signed);
// proven_peer decides who the peer is once the handshake is complete.
int accept_self_signed(int, X509_STORE_CTX*) { return 1; }

} // namespace

std::variant<peer_id, std::string> peer_id_of_key(EVP_PKEY* key) {
  if (!key)
    return std::string("no public key");
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
    return std::string("the certificate's key is not Ed25519");
  std::array<unsigned char, 32> raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size())
    return std::string("cannot read the certificate's public key");
  std::array<unsigned char, 32> digest{};
  unsigned int dlen = 0;
  if (EVP_Digest(raw.data(), raw.size(), digest.data(), &dlen, EVP_sha256(), nullptr) != 1)
    return std::string("cannot hash the public key");
  peer_id id = 0;
  for (int i = 7; i >= 0; --i)
    id = (id << 8) | digest[static_cast<std::size_t>(i)];
  if (id == 0)
    return std::string("the key maps to the reserved peer id 0");
  return id;
}

std::variant<peer_id, std::string> proven_peer(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert)
    return std::string("the peer sent no certificate");
  return peer_id_of_key(X509_get0_pubkey(cert));
}

node_identity::node_identity(EVP_PKEY* key) : key_(key), cert_(nullptr), id_(0) {
  auto id = peer_id_of_key(key_);
  if (auto* err = std::get_if<std::string>(&id)) {
    EVP_PKEY_free(key_);
    throw std::runtime_error("node key: " + *err);
  }
  id_ = std::get<peer_id>(id);
  try {
    cert_ = self_signed(key_, id_);
  } catch (...) {
    EVP_PKEY_free(key_);
    throw;
  }
}

node_identity::~node_identity() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::shared_ptr<const node_identity>
node_identity::load_or_create(const std::filesystem::path& file) {
  if (auto pem = read_private_file(file, "node key", key_file_bytes_max))
    return std::shared_ptr<const node_identity>(new node_identity(parse_key(file, *pem)));
  EVP_PKEY* key = new_key();
  try {
    write_private_file(file, "node key", to_pem(key));
  } catch (...) {
    EVP_PKEY_free(key);
    throw;
  }
  return std::shared_ptr<const node_identity>(new node_identity(key));
}

std::shared_ptr<const node_identity> node_identity::ephemeral() {
  return std::shared_ptr<const node_identity>(new node_identity(new_key()));
}

void node_identity::configure(SSL_CTX* ctx) const {
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // AES-128-GCM first: with AES-NI it is the cheapest of the three per byte.
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                "TLS_CHACHA20_POLY1305_SHA256");
  if (SSL_CTX_use_certificate(ctx, cert_) != 1 || SSL_CTX_use_PrivateKey(ctx, key_) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    throw std::runtime_error("cannot use the node key for TLS");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_self_signed);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET); // every connection proves its key afresh
  SSL_CTX_set_num_tickets(ctx, 0);
  // With read-ahead (net/tls_socket.hpp), one recv() takes many records.
  SSL_CTX_set_default_read_buffer_len(ctx, 256 * 1024);
}

} // namespace peerlab::net
