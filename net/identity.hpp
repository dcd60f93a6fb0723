#pragma once
// A live node's identity: an Ed25519 key kept in its data folder (created on
// first start, mode 0600) and a self-signed certificate made from it at each
// start. The peer id is derived from the public key, so a peer proves its id by
// completing a TLS 1.3 handshake with that key: no authority, as in libp2p.
//
//   peer id = first 8 bytes (little-endian u64) of SHA-256(raw 32-byte Ed25519 public key)
#include "protocols/common/types.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <variant>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace peerlab::net {

class node_identity {
public:
  /// Loads `file` (PEM, PKCS#8 Ed25519), or creates it (mode 0600, written to a
  /// temporary name and renamed, so a crash never leaves half a key). Throws
  /// std::runtime_error naming the file and what is wrong: unreadable, not an
  /// Ed25519 key, or readable by others than its owner.
  static std::shared_ptr<const node_identity> load_or_create(const std::filesystem::path& file);
  /// A key that lives only in memory (tests, benchmarks).
  static std::shared_ptr<const node_identity> ephemeral();

  ~node_identity();
  node_identity(const node_identity&) = delete;
  node_identity& operator=(const node_identity&) = delete;

  peer_id id() const { return id_; }
  /// Sets this identity's key and certificate on `ctx`, TLS 1.3 only, and
  /// makes both sides require and accept (self-signed) peer certificates: the
  /// id check happens after the handshake (proven_peer).
  void configure(SSL_CTX* ctx) const;

private:
  explicit node_identity(EVP_PKEY* key);
  EVP_PKEY* key_;
  X509* cert_;
  peer_id id_;
};

/// The peer id of an Ed25519 public key, or the error (another key type).
std::variant<peer_id, std::string> peer_id_of_key(EVP_PKEY* key);

/// After a completed TLS handshake: the id the peer's certificate key proves
/// (the handshake's CertificateVerify showed the peer holds that key).
std::variant<peer_id, std::string> proven_peer(SSL* ssl);

} // namespace peerlab::net
