// The live signalling server: the CDN site (net/cdn_site.hpp) of a node that
// runs the real cdn_signal role, with Beast WebSocket clients as browsers:
// join and welcome, pairing with one initiator, signals relayed with the
// sender set by the server, peer_left when a side closes, and messages that
// are too large or binary refused while the other clients are still served.
#include "net/cdn_site.hpp"
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/cdn/cdn.hpp"
#include "protocols/common/text.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <thread>

using namespace peerlab;
using namespace peerlab::test;
using nlohmann::json;
namespace websocket = boost::beast::websocket;

namespace {

struct signal_node {
  signal_node() {
    cdn::origin_config oc;
    oc.resources = {{"/app.js", 1000}};
    net::live_options lo;
    lo.name = "cdn-signal-test";
    lo.roles = {cdn::make_signal({}), cdn::make_origin(oc)};
    lo.store = std::make_unique<net::sqlite_store>(dir.path() / "node.db");
    lo.content = std::make_unique<net::disk_content>(dir.path());
    lo.on_log = [](const std::string&) {};
    rt = std::make_unique<net::live_runtime>(std::move(lo));
    rt->start();
    site = std::make_unique<net::cdn_site>(net::cdn_site_config{}, oc, rt.get(),
                                           [](const std::string&) {});
    site->start();
  }
  ~signal_node() {
    site->stop(); // before the runtime it reaches
    rt->stop();
  }
  temp_dir dir{"cdn-signal"};
  std::unique_ptr<net::live_runtime> rt;
  std::unique_ptr<net::cdn_site> site;
};

// The next message of `type` (others, such as pongs, are skipped).
json until(ws_client& c, const std::string& type) {
  for (int i = 0; i < 20; ++i) {
    auto m = c.read();
    if (!m)
      return json{{"type", "(closed)"}, {"error", c.error().message()}};
    auto j = json::parse(*m, nullptr, false);
    if (j.is_object() && j.value("type", "") == type)
      return j;
  }
  return json{{"type", "(not seen)"}};
}

std::string join(ws_client& c) {
  REQUIRE(c.send(R"({"type":"join","want":1})"));
  auto w = until(c, "welcome");
  REQUIRE(w["type"] == "welcome");
  REQUIRE(w["peer"].is_string());
  return w["peer"].get<std::string>();
}

// The server still answers this client.
bool served(ws_client& c) {
  return c.send(R"({"type":"ping"})") && until(c, "pong")["type"] == "pong";
}

} // namespace

TEST_CASE("cdn live signal: two browsers join, are paired, relay signals and hear when one "
          "leaves") {
  signal_node n;
  ws_client a(n.site->address()), b(n.site->address());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto id_a = join(a);
  auto id_b = join(b);
  CHECK(id_a != id_b);
  for (auto& id : {id_a, id_b}) { // decimal strings of the reserved range
    auto v = parse_u64(id);
    REQUIRE(v);
    CHECK(net::local_peers::contains(*v));
  }
  auto pa = until(a, "paired"), pb = until(b, "paired");
  CHECK(pa["peer"] == id_b);
  CHECK(pb["peer"] == id_a);
  CHECK(pa["initiator"] != pb["initiator"]); // exactly one makes the offer
  CHECK(pb["initiator"] == true);            // the later joiner asked: it offers

  // The offer and the answer cross; `peer` names the sender, set by the server.
  REQUIRE(b.send(json{{"type", "signal"}, {"peer", id_a}, {"data", {{"sdp", "offer"}}}}.dump()));
  auto sa = until(a, "signal");
  CHECK(sa["peer"] == id_b);
  CHECK(sa["data"] == json{{"sdp", "offer"}});
  REQUIRE(a.send(json{{"type", "signal"}, {"peer", id_b}, {"data", {{"sdp", "answer"}}}}.dump()));
  auto sb = until(b, "signal");
  CHECK(sb["peer"] == id_a);
  CHECK(sb["data"] == json{{"sdp", "answer"}});

  b.close(); // the bridge tells the role {"type":"leave"} from b's id
  auto left = until(a, "peer_left");
  CHECK(left["peer"] == id_b);
  CHECK(served(a));
}

TEST_CASE("cdn live signal: a 64 KiB message and a binary message close their sockets, and the "
          "server goes on serving the others") {
  signal_node n;
  ws_client a(n.site->address());
  REQUIRE(a.ok());
  join(a);

  ws_client big(n.site->address());
  REQUIRE(big.ok());
  // The server closes (1009) as soon as the frame header announces more than
  // 16 KiB: our write of the rest, or our close reply, may then meet a closed
  // socket, so the client sees the close code or a reset.
  big.send(std::string(64u << 10, ' '));
  CHECK_FALSE(big.read());
  if (big.error() == websocket::error::closed)
    CHECK(big.close_reason().code == websocket::close_code::too_big);
  auto counted = [&](const char* name) {
    for (int i = 0; i < 500; ++i) {
      if (n.site->counters()[name] == 1)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  CHECK(counted("ws.closed_too_big"));
  CHECK(served(a));

  ws_client bin(n.site->address());
  REQUIRE(bin.ok());
  REQUIRE(bin.send(R"({"type":"ping"})", true));
  CHECK_FALSE(bin.read());
  CHECK(bin.error() == websocket::error::closed);
  CHECK(bin.close_reason().code == websocket::close_code::unknown_data);
  CHECK(std::string(bin.close_reason().reason.data(), bin.close_reason().reason.size()) ==
        "binary messages are not accepted: send JSON text");
  CHECK(served(a));

  // A message at the bound (16 KiB) is read and answered by the role: not JSON here.
  ws_client edge(n.site->address());
  REQUIRE(edge.ok());
  join(edge);
  REQUIRE(edge.send(std::string(16u << 10, '{')));
  auto e = until(edge, "error");
  CHECK(e["reason"].get<std::string>().starts_with("bad message"));
  CHECK(served(a));

  CHECK(counted("ws.closed_binary"));
}

TEST_CASE("cdn live signal: a stopping node says bye to every browser, then closes with 1001") {
  signal_node n;
  ws_client a(n.site->address());
  REQUIRE(a.ok());
  join(a);
  // The order of `peerlab node`: the roles stop first (the signal role's
  // goodbyes go out through the bridge), then the site. The runtime stops on
  // this thread (as the node's main thread does); the browser reads on another.
  json bye;
  bool closed_1001 = false;
  std::thread browser([&] {
    bye = until(a, "bye");
    closed_1001 = !a.read(std::chrono::milliseconds(20000)) &&
                  a.close_reason().code == websocket::close_code::going_away;
  });
  n.rt->stop();
  n.site->stop();
  browser.join();
  CHECK(bye["reason"] == "server restarting");
  CHECK(closed_1001);
}
