// The one HTTP server of the local APIs (net/http_server.hpp): answers
// from other threads, the reply timeout (504), the connection bound (503),
// the read timeout, keep-alive, and the refusal of non-loopback addresses in
// the API's config.
#include "market_api_world.hpp"
#include "net/http_server.hpp"
#include "net/private_file.hpp"

#include "protocols/registry.hpp"

#include <atomic>
#include <fstream>

using namespace peerlab;
using namespace peerlab::test;
using peerlab::net::http_server;
using peerlab::net::http_server_options;
using peerlab::net::http_server_request;
using http_api_options = peerlab::net::http_server_options;

namespace {

/// Answers "/echo" at once, "/later" from another thread, "/never" not at all.
struct echo_server {
  /// Where raw sockets of a test connect.
  boost::asio::ip::tcp::endpoint endpoint() const {
    auto& a = server.address();
    return {boost::asio::ip::make_address("127.0.0.1"),
            static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)))};
  }

  explicit echo_server(http_api_options o)
      : server(o,
               {{"*", "*",
                 [this](http_server_request r, http_server::respond_fn respond) {
                   ++requests;
                   if (r.path == "/echo")
                     return respond(
                       {200,
                        json{{"method", r.method}, {"body", r.body}, {"query", r.query}}.dump(),
                        {}});
                   if (r.path == "/later") {
                     std::thread([respond] {
                       std::this_thread::sleep_for(std::chrono::milliseconds(50));
                       respond({201, R"({"late":true})", {}});
                       respond({500, R"({"twice":true})", {}}); // ignored
                     }).detach();
                     return;
                   }
                   // "/never": the server's reply timeout answers.
                 }}},
               [](const std::string&) {}) {
    server.start();
    std::string err;
    url = *net::setclient::parse_url("http://" + server.address(), err);
  }
  net::setclient::http_reply call(const std::string& target, const std::string& body = "") {
    return net::setclient::http_request(url, body.empty() ? "GET" : "POST", target, body,
                                        "application/json", 1 << 20, 10 * us_per_s);
  }
  std::atomic<int> requests{0};
  http_server server;
  net::setclient::node_url url;
};

} // namespace

TEST_CASE("market api server: answers now or from another thread, once, and 504 when the handler "
          "is silent") {
  http_api_options o;
  o.reply_timeout = 300 * us_per_ms;
  echo_server s(o);
  auto e = s.call("/echo?x=1&y", "{\"a\":1}");
  CHECK(e.status == 200);
  CHECK(json::parse(e.body) ==
        json{{"method", "POST"}, {"body", "{\"a\":1}"}, {"query", {{"x", "1"}, {"y", ""}}}});
  CHECK(e.headers["content-type"] == "application/json");
  auto l = s.call("/later");
  CHECK(l.status == 201);
  CHECK(json::parse(l.body) == json{{"late", true}});
  auto n = s.call("/never");
  CHECK(n.status == 504);
  CHECK(json::parse(n.body)["status"] == 504);
  CHECK(s.requests == 3);
}

TEST_CASE("market api server: keep-alive serves several requests on one connection") {
  echo_server s(http_api_options{});
  std::string two = "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nHost: "
                    "localhost\r\nConnection: close\r\n\r\n";
  auto out = raw_exchange(s.server.address(), two);
  std::size_t first = out.find("HTTP/1.1 200"), second = out.find("HTTP/1.1 200", first + 1);
  CHECK(first == 0);
  CHECK(second != std::string::npos);
  CHECK(out.find("\"n\":\"2\"") != std::string::npos);
}

TEST_CASE("market api server: connections over the bound get 503, idle ones are closed after the "
          "read timeout") {
  http_api_options o;
  o.max_connections = 2;
  o.read_timeout = 500 * us_per_ms;
  echo_server s(o);
  namespace asio = boost::asio;
  asio::io_context ioc;
  auto ep = s.endpoint();
  asio::ip::tcp::socket a(ioc), b(ioc);
  a.connect(ep);
  b.connect(ep);
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 2; },
                               std::chrono::milliseconds(2000)));
  auto third = raw_exchange(s.server.address(), "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(raw_status(third) == 503);
  CHECK(third.find("too many connections") != std::string::npos);
  // The two idle connections are closed by the read timeout; then requests go through.
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 0; },
                               std::chrono::milliseconds(5000)));
  CHECK(s.call("/echo").status == 200);
  CHECK(s.requests == 1);
}

TEST_CASE("http server: sockets that send a byte and then nothing are displaced by a new client "
          "once they waited, and closed at the header timeout") {
  http_api_options o;
  o.max_connections = 2;
  o.displace_after = 200 * us_per_ms;
  o.header_timeout = 1500 * us_per_ms;
  o.read_timeout = 60 * us_per_s; // bodies may take long: not what closes these
  echo_server s(o);
  namespace asio = boost::asio;
  asio::io_context ioc;
  auto ep = s.endpoint();
  asio::ip::tcp::socket a(ioc), b(ioc);
  a.connect(ep);
  b.connect(ep);
  asio::write(a, asio::buffer("G", 1));
  asio::write(b, asio::buffer("G", 1));
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 2; },
                               std::chrono::milliseconds(2000)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Both slots are held by sockets that waited past displace_after: one makes room.
  auto honest = raw_exchange(s.server.address(), "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(raw_status(honest) == 200);
  CHECK(s.requests == 1);
  // The one left is closed by the header timeout, long before the read timeout.
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 0; },
                               std::chrono::milliseconds(5000)));
}

TEST_CASE("http server: the route table matches paths and methods, 404, 405 with Allow, params, "
          "headers and a body limit per route") {
  http_server server(
    http_server_options{},
    {{"GET", "/items/{}",
      [](http_server_request r, http_server::respond_fn respond) {
        respond({200, json{{"id", r.params.at(0)}, {"h", r.headers["x-thing"]}}.dump(), {}});
      }},
     {"PUT", "/items/{}/raw",
      [](http_server_request r, http_server::respond_fn respond) {
        respond({200, r.body, {}, "application/octet-stream"});
      },
      16}},
    [](const std::string&) {});
  server.start();
  auto& a = server.address();
  auto got = raw_exchange(a, "GET /items/42 HTTP/1.1\r\nHost: localhost\r\nX-Thing: yes\r\n"
                             "Connection: close\r\n\r\n");
  CHECK(raw_status(got) == 200);
  CHECK(got.find(R"({"h":"yes","id":"42"})") != std::string::npos);
  auto none =
    raw_exchange(a, "GET /items HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  CHECK(raw_status(none) == 404);
  CHECK(none.find("no endpoint GET /items") != std::string::npos);
  CHECK(raw_status(raw_exchange(a, "GET /items/42/x HTTP/1.1\r\nHost: localhost\r\nConnection: "
                                   "close\r\n\r\n")) == 404);
  CHECK(raw_status(raw_exchange(a, "GET /items/ HTTP/1.1\r\nHost: localhost\r\nConnection: "
                                   "close\r\n\r\n")) == 404);
  auto wrong =
    raw_exchange(a, "DELETE /items/42 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  CHECK(raw_status(wrong) == 405);
  CHECK(wrong.find("Allow: GET") != std::string::npos);
  auto raw = raw_exchange(a, "PUT /items/1/raw HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                             "Connection: close\r\n\r\nhello");
  CHECK(raw_status(raw) == 200);
  CHECK(raw.find("Content-Type: application/octet-stream") != std::string::npos);
  CHECK(raw.substr(raw.size() - 5) == "hello"); // not JSON: no newline added
  auto big =
    raw_exchange(a, "PUT /items/1/raw HTTP/1.1\r\nHost: localhost\r\nContent-Length: 17\r\n"
                    "\r\n0123456789abcdefg");
  CHECK(raw_status(big) == 413);
  CHECK(big.find("larger than allowed (16 bytes)") != std::string::npos);
}

TEST_CASE("http server: connections per client address are bounded, keep-alive connections close "
          "after the idle timeout") {
  http_api_options o;
  o.max_connections = 8;
  o.max_connections_per_client = 1;
  o.idle_timeout = 300 * us_per_ms;
  echo_server s(o);
  namespace asio = boost::asio;
  asio::io_context ioc;
  auto ep = s.endpoint();
  asio::ip::tcp::socket a(ioc);
  a.connect(ep);
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 1; },
                               std::chrono::milliseconds(2000)));
  auto second = raw_exchange(s.server.address(), "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(raw_status(second) == 503);
  CHECK(second.find("too many connections from this client") != std::string::npos);
  a.close();
  REQUIRE(api_node::eventually([&] { return s.server.connections() == 0; },
                               std::chrono::milliseconds(2000)));
  // One request, then the connection stays open and idle: closed after ~300 ms.
  auto t0 = std::chrono::steady_clock::now();
  auto kept = raw_exchange(s.server.address(), "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(raw_status(kept) == 200);
  CHECK(waited >= std::chrono::milliseconds(250));
  CHECK(waited < std::chrono::milliseconds(4000)); // not the 5 s limit of raw_exchange
}

TEST_CASE("http server: work posted before start runs once it serves (hellos that arrive while a "
          "node starts are not lost)") {
  http_server server(http_server_options{}, {}, [](const std::string&) {});
  std::atomic<int> ran{0};
  server.post([&] { ++ran; });
  CHECK(ran == 0);
  server.start();
  CHECK(api_node::eventually([&] { return ran == 1; }, std::chrono::milliseconds(5000)));
  server.stop();
  server.post([&] { ++ran; }); // dropped once stopped
  CHECK(ran == 1);
}

TEST_CASE(
  "market api config: loopback by default, other addresses only when asked for, folders resolved") {
  fs::path base = "/srv/node";
  auto c = net::parse_api_config(json::object(), "api", base, base / "data");
  CHECK(c.listen == "127.0.0.1:0");
  CHECK(c.download_dir == fs::path("/srv/node/data/downloads"));
  CHECK(c.provide_dirs.empty());
  CHECK_THROWS_WITH(net::parse_api_config(json{{"listen", "0.0.0.0:8080"}}, "api", base, base),
                    Catch::Contains("api.listen: expected a loopback address"));
  CHECK(net::parse_api_config(json{{"listen", "0.0.0.0:8080"}, {"allow_remote", true}}, "api", base,
                              base)
          .listen == "0.0.0.0:8080");
  CHECK(net::parse_api_config(json{{"listen", "[::1]:8080"}}, "api", base, base).listen ==
        "[::1]:8080");
  auto d = net::parse_api_config(json{{"provide_dirs", {"shared", "/abs/x/../y"}},
                                      {"download_dir", "dl"},
                                      {"ledger", 77},
                                      {"ledger_address", "127.0.0.1:4000"}},
                                 "api", base, base);
  CHECK(d.provide_dirs == std::vector<fs::path>{"/srv/node/shared", "/abs/y"});
  CHECK(d.download_dir == fs::path("/srv/node/dl"));
  CHECK(d.ledger == 77);
  CHECK(d.ledger_address == "127.0.0.1:4000");
  CHECK(
    net::parse_api_config(json{{"ledger", 18446744073709551615ull}}, "api", base, base).ledger ==
    18446744073709551615ull); // half of all live ids are above 2^63
  CHECK_THROWS_WITH(net::parse_api_config(json{{"ledger", 0}}, "api", base, base),
                    Catch::Contains("api.ledger"));
  CHECK_THROWS_WITH(net::parse_api_config(json{{"ledger_name", "l"}}, "api", base, base),
                    Catch::Contains("api.ledger_name: no longer accepted: give \"ledger\""));
  CHECK_THROWS_WITH(
    net::parse_api_config(json{{"ledger_address", "127.0.0.1:4000"}}, "api", base, base),
    Catch::Contains("needs \"ledger\""));
  CHECK_THROWS_WITH(net::parse_api_config(json{{"max_price", -1}}, "api", base, base),
                    Catch::Contains("api.max_price"));
  CHECK_THROWS_WITH(net::parse_api_config(json{{"max_price", 1e300}}, "api", base, base),
                    Catch::Contains("api.max_price"));
  CHECK_THROWS_WITH(net::parse_api_config(json{{"colour", 1}}, "api", base, base),
                    Catch::Contains("colour"));
  CHECK_THROWS_WITH(net::parse_api_config(json{{"max_body", "1GiB"}}, "api", base, base),
                    Catch::Contains("api.max_body"));
}

TEST_CASE("http server: a forwarding handler sees headers as sent and answers them unchanged") {
  std::vector<std::pair<std::string, std::string>> seen;
  std::string target;
  http_server_options proxy;
  proxy.same_site_only = false; // "Host: x" names another site, as a proxy's requests do
  http_server server(
    proxy,
    {{"*", "*",
      [&](http_server_request r, http_server::respond_fn respond) {
        seen = r.header_list;
        target = r.target;
        net::http_server_answer a;
        a.status = 299;
        a.reason = "Forwarded Fine";
        a.passthrough = true;
        a.headers = {{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"Content-Type", "text/x"}};
        a.body = std::string("raw\0bytes", 9);
        respond(std::move(a));
      }}},
    [](const std::string&) {});
  server.start();
  auto out = raw_exchange(server.address(), "GET /p/q?b=2&a=1&a=3 HTTP/1.1\r\nHost: x\r\nX-Tag: "
                                            "one\r\nx-tag: two\r\nConnection: close\r\n\r\n");
  CHECK(target == "/p/q?b=2&a=1&a=3");
  REQUIRE(seen.size() == 4);
  CHECK(seen[1] == std::pair<std::string, std::string>{"X-Tag", "one"});
  CHECK(seen[2] == std::pair<std::string, std::string>{"x-tag", "two"});
  CHECK(out.rfind("HTTP/1.1 299 Forwarded Fine\r\n", 0) == 0);
  CHECK(out.find("Set-Cookie: a=1\r\n") != std::string::npos);
  CHECK(out.find("Set-Cookie: b=2\r\n") != std::string::npos);
  CHECK(out.find("Content-Type: text/x\r\n") != std::string::npos);
  CHECK(out.find("Content-Length: 9\r\n") != std::string::npos);
  CHECK(out.find("Cache-Control") == std::string::npos); // nothing added
  CHECK(out.find("application/json") == std::string::npos);
  CHECK(out.substr(out.size() - 9) == std::string("raw\0bytes", 9));
}

TEST_CASE("http server: a client still sending a refused body reads the 413 (lingering close)") {
  http_server_options o;
  o.max_body = 1024;
  echo_server s(o);
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket sock(ioc);
  sock.connect(s.endpoint());
  std::string head = "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8388608\r\n\r\n";
  asio::write(sock, asio::buffer(head));
  // Send all 8 MiB as a careless client would, ignoring the early answer.
  std::string chunk(64 * 1024, 'x');
  boost::system::error_code ec;
  for (int i = 0; i < 128 && !ec; ++i)
    asio::write(sock, asio::buffer(chunk), ec);
  CHECK(!ec); // the server kept reading: no reset while the client was writing
  std::string out;
  std::array<char, 4096> buf;
  for (;;) {
    auto n = sock.read_some(asio::buffer(buf), ec);
    out.append(buf.data(), n);
    if (ec)
      break;
  }
  CHECK(raw_status(out) == 413);
  CHECK(s.requests == 0);
}

TEST_CASE("http server: requests for another site (Host, Origin) get 403 before any handler") {
  echo_server s(http_api_options{});
  auto port = s.server.address().substr(s.server.address().rfind(':'));
  auto ask = [&](const std::string& headers) {
    return raw_exchange(s.server.address(), "POST /echo HTTP/1.1\r\n" + headers +
                                              "Content-Type: text/plain\r\nContent-Length: 2\r\n"
                                              "Connection: close\r\n\r\n{}");
  };
  // The browser's cross-site form post and a rebound DNS name.
  auto csrf = ask("Host: 127.0.0.1" + port + "\r\nOrigin: http://evil.example\r\n");
  CHECK(csrf.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(csrf.find("cross-site request refused (Origin \\\"http://evil.example\\\")") !=
        std::string::npos);
  auto rebound = ask("Host: evil.example" + port + "\r\n");
  CHECK(rebound.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(rebound.find("does not name this server") != std::string::npos);
  CHECK(ask("Host: 127.0.0.1:1\r\n").rfind("HTTP/1.1 403", 0) == 0); // another port
  CHECK(ask("Host: evil.example\r\n").rfind("HTTP/1.1 403", 0) == 0);
  CHECK(s.requests == 0);
  // This server by address or as localhost, with or without its own Origin.
  CHECK(ask("Host: 127.0.0.1" + port + "\r\n").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(ask("Host: localhost" + port + "\r\nOrigin: http://localhost" + port + "\r\n")
          .rfind("HTTP/1.1 200", 0) == 0);
  CHECK(s.requests == 2);
}

TEST_CASE("market api server: state-changing requests need the API token, reads do not") {
  http_api_options o;
  o.token = std::string(64, 'a');
  o.token_hint = "/srv/node/api.token";
  echo_server s(o);
  CHECK(s.call("/echo").status == 200); // GET reads without a token
  auto refused = s.call("/echo", "{}"); // POST without one
  CHECK(refused.status == 401);
  CHECK(json::parse(refused.body)["error"] ==
        "this request changes state: send \"Authorization: Bearer TOKEN\" with the token in "
        "/srv/node/api.token");
  s.url.token = std::string(64, 'b');
  auto wrong = s.call("/echo", "{}");
  CHECK(wrong.status == 401);
  CHECK(json::parse(wrong.body)["error"].get<std::string>().rfind("wrong API token", 0) == 0);
  s.url.token = std::string(63, 'a'); // a prefix of the token is not the token
  CHECK(s.call("/echo", "{}").status == 401);
  CHECK(s.requests == 1); // no refused request reached a handler
  s.url.token = o.token;
  CHECK(s.call("/echo", "{}").status == 200);
  CHECK(s.requests == 2);
}

TEST_CASE("api token: created once as 64 hex digits in a 0600 file, refused when others can read "
          "it") {
  temp_dir dir("api-token");
  auto file = dir.path() / "api.token";
  auto token = net::load_or_create_api_token(file);
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK((fs::status(file).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(net::load_or_create_api_token(file) == token);
  fs::permissions(file, fs::perms::group_read, fs::perm_options::add);
  CHECK_THROWS_WITH(net::load_or_create_api_token(file), Catch::Contains("mode 0640"));
  fs::permissions(file, fs::perms::group_read, fs::perm_options::remove);
  { std::ofstream(file) << "not a token\n"; }
  CHECK_THROWS_WITH(net::load_or_create_api_token(file),
                    Catch::Contains("expected 64 lower-case hex digits"));
}
