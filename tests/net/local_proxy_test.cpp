// The client node's local proxy (net/local_proxy.hpp) in front of forward
// proxies (net/forward_proxy.hpp), all on 127.0.0.1: requests and tunnels
// pass with the bearer token added, upstreams switch at run time, upstream
// failures reach the callback, metering is exact, and a 256 MiB tunnel moves
// with bounded memory.
#include "net/forward_proxy.hpp"
#include "net/local_proxy.hpp"
#include "proxy_kit.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <mutex>

using namespace peerlab;
using namespace peerlab::test::proxykit;
using peerlab::net::forward_proxy;
using peerlab::net::local_proxy;
using peerlab::net::proxy_authorization;
using verdict = proxy_authorization::verdict;

namespace {

/// A provider's forward proxy that knows one token.
struct provider {
  explicit provider(std::string token)
      : proxy(
          [] {
            net::forward_proxy_options o;
            o.allow_internal_destinations = true;
            return o;
          }(),
          {[token](const std::string& t) {
             if (t == token)
               return proxy_authorization{verdict::allowed, "me"};
             return proxy_authorization{};
           },
           {},
           {},
           [](const std::string&) {}}) {
    proxy.start();
  }
  forward_proxy proxy;
};

/// The local proxy with its failure reports.
struct client_node {
  client_node()
      : proxy({}, {{},
                   [this](const std::string& id, unsigned status, const std::string& why) {
                     std::lock_guard g(mu);
                     failures.push_back(id + " " + std::to_string(status) + " " + why);
                   },
                   [](const std::string&) {}}) {
    proxy.start();
  }
  std::vector<std::string> failures_now() {
    std::lock_guard g(mu);
    return failures;
  }
  std::mutex mu;
  std::vector<std::string> failures;
  local_proxy proxy;
};

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

} // namespace

TEST_CASE("local proxy: requests and tunnels reach the origin through the chosen provider",
          "[proxy]") {
  http_origin origin;
  raw_origin echo(raw_origin::mode::echo);
  provider p("tok");
  client_node n;
  n.proxy.set_upstream({"p1", p.proxy.address(), "tok"});
  {
    client c(n.proxy.address());
    c.send(proxy_get(origin.authority(), "/hello"));
    auto a = c.response();
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    c.send(proxy_get(origin.authority(), "/size/200000"));
    CHECK(c.response().body.size() == 200000);
    c.close();
    REQUIRE(eventually([&] { return n.proxy.connections() == 0; }));
    CHECK(n.proxy.totals("p1").up == c.bytes_written());
    CHECK(n.proxy.totals("p1").down == c.bytes_read());
  }
  auto before = n.proxy.totals("p1");
  client t(n.proxy.address());
  t.send(connect_request(echo.authority()));
  REQUIRE(t.connect_answer().status == 200);
  std::string data(1 << 20, 'e');
  t.send(data);
  CHECK(t.read_exact(data.size()) == data);
  t.close();
  REQUIRE(eventually([&] { return n.proxy.connections() == 0; }));
  CHECK(n.proxy.totals("p1").up - before.up == t.bytes_written());
  CHECK(n.proxy.totals("p1").down - before.down == t.bytes_read());
  // The provider counted at least the payload both ways.
  CHECK(p.proxy.totals("me").up > (2u << 20) / 2);
  CHECK(p.proxy.totals("me").down > (2u << 20) / 2);
  CHECK(n.failures_now().empty());
}

TEST_CASE("local proxy: a new upstream takes the next request of a kept-alive connection",
          "[proxy]") {
  http_origin origin;
  provider a("ta"), b("tb");
  client_node n;
  n.proxy.set_upstream({"a", a.proxy.address(), "ta"});
  client c(n.proxy.address());
  c.send(proxy_get(origin.authority(), "/hello"));
  CHECK(c.response().status == 200);
  auto a_before = a.proxy.totals("me");
  n.proxy.set_upstream({"b", b.proxy.address(), "tb"});
  c.send(proxy_get(origin.authority(), "/hello"));
  CHECK(c.response().status == 200);
  CHECK(b.proxy.totals("me").up > 0);
  CHECK(a.proxy.totals("me").up == a_before.up);
}

TEST_CASE("local proxy: upstream failures reach the client and the callback", "[proxy]") {
  http_origin origin;
  raw_origin echo(raw_origin::mode::echo);
  provider p("right");
  client_node n;
  SECTION("no upstream chosen: 503") {
    client c(n.proxy.address());
    c.send(proxy_get(origin.authority(), "/hello"));
    CHECK(c.response().status == 503);
  }
  SECTION("a wrong token: the provider's 407 is passed on and reported") {
    n.proxy.set_upstream({"p", p.proxy.address(), "wrong"});
    client c(n.proxy.address());
    c.send(proxy_get(origin.authority(), "/hello"));
    CHECK(c.response().status == 407);
    client t(n.proxy.address());
    t.send(connect_request(echo.authority()));
    auto a = t.connect_answer();
    CHECK(a.status == 407);
    auto f = n.failures_now();
    REQUIRE(f.size() == 2);
    CHECK(f[0].rfind("p 407", 0) == 0);
    CHECK(f[1].rfind("p 407", 0) == 0);
  }
  SECTION("an unreachable provider: 502, reported") {
    std::string dead;
    {
      raw_origin gone(raw_origin::mode::echo);
      dead = gone.authority();
    }
    n.proxy.set_upstream({"gone", dead, "x"});
    client c(n.proxy.address());
    c.send(connect_request(echo.authority()));
    CHECK(c.connect_answer().status == 502);
    auto f = n.failures_now();
    REQUIRE(f.size() == 1);
    CHECK(f[0].rfind("gone 502", 0) == 0);
  }
  SECTION("a provider that terminates the client mid-tunnel closes it; the next CONNECT is 403") {
    n.proxy.set_upstream({"p", p.proxy.address(), "right"});
    client t(n.proxy.address());
    t.send(connect_request(echo.authority()));
    REQUIRE(t.connect_answer().status == 200);
    t.send("abc");
    CHECK(t.read_exact(3) == "abc");
    p.proxy.terminate("me");
    CHECK(t.closed_within(1s));
    client u(n.proxy.address());
    u.send(connect_request(echo.authority()));
    CHECK(u.connect_answer().status == 403);
    auto f = n.failures_now();
    REQUIRE(f.size() == 1);
    CHECK(f[0].rfind("p 403", 0) == 0);
  }
}

TEST_CASE("local proxy: 256 MiB through a CONNECT tunnel with bounded memory", "[proxy]") {
  constexpr std::uint64_t size = 256u << 20;
  raw_origin source(raw_origin::mode::source, size);
  provider p("tok");
  client_node n;
  n.proxy.set_upstream({"p1", p.proxy.address(), "tok"});
  auto base = rss_bytes();
  std::atomic<std::uint64_t> peak{base};
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max<std::uint64_t>(peak, rss_bytes());
      std::this_thread::sleep_for(10ms);
    }
  });
  client c(n.proxy.address());
  c.send(connect_request(source.authority()));
  REQUIRE(c.connect_answer().status == 200);
  auto got = c.drain(120s);
  done = true;
  sampler.join();
  CHECK(got == size);
  // Both proxies, the origin and the client live in this process: all of
  // them together grew by far less than what moved.
  INFO("rss before " << base << ", peak " << peak.load());
  CHECK(peak - base < (32u << 20));
  c.close();
  REQUIRE(eventually([&] { return n.proxy.connections() == 0; }));
  CHECK(n.proxy.totals("p1").down == c.bytes_read());
  CHECK(p.proxy.totals("me").down >= size);
}

TEST_CASE("local proxy: loopback only, and a clear error for a bad upstream", "[proxy]") {
  net::local_proxy_options o;
  o.listen = "0.0.0.0:0";
  CHECK_THROWS_WITH(local_proxy(o, {}), Catch::Contains("loopback"));
  local_proxy l({}, {});
  CHECK_THROWS_WITH(l.set_upstream({"x", "nohost", "t"}), Catch::Contains("host:port"));
  CHECK_THROWS_WITH(l.set_upstream({"x", "127.0.0.1:1", ""}), Catch::Contains("token"));
  CHECK_THROWS_WITH(l.set_upstream({"x", "127.0.0.1:1", "a\r\nb"}), Catch::Contains("token"));
}
