// The connection is templated on its byte stream: the same framing, hello and
// queue run over TLS (boost::asio::ssl) with no change above the stream. A
// self-signed certificate is made in memory for the test.
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

// A server context with a fresh self-signed P-256 certificate.
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

} // namespace

TEST_CASE("connection: frames and hellos run unchanged over TLS", "[net][connection]") {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);

  ssl::context client_ctx(ssl::context::tls_client), server_ctx(ssl::context::tls_server);
  client_ctx.set_verify_mode(ssl::verify_none); // identity comes with the TLS work, not here
  server_ctx.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  use_self_signed(server_ctx);
  ssl::stream<tcp::socket> ta(std::move(a), client_ctx), tb(std::move(b), server_ctx);
  int shaken = 0;
  boost::system::error_code ea, eb;
  ta.async_handshake(ssl::stream_base::client, [&](auto ec) {
    ea = ec;
    ++shaken;
  });
  tb.async_handshake(ssl::stream_base::server, [&](auto ec) {
    eb = ec;
    ++shaken;
  });
  run_until(io, [&] { return shaken == 2; });
  REQUIRE_FALSE(ea);
  REQUIRE_FALSE(eb);
  REQUIRE(std::string(SSL_get_version(ta.native_handle())) == "TLSv1.3");

  using tls_connection = net::stream_connection<ssl::stream<tcp::socket>>;
  recorder ra, rb;
  auto ca = std::make_shared<tls_connection>(std::move(ta), ra);
  auto cb = std::make_shared<tls_connection>(std::move(tb), rb);
  ca->start({1, "127.0.0.1:1"});
  cb->start({2, "127.0.0.1:2"});
  bytes big(300'000);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<std::uint8_t>(i * 31);
  REQUIRE(ca->send(bytes{250, 1, 2, 3}));
  REQUIRE(ca->send(bytes(big)));
  REQUIRE(cb->send(bytes{250, 9}));
  run_until(io, [&] { return rb.frames.size() == 2 && ra.frames.size() == 1; });
  INFO("closed: " << Catch::Detail::stringify(ra.closed) << " / "
                  << Catch::Detail::stringify(rb.closed));
  REQUIRE(ra.hellos.size() == 1);
  REQUIRE(ra.hellos[0].id == 2);
  REQUIRE(rb.hellos[0].id == 1);
  REQUIRE(rb.frames[0] == bytes{250, 1, 2, 3});
  REQUIRE(rb.frames[1] == big);
  REQUIRE(ra.frames[0] == bytes{250, 9});
  ca->close("done");
  cb->close("done");
}
