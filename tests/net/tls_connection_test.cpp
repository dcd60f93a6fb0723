// The connection is templated on its byte stream: the same framing, hello and
// queue run over TLS (boost::asio::ssl) with no change above the stream. Each
// side proves the id in its hello with its key (net/identity.hpp).
#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include "net/connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

using namespace peerlab;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

struct recorder final : net::connection_owner {
  std::vector<net::hello> hellos;
  std::vector<bytes> frames;
  std::vector<std::string> closed;
  void on_hello(net::connection_base&, const net::hello& h) override { hellos.push_back(h); }
  void on_frame(net::connection_base&, bytes&& f) override { frames.push_back(std::move(f)); }
  void on_closed(net::connection_base&, const std::string& why) override { closed.push_back(why); }
  void on_queue_full(net::connection_base&, std::size_t) override {}
};

// A context with a fresh self-signed P-256 certificate: a key that is no peer id.
void use_self_signed(ssl::context& ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("peerlab-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  REQUIRE(SSL_CTX_use_certificate(ctx.native_handle(), cert) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx.native_handle(), key) == 1);
  X509_free(cert);
  EVP_PKEY_free(key);
}

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  for (int i = 0; i < 100000 && !done(); ++i) {
    if (io.stopped())
      io.restart(); // ran out of work earlier (after the TLS handshakes)
    io.run_one_for(std::chrono::milliseconds(100)); // bounded: never hangs the suite
  }
}

// Two connections over one loopback TCP pair, each side with its own key.
struct tls_pair {
  using tls_connection = net::stream_connection<ssl::stream<tcp::socket>>;
  asio::io_context io;
  std::shared_ptr<const net::node_identity> ida = net::node_identity::ephemeral(),
                                            idb = net::node_identity::ephemeral();
  ssl::context ctx_a = context_of(*ida), ctx_b = context_of(*idb);
  recorder ra, rb;
  std::shared_ptr<tls_connection> ca, cb;

  static ssl::context context_of(const net::node_identity& id) {
    ssl::context ctx(ssl::context::tls);
    id.configure(ctx.native_handle());
    return ctx;
  }
  tls_pair() {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io), b(io);
    a.connect(acc.local_endpoint());
    acc.accept(b);
    ca = std::make_shared<tls_connection>(ssl::stream<tcp::socket>(std::move(a), ctx_a), ra);
    cb = std::make_shared<tls_connection>(ssl::stream<tcp::socket>(std::move(b), ctx_b), rb);
    ca->outgoing = true; // the dialing side runs the TLS client
  }
};

} // namespace

TEST_CASE("connection: frames and hellos run unchanged over TLS", "[net][connection]") {
  tls_pair p;
  p.ca->start({p.ida->id(), "127.0.0.1:1"});
  p.cb->start({p.idb->id(), "127.0.0.1:2"});
  bytes big(300'000);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<std::uint8_t>(i * 31);
  // Small frames share TLS records, a large one goes on its own: the order holds.
  REQUIRE(p.ca->send(bytes{250, 1, 2, 3}));
  REQUIRE(p.ca->send(bytes(big)));
  REQUIRE(p.ca->send(bytes{250, 4}));
  REQUIRE(p.cb->send(bytes{250, 9}));
  run_until(p.io, [&] { return p.rb.frames.size() == 3 && p.ra.frames.size() == 1; });
  INFO("closed: " << Catch::Detail::stringify(p.ra.closed) << " / "
                  << Catch::Detail::stringify(p.rb.closed));
  REQUIRE(p.ra.hellos.size() == 1);
  REQUIRE(p.ra.hellos[0].id == p.idb->id());
  REQUIRE(p.rb.hellos[0].id == p.ida->id());
  CHECK(p.ca->proven == p.idb->id());
  CHECK(p.cb->proven == p.ida->id());
  REQUIRE(p.rb.frames[0] == bytes{250, 1, 2, 3});
  REQUIRE(p.rb.frames[1] == big);
  REQUIRE(p.rb.frames[2] == bytes{250, 4});
  REQUIRE(p.ra.frames[0] == bytes{250, 9});
  p.ca->close("done");
  p.cb->close("done");
}

TEST_CASE("connection: a hello whose id the TLS key does not prove closes the connection",
          "[net][connection]") {
  tls_pair p;
  p.ca->start({12345, "127.0.0.1:1"}); // not the id of its key
  p.cb->start({p.idb->id(), "127.0.0.1:2"});
  run_until(p.io, [&] { return !p.rb.closed.empty(); });
  REQUIRE(p.rb.closed.size() == 1);
  CHECK(p.rb.closed[0] ==
        "hello claims peer 12345 but its TLS key proves peer " + std::to_string(p.ida->id()));
  CHECK(p.rb.hellos.empty());
  p.ca->close("done");
}

TEST_CASE("connection: a peer whose certificate key is not Ed25519 is refused",
          "[net][connection]") {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  auto id = net::node_identity::ephemeral();
  ssl::context ctx_a = tls_pair::context_of(*id), ctx_b(ssl::context::tls);
  use_self_signed(ctx_b);
  using tls_connection = net::stream_connection<ssl::stream<tcp::socket>>;
  recorder ra, rb;
  auto ca = std::make_shared<tls_connection>(ssl::stream<tcp::socket>(std::move(a), ctx_a), ra);
  ssl::stream<tcp::socket> tb(std::move(b), ctx_b);
  ca->outgoing = true;
  ca->start({id->id(), ""});
  tb.async_handshake(ssl::stream_base::server, [](auto) {});
  run_until(io, [&] { return !ra.closed.empty(); });
  REQUIRE(ra.closed.size() == 1);
  CHECK(ra.closed[0] == "TLS: the certificate's key is not Ed25519");
  CHECK(ra.hellos.empty());
}
