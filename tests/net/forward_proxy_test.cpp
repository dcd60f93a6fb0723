// The provider's forward proxy (net/forward_proxy.hpp) on 127.0.0.1 with
// origins in the test: absolute-form requests and CONNECT tunnels, bearer
// tokens (407/403), termination mid-tunnel, the role's allowance (pauses, 402), exact metering in
// both directions, the destination policy, and hostile clients.
#include "net/forward_proxy.hpp"
#include "net/proxy_target.hpp"
#include "proxy_kit.hpp"

#include <catch2/catch.hpp>

#include <mutex>

using namespace peerlab;
using namespace peerlab::test::proxykit;
using peerlab::net::forward_proxy;
using peerlab::net::forward_proxy_options;
using peerlab::net::proxy_authorization;
using verdict = proxy_authorization::verdict;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

/// A forward proxy that knows tokens "t-alice" (client alice), "t-bob" (bob)
/// and "t-gone" (terminated); sums the metered reports.
struct proxy_world {
  explicit proxy_world(forward_proxy_options o = tuned())
      : proxy(o, {[](const std::string& token) {
                    if (token == "t-alice")
                      return proxy_authorization{verdict::allowed, "alice"};
                    if (token == "t-bob")
                      return proxy_authorization{verdict::allowed, "bob"};
                    if (token == "t-gone")
                      return proxy_authorization{verdict::terminated, ""};
                    return proxy_authorization{};
                  },
                  [this](const std::string& id, std::uint64_t up, std::uint64_t down) {
                    std::lock_guard g(mu);
                    reported[id].up += up;
                    reported[id].down += down;
                  },
                  {},
                  [](const std::string&) {},
                  [this](const std::string& id) {
                    std::lock_guard g(mu);
                    auto it = allowed.find(id);
                    return it == allowed.end() ? UINT64_MAX : it->second;
                  },
                  [this](const std::string& id) {
                    std::lock_guard g(mu);
                    ++stalls[id];
                  }}) {
    proxy.start();
  }
  int stalls_of(const std::string& id) {
    std::lock_guard g(mu);
    return stalls[id];
  }
  void allow(const std::string& id, std::uint64_t bytes) {
    std::lock_guard g(mu);
    allowed[id] = bytes;
  }
  static forward_proxy_options tuned() {
    forward_proxy_options o;
    o.allow_internal_destinations = true; // origins on 127.0.0.1
    o.limits.header_timeout = 500 * us_per_ms;
    o.limits.idle_timeout = 2 * us_per_s;
    return o;
  }
  net::proxy::byte_totals reported_of(const std::string& id) {
    std::lock_guard g(mu);
    return reported[id];
  }
  std::mutex mu;
  std::map<std::string, net::proxy::byte_totals> reported;
  std::map<std::string, std::uint64_t> allowed; // bytes the role allows a client (none: no limit)
  std::map<std::string, int> stalls;            // pauses told to the role, by client
  forward_proxy proxy;
};

std::string get(const std::string& authority, const std::string& path, const std::string& token,
                const std::string& extra = "") {
  std::string r = "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority + "\r\n";
  if (!token.empty())
    r += "Proxy-Authorization: Bearer " + token + "\r\n";
  return r + extra + "\r\n";
}

std::string connect_request(const std::string& authority, const std::string& token) {
  return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
         "\r\nProxy-Authorization: Bearer " + token + "\r\n\r\n";
}

} // namespace

TEST_CASE("forward proxy: an absolute-form GET reaches the origin, keep-alive serves the next",
          "[proxy]") {
  http_origin origin;
  proxy_world w;
  client c(w.proxy.address());
  c.send(get(origin.authority(), "/hello", "t-alice"));
  auto a = c.response();
  CHECK(a.status == 200);
  CHECK(a.body == "hello");
  c.send(get(origin.authority(), "/size/100000", "t-alice"));
  auto b = c.response();
  CHECK(b.status == 200);
  CHECK(b.body == std::string(100000, 'x'));
}

TEST_CASE("forward proxy: metering counts exactly the bytes the client moved, both directions",
          "[proxy]") {
  http_origin origin;
  raw_origin echo(raw_origin::mode::echo);
  proxy_world w;
  {
    client c(w.proxy.address());
    std::string body(300000, 'b');
    c.send("POST http://" + origin.authority() + "/echo HTTP/1.1\r\nHost: x\r\n" +
           "Proxy-Authorization: Bearer t-alice\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body);
    auto n = c.drain();
    CHECK(n > body.size());
    // Every byte the client wrote is counted up, every byte it read down.
    REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
    auto t = w.proxy.totals("alice");
    CHECK(t.up == c.bytes_written());
    CHECK(t.down == c.bytes_read());
  }
  {
    client c(w.proxy.address());
    c.send(connect_request(echo.authority(), "t-bob"));
    REQUIRE(c.connect_answer().status == 200);
    std::string data(1 << 20, 'd');
    c.send(data);
    CHECK(c.read_exact(data.size()) == data);
    c.close();
    REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
    auto t = w.proxy.totals("bob");
    CHECK(t.up == c.bytes_written());
    CHECK(t.down == c.bytes_read());
    // The reports add up to the totals once the connection closed.
    auto r = w.reported_of("bob");
    CHECK(r.up == t.up);
    CHECK(r.down == t.down);
  }
  CHECK(w.proxy.totals("alice").up > 300000);
}

TEST_CASE("forward proxy: chunked bodies stream both ways", "[proxy]") {
  http_origin origin;
  raw_origin chunked(raw_origin::mode::chunked);
  proxy_world w;
  client c(w.proxy.address());
  c.send("POST http://" + origin.authority() +
         "/echo HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Bearer t-alice\r\n"
         "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
  auto a = c.response();
  CHECK(a.status == 200);
  CHECK(a.body == "abcdefg");
  client d(w.proxy.address());
  d.send(get(chunked.authority(), "/", "t-alice"));
  auto b = d.response();
  CHECK(b.status == 200);
  CHECK(b.headers["transfer-encoding"] == "chunked");
  CHECK(b.body == "hello world");
}

TEST_CASE("forward proxy: 407 without or with an unknown token, 403 for a terminated client",
          "[proxy]") {
  http_origin origin;
  proxy_world w;
  for (auto token : {"", "t-nobody"}) {
    client c(w.proxy.address());
    c.send(get(origin.authority(), "/hello", token));
    auto a = c.response();
    CHECK(a.status == 407);
    CHECK(a.headers["proxy-authenticate"].rfind("Bearer", 0) == 0);
  }
  client c(w.proxy.address());
  c.send(connect_request(origin.authority(), "t-gone"));
  CHECK(c.response().status == 403);
  CHECK(w.proxy.totals("alice").up == 0);
}

TEST_CASE("forward proxy: terminate closes a tunnel at once and refuses the client after",
          "[proxy]") {
  raw_origin echo(raw_origin::mode::echo);
  proxy_world w;
  client c(w.proxy.address());
  c.send(connect_request(echo.authority(), "t-alice"));
  REQUIRE(c.connect_answer().status == 200);
  c.send("ping");
  CHECK(c.read_exact(4) == "ping");
  client other(w.proxy.address()); // bob's tunnel stays up
  other.send(connect_request(echo.authority(), "t-bob"));
  REQUIRE(other.connect_answer().status == 200);

  w.proxy.terminate("alice");
  CHECK(c.closed_within(1s));
  client again(w.proxy.address());
  again.send(get(echo.authority(), "/", "t-alice"));
  CHECK(again.response().status == 403);
  other.send("pong");
  CHECK(other.read_exact(4) == "pong");
}

TEST_CASE("forward proxy: a client's traffic pauses at its allowance and goes on when it grows",
          "[proxy]") {
  const std::uint64_t size = 64 << 20;
  raw_origin source(raw_origin::mode::source, size);
  raw_origin echo(raw_origin::mode::echo);
  proxy_world w;
  const std::uint64_t allowed = 3 << 20;
  w.allow("alice", allowed);
  client other(w.proxy.address()); // bob has no limit: his tunnel stays up
  other.send(connect_request(echo.authority(), "t-bob"));
  REQUIRE(other.connect_answer().status == 200);

  client c(w.proxy.address());
  c.send(connect_request(source.authority(), "t-alice"));
  REQUIRE(c.connect_answer().status == 200);
  auto got = c.read_while_flowing(300ms);
  auto t = w.proxy.totals("alice");
  // Paused before the allowance, within the reserve for answer headers.
  CHECK(t.up + t.down <= allowed);
  CHECK(t.up + t.down + 64 * 1024 >= allowed);
  CHECK(got < allowed);
  CHECK(w.stalls_of("alice") == 1); // the role hears of the pause, once
  CHECK(w.proxy.connections() == 2);
  // A new request while paused waits for the payment too. Bob's tunnel is untouched.
  client waiting(w.proxy.address());
  waiting.send(connect_request(echo.authority(), "t-alice"));
  REQUIRE(waiting.connect_answer().status == 200);
  waiting.send("ping");
  CHECK(waiting.read_while_flowing(300ms) == 0); // not even read from it while paused
  other.send("pong");
  CHECK(other.read_exact(4) == "pong");

  // A payment raises the allowance: both go on; the download pauses again.
  w.allow("alice", allowed + (5 << 20));
  w.proxy.allowance_changed("alice");
  CHECK(waiting.read_exact(4) == "ping");
  got += c.read_while_flowing(300ms);
  t = w.proxy.totals("alice");
  CHECK(t.up + t.down <= allowed + (5 << 20));
  CHECK(t.up + t.down + 64 * 1024 >= allowed + (5 << 20));
  CHECK(w.stalls_of("alice") == 2);
  // No limit: the rest of the 64 MiB arrives, every byte.
  w.allow("alice", UINT64_MAX);
  w.proxy.allowance_changed("alice");
  got += c.drain();
  CHECK(got == size);
}

TEST_CASE("forward proxy: a client past a lowered allowance is stopped and reported at once",
          "[proxy]") {
  raw_origin echo(raw_origin::mode::echo);
  proxy_world w;
  client c(w.proxy.address());
  c.send(connect_request(echo.authority(), "t-alice"));
  REQUIRE(c.connect_answer().status == 200);
  std::string data(256 * 1024, 'd');
  c.send(data);
  CHECK(c.read_exact(data.size()) == data);
  // Its payment failed: the allowance falls below what it already used.
  w.allow("alice", 1000);
  w.proxy.allowance_changed("alice");
  CHECK(c.closed_within(2s));
  REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
  auto t = w.proxy.totals("alice");
  auto r = w.reported_of("alice"); // the role heard every byte
  CHECK(r.up + r.down == t.up + t.down);
  client again(w.proxy.address());
  again.send(get(echo.authority(), "/", "t-alice"));
  CHECK(again.response().status == 402);
}

TEST_CASE("forward proxy: malformed requests and targets get 400", "[proxy]") {
  proxy_world w;
  for (std::string bad :
       {std::string("NOT HTTP AT ALL\r\n\r\n"),
        std::string("GET /relative HTTP/1.1\r\nProxy-Authorization: Bearer t-alice\r\n\r\n"),
        std::string(
          "GET https://127.0.0.1:1/ HTTP/1.1\r\nProxy-Authorization: Bearer t-alice\r\n\r\n"),
        std::string("CONNECT 127.0.0.1 HTTP/1.1\r\nProxy-Authorization: Bearer t-alice\r\n\r\n"),
        std::string(
          "CONNECT 127.0.0.1:99999 HTTP/1.1\r\nProxy-Authorization: Bearer t-alice\r\n\r\n"),
        std::string("GET http://a b/ HTTP/1.1\r\n\r\n")}) {
    client c(w.proxy.address());
    c.send(bad);
    INFO(bad);
    CHECK(c.response().status == 400);
  }
}

TEST_CASE("forward proxy: 502 when the origin refuses, 504 when it never answers", "[proxy]") {
  std::uint16_t dead_port;
  {
    raw_origin gone(raw_origin::mode::echo);
    dead_port = gone.port();
  }
  raw_origin silent(raw_origin::mode::silent);
  auto o = proxy_world::tuned();
  o.limits.idle_timeout = 300 * us_per_ms;
  proxy_world w(o);
  client c(w.proxy.address());
  c.send(get("127.0.0.1:" + std::to_string(dead_port), "/", "t-alice"));
  auto a = c.response();
  CHECK(a.status == 502);
  CHECK(a.body.find("cannot connect") != std::string::npos);
  client d(w.proxy.address());
  d.send(get(silent.authority(), "/", "t-alice"));
  CHECK(d.response(5s).status == 504);
}

TEST_CASE("forward proxy: 504 when connecting takes too long", "[proxy]") {
  // A listener that never accepts, its backlog filled: further SYNs go unanswered.
  boost::asio::io_context io;
  tcp::acceptor full(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  std::vector<std::unique_ptr<tcp::socket>> fillers;
  for (int i = 0; i < 4; ++i) {
    auto s = std::make_unique<tcp::socket>(io);
    s->async_connect(full.local_endpoint(), [](error_code) {});
    fillers.push_back(std::move(s));
  }
  io.run_for(200ms);
  auto o = proxy_world::tuned();
  o.limits.connect_timeout = 300 * us_per_ms;
  proxy_world w(o);
  client c(w.proxy.address());
  c.send(get("127.0.0.1:" + std::to_string(full.local_endpoint().port()), "/", "t-alice"));
  auto a = c.response(5s);
  CHECK(a.status == 504);
  CHECK(a.body.find("connecting to") != std::string::npos);
}

TEST_CASE("forward proxy: truncated bodies are never passed on as whole ones", "[proxy]") {
  raw_origin echo(raw_origin::mode::echo);
  raw_origin truncated(raw_origin::mode::truncated);
  proxy_world w;
  SECTION("an answer cut by the origin reaches the client cut, then the connection closes") {
    client c(w.proxy.address());
    c.send(get(truncated.authority(), "/", "t-alice"));
    CHECK_THROWS_WITH(c.response(5s), Catch::Contains("partial"));
  }
  SECTION("a request body cut by the client closes the upstream connection") {
    client c(w.proxy.address());
    c.send("POST http://" + echo.authority() +
           "/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Bearer t-alice\r\n"
           "Content-Length: 1000\r\n\r\n" +
           std::string(500, 'p'));
    REQUIRE(eventually([&] { return echo.received() >= 500; }));
    c.close();
    REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
    CHECK(echo.received() < 1000);
  }
}

TEST_CASE("forward proxy: loopback and private destinations are refused by default", "[proxy]") {
  http_origin origin;
  auto o = proxy_world::tuned();
  o.allow_internal_destinations = false;
  proxy_world w(o);
  client c(w.proxy.address());
  c.send(get(origin.authority(), "/hello", "t-alice"));
  auto a = c.response();
  CHECK(a.status == 403);
  CHECK(a.body.find("not allowed") != std::string::npos);
  client d(w.proxy.address());
  d.send(connect_request("localhost:" + origin.authority().substr(10), "t-alice"));
  CHECK(d.response().status == 403);

  namespace ip = boost::asio::ip;
  using net::proxy::is_internal_address;
  for (auto a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "100.64.0.1",
                 "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "::"})
    CHECK(is_internal_address(ip::make_address(a)));
  for (auto a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"})
    CHECK_FALSE(is_internal_address(ip::make_address(a)));
}

TEST_CASE("forward proxy: bounds on headers, connections, idle and never-reading clients",
          "[proxy]") {
  raw_origin source(raw_origin::mode::source, 256u << 20);
  auto o = proxy_world::tuned();
  o.max_connections = 8;
  o.max_connections_per_client = 2;
  o.limits.idle_timeout = 500 * us_per_ms;
  proxy_world w(o);

  SECTION("a 4 MiB header gets 431") {
    client c(w.proxy.address());
    std::string huge = "GET http://127.0.0.1:1/ HTTP/1.1\r\nX-Big: " + std::string(4 << 20, 'h');
    try {
      c.send(huge, 5s);
    } catch (const std::runtime_error&) {
      // the proxy may close before all of it is sent
    }
    CHECK(c.response().status == 431);
  }
  SECTION("a socket that sends nothing is closed after the header timeout") {
    client c(w.proxy.address());
    c.send("GET http://");
    CHECK(c.closed_within(2s));
  }
  SECTION("past max_connections: 503; past the per-client bound: 429") {
    std::vector<std::unique_ptr<client>> idle;
    for (int i = 0; i < 8; ++i)
      idle.push_back(std::make_unique<client>(w.proxy.address()));
    REQUIRE(eventually([&] { return w.proxy.connections() == 8; }));
    client c(w.proxy.address());
    CHECK(c.response().status == 503);
    idle.clear();
    REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
    std::vector<std::unique_ptr<client>> tunnels;
    for (int i = 0; i < 2; ++i) {
      tunnels.push_back(std::make_unique<client>(w.proxy.address()));
      tunnels.back()->send(connect_request(source.authority(), "t-alice"));
    }
    client third(w.proxy.address());
    third.send(connect_request(source.authority(), "t-alice"));
    CHECK(third.response().status == 429);
  }
  SECTION("a client that never reads a 256 MiB download is cut at the idle timeout") {
    client c(w.proxy.address());
    c.send(connect_request(source.authority(), "t-alice"));
    REQUIRE(eventually([&] { return w.proxy.totals("alice").down > 0; }));
    REQUIRE(eventually([&] { return w.proxy.connections() == 0; }, 5s));
    // Only what fit into the socket buffers went out: the proxy did not read
    // the origin ahead of its client.
    CHECK(w.proxy.totals("alice").down < (16u << 20));
  }
}

TEST_CASE("forward proxy: reports come at a bounded rate and add up to the totals", "[proxy]") {
  raw_origin source(raw_origin::mode::source, 64u << 20);
  auto o = proxy_world::tuned();
  o.report_bytes = 1u << 20;
  o.report_interval = 10 * us_per_s;
  proxy_world w(o);
  client c(w.proxy.address());
  c.send(connect_request(source.authority(), "t-alice"));
  auto n = c.drain();
  CHECK(n > (64u << 20));
  REQUIRE(eventually([&] { return w.proxy.connections() == 0; }));
  auto t = w.proxy.totals("alice");
  CHECK(t.down == n);
  CHECK(t.up == c.bytes_written());
  // One report per MiB at most, plus the one at closing.
  CHECK(w.proxy.reports() <= 64 + 2);
  CHECK(w.proxy.reports() >= 32);
  CHECK(w.reported_of("alice").down == t.down);
}

TEST_CASE("forward proxy: a non-loopback listen address needs allow_remote", "[proxy]") {
  forward_proxy_options o;
  o.listen = "0.0.0.0:0";
  auto auth = [](const std::string&) { return proxy_authorization{}; };
  CHECK_THROWS_WITH(forward_proxy(o, {auth, {}, {}, {}}), Catch::Contains("allow_remote"));
  CHECK_THROWS_WITH(forward_proxy(forward_proxy_options{}, {}), Catch::Contains("authorize"));
}
