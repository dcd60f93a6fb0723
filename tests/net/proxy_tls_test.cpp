// The leg between a client node's local proxy and a provider's forward proxy
// over mutual TLS 1.3 with the nodes' identities (net/identity.hpp): requests
// and tunnels pass and are metered as before; the local proxy sends its token
// only to the provider it chose (proven peer id), the forward proxy honours a
// token only from the peer it was issued to, and refuses plain HTTP and
// clients without a certificate with answers that say so.
#include "net/forward_proxy.hpp"
#include "net/identity.hpp"
#include "net/local_proxy.hpp"
#include "proxy_kit.hpp"

#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include <mutex>

using namespace peerlab;
using namespace peerlab::test::proxykit;
using peerlab::net::forward_proxy;
using peerlab::net::local_proxy;
using peerlab::net::node_identity;
using peerlab::net::proxy_authorization;
using verdict = proxy_authorization::verdict;
using identity_ptr = std::shared_ptr<const node_identity>;

namespace {

/// A provider node's forward proxy (with its identity, or plain) that
/// issued token "tok" to the node `client_peer`.
struct provider {
  provider(identity_ptr id, peer_id client_peer)
      : identity(id), proxy(
                        [id] {
                          net::forward_proxy_options o;
                          o.allow_internal_destinations = true;
                          o.identity = id;
                          return o;
                        }(),
                        {[client_peer](const std::string& t) {
                           if (t == "tok")
                             return proxy_authorization{verdict::allowed, "me", client_peer};
                           return proxy_authorization{};
                         },
                         {},
                         {},
                         [](const std::string&) {}}) {
    proxy.start();
  }
  identity_ptr identity;
  forward_proxy proxy;
};

/// A client node's local proxy with its identity and its failure reports.
struct client_node {
  explicit client_node(identity_ptr id)
      : identity(id),
        proxy(
          [id] {
            net::local_proxy_options o;
            o.identity = id;
            return o;
          }(),
          {{},
           [this](const std::string& upstream, unsigned status, const std::string& why) {
             std::lock_guard g(mu);
             failures.push_back(upstream + " " + std::to_string(status) + " " + why);
           },
           [](const std::string&) {}}) {
    proxy.start();
  }
  std::vector<std::string> failures_now() {
    std::lock_guard g(mu);
    return failures;
  }
  identity_ptr identity;
  std::mutex mu;
  std::vector<std::string> failures;
  local_proxy proxy;
};

/// Speaks TLS to `address` without a client certificate, sends `request`
/// and returns everything read until the server closes (blocking, with a
/// receive timeout so a stuck server fails the test).
std::string tls_without_certificate(const std::string& address, const std::string& request) {
  asio::io_context io;
  tcp::socket s(io);
  auto port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  timeval tv{10, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), static_cast<int>(s.native_handle()));
  if (SSL_connect(ssl.get()) != 1)
    throw std::runtime_error("TLS handshake without a certificate failed");
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0)
    throw std::runtime_error("TLS write failed");
  std::string got;
  char buf[4096];
  for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  return got;
}

bool any_contains(const std::vector<std::string>& v, const std::string& part) {
  for (auto& s : v)
    if (s.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("proxy TLS: requests and tunnels pass between the nodes' identities", "[proxy]") {
  http_origin origin;
  raw_origin echo(raw_origin::mode::echo);
  client_node n(node_identity::ephemeral());
  provider p(node_identity::ephemeral(), n.identity->id());
  n.proxy.set_upstream({"p1", p.proxy.address(), "tok", p.identity->id()});
  {
    client c(n.proxy.address());
    c.send(proxy_get(origin.authority(), "/hello"));
    auto a = c.response();
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    c.send(proxy_get(origin.authority(), "/size/200000")); // the kept-alive TLS upstream again
    CHECK(c.response().body.size() == 200000);
    c.close();
    REQUIRE(eventually([&] { return n.proxy.connections() == 0; }));
    CHECK(n.proxy.totals("p1").up == c.bytes_written());
    CHECK(n.proxy.totals("p1").down == c.bytes_read());
  }
  client t(n.proxy.address());
  t.send(connect_request(echo.authority()));
  REQUIRE(t.connect_answer().status == 200);
  std::string data(1 << 20, 'e');
  t.send(data);
  CHECK(t.read_exact(data.size()) == data);
  // A half-close passes through the TLS leg as its end (close_notify).
  t.shutdown_send();
  CHECK(t.closed_within(10s));
  CHECK(p.proxy.totals("me").up > data.size());
  CHECK(p.proxy.totals("me").down > data.size());
  CHECK(n.failures_now().empty());
}

TEST_CASE("proxy TLS: the token goes only to the provider the role chose", "[proxy]") {
  http_origin origin;
  client_node n(node_identity::ephemeral());
  provider p(node_identity::ephemeral(), n.identity->id());
  auto someone_else = node_identity::ephemeral()->id();
  n.proxy.set_upstream({"p1", p.proxy.address(), "tok", someone_else});
  client c(n.proxy.address());
  c.send(proxy_get(origin.authority(), "/hello"));
  auto a = c.response();
  CHECK(a.status == 502);
  CHECK(a.body.find("not the chosen provider " + std::to_string(someone_else)) !=
        std::string::npos);
  CHECK(any_contains(n.failures_now(),
                     "p1 502 the upstream is peer " + std::to_string(p.identity->id())));
  // The provider never saw a request: nothing authorized, nothing metered.
  CHECK(p.proxy.totals("me").up == 0);
}

TEST_CASE("proxy TLS: a plain provider fails the handshake as an upstream failure", "[proxy]") {
  http_origin origin;
  client_node n(node_identity::ephemeral());
  provider plain(nullptr, n.identity->id());
  n.proxy.set_upstream({"p1", plain.proxy.address(), "tok", 42});
  client c(n.proxy.address());
  c.send(proxy_get(origin.authority(), "/hello"));
  CHECK(c.response().status == 502);
  CHECK(any_contains(n.failures_now(), "p1 502 TLS handshake with"));
}

TEST_CASE("proxy TLS: a valid token from another peer is refused with 403", "[proxy]") {
  http_origin origin;
  raw_origin echo(raw_origin::mode::echo);
  auto issued_to = node_identity::ephemeral();
  client_node thief(node_identity::ephemeral());
  provider p(node_identity::ephemeral(), issued_to->id());
  thief.proxy.set_upstream({"p1", p.proxy.address(), "tok", p.identity->id()});
  client c(thief.proxy.address());
  c.send(proxy_get(origin.authority(), "/hello"));
  auto a = c.response();
  CHECK(a.status == 403);
  CHECK(a.body.find("issued to peer " + std::to_string(issued_to->id()) + ", not to peer " +
                    std::to_string(thief.identity->id())) != std::string::npos);
  CHECK(any_contains(thief.failures_now(), "p1 403"));
  client t(thief.proxy.address());
  t.send(connect_request(echo.authority()));
  CHECK(t.connect_answer().status == 403);
  CHECK(echo.received() == 0);
  CHECK(p.proxy.totals("me").up == 0);
}

TEST_CASE("proxy TLS: plain HTTP and clients without a certificate are told what is missing",
          "[proxy]") {
  http_origin origin;
  auto client_id = node_identity::ephemeral();
  provider p(node_identity::ephemeral(), client_id->id());
  // Plain HTTP with the right token: a plain 400 naming TLS.
  client c(p.proxy.address());
  c.send("GET http://" + origin.authority() + "/hello HTTP/1.1\r\nHost: " + origin.authority() +
         "\r\nProxy-Authorization: Bearer tok\r\n\r\n");
  auto a = c.response();
  CHECK(a.status == 400);
  CHECK(a.body.find("accepts TLS only") != std::string::npos);
  // TLS without a certificate: the handshake completes, the token is refused.
  auto got =
    tls_without_certificate(p.proxy.address(), "GET http://" + origin.authority() +
                                                 "/hello HTTP/1.1\r\nHost: " + origin.authority() +
                                                 "\r\nProxy-Authorization: Bearer tok\r\n\r\n");
  CHECK(got.rfind("HTTP/1.1 407", 0) == 0);
  CHECK(got.find("client certificate") != std::string::npos);
  // An unknown token over TLS is a 407 as before.
  got =
    tls_without_certificate(p.proxy.address(), "GET http://" + origin.authority() +
                                                 "/hello HTTP/1.1\r\nHost: " + origin.authority() +
                                                 "\r\nProxy-Authorization: Bearer x\r\n\r\n");
  CHECK(got.find("unknown token") != std::string::npos);
  CHECK(p.proxy.totals("me").up == 0);
}

TEST_CASE("proxy TLS: an upstream without the provider's id is refused", "[proxy]") {
  client_node n(node_identity::ephemeral());
  CHECK_THROWS_WITH(n.proxy.set_upstream({"p1", "127.0.0.1:9", "tok", 0}),
                    Catch::Contains("provider's peer id"));
}
