// The WebSocket bridge (net/ws_bridge.hpp) on a live node, with a role that
// mirrors what it gets: ids from the reserved range, peer_up with the
// client's address, text in as frames and frames out as text, the goodbye on
// close, and every bound: sockets in all and per address, the write queue,
// a stalled write, the idle time, the message rate, and stop.
#include "ws_world.hpp"

#include "protocols/common/text.hpp"

using namespace peerlab;
using namespace peerlab::test;

namespace {

using ms = std::chrono::milliseconds;

std::string field(const event& e, std::string_view k) {
  auto* v = e.field(k);
  return v ? *v : std::string();
}

// Echoes each frame to its sender; "flood N SIZE" answers N messages of
// SIZE bytes; peer_up and the goodbye become events.
class mirror_role final : public role {
public:
  port_t port() const override { return ports::test_echo; }
  const char* name() const override { return "mirror"; }
  void peer_up(context&, peer_id peer, std::string_view address, effects& fx) override {
    fx.emit(
      event{"peer_up", 0, {{"peer", std::to_string(peer)}, {"address", std::string(address)}}, {}});
  }
  void frame(context&, peer_id from, byte_view data, effects& fx) override {
    std::string text(data.begin() + 1, data.end());
    if (text == "goodbye") {
      fx.emit(event{"goodbye", 0, {{"peer", std::to_string(from)}}, {}});
      return;
    }
    unsigned n = 0, size = 0;
    if (std::sscanf(text.c_str(), "flood %u %u", &n, &size) == 2) {
      bytes f(1 + size, 'x');
      f[0] = ports::test_echo;
      for (unsigned i = 0; i < n; ++i)
        fx.send(from, f);
      return;
    }
    fx.send(from, bytes(data.begin(), data.end()));
  }
};

net::ws_bridge_options bridge_options() {
  net::ws_bridge_options o;
  o.port = ports::test_echo;
  o.goodbye = "goodbye";
  return o;
}

std::vector<std::shared_ptr<role>> mirror() { return {std::make_shared<mirror_role>()}; }

} // namespace

TEST_CASE("ws bridge: each socket is a local peer with a reserved id, messages cross both ways, "
          "and the role hears the goodbye") {
  ws_world w(mirror(), bridge_options());
  ws_client a(w.address()), b(w.address());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(a.send("hello from a"));
  CHECK(a.read() == "hello from a");
  REQUIRE(b.send("{\"json\": true}"));
  CHECK(b.read() == "{\"json\": true}");
  // Two peer_ups, each with an id of the reserved range and the client's "ip:port".
  auto up_a = w.events.wait_for("peer_up");
  auto up_b = w.events.wait_for(
    "peer_up", [&](const event& e) { return field(e, "peer") != field(*up_a, "peer"); });
  REQUIRE(up_a);
  REQUIRE(up_b);
  for (auto* e : {&*up_a, &*up_b}) {
    auto id = parse_u64(field(*e, "peer"));
    REQUIRE(id);
    CHECK(net::local_peers::contains(*id));
    CHECK(field(*e, "address").starts_with("127.0.0.1:"));
  }
  a.close();
  auto bye = w.events.wait_for("goodbye");
  REQUIRE(bye);
  CHECK(field(*bye, "peer") == field(*up_a, "peer"));
  // The other socket is still served; frames to the closed id are dropped.
  REQUIRE(b.send("still here"));
  CHECK(b.read() == "still here");
  CHECK(ws_world::eventually([&] { return w.bridge->open() == 1; }));
  CHECK(w.counter("ws.opened") == 2);
}

TEST_CASE("ws bridge: sockets are bounded in all and per client address, and a freed slot is "
          "taken again") {
  auto o = bridge_options();
  o.sockets_max = 3;
  o.sockets_per_ip_max = 2;
  ws_world w(mirror(), o);
  auto a = std::make_unique<ws_client>(w.address());
  ws_client b(w.address());
  REQUIRE(a->ok());
  REQUIRE(b.ok());
  ws_client c(w.address()); // a third from 127.0.0.1
  CHECK_FALSE(c.ok());
  CHECK(c.status() == 503);
  CHECK_THAT(c.refusal(), Catch::Contains("from this address (at most 2)"));
  ws_client d(w.address(), "/signal", "127.0.0.2"); // another address: the third in all
  CHECK(d.ok());
  ws_client e(w.address(), "/signal", "127.0.0.3");
  CHECK_FALSE(e.ok());
  CHECK(e.status() == 503);
  CHECK_THAT(e.refusal(), Catch::Contains("too many WebSocket connections (at most 3)"));
  a->close();
  a.reset();
  REQUIRE(ws_world::eventually([&] { return w.bridge->open() == 2; }));
  ws_client f(w.address());
  CHECK(f.ok());
  REQUIRE(f.send("in"));
  CHECK(f.read() == "in");
  CHECK(w.counter("ws.refused_per_ip") == 1);
  CHECK(w.counter("ws.refused_full") == 1);
}

TEST_CASE("ws bridge: a client that does not read is disconnected when its write queue is full") {
  auto o = bridge_options();
  o.queue_bytes_max = 256u << 10;
  ws_world w(mirror(), o);
  ws_client slow(w.address()), other(w.address());
  REQUIRE(slow.ok());
  REQUIRE(other.ok());
  slow.receive_buffer(4096);
  // 40 MiB answered at once, far more than the queue and the socket buffers.
  REQUIRE(slow.send("flood 2560 16384"));
  REQUIRE(ws_world::eventually([&] { return w.counter("ws.closed_slow") == 1; }));
  CHECK(w.events.wait_for("goodbye"));
  REQUIRE(other.send("unaffected"));
  CHECK(other.read() == "unaffected");
}

TEST_CASE("ws bridge: a write that does not move for write_stall closes the socket") {
  auto o = bridge_options();
  o.queue_bytes_max = 64u << 20; // the queue holds it all: only the stall bound acts
  o.write_stall = 300 * us_per_ms;
  ws_world w(mirror(), o);
  ws_client slow(w.address());
  REQUIRE(slow.ok());
  slow.receive_buffer(4096);
  REQUIRE(slow.send("flood 1280 16384")); // 20 MiB, never read
  REQUIRE(ws_world::eventually([&] { return w.counter("ws.closed_stalled") == 1; }));
  CHECK(w.counter("ws.closed_slow") == 0);
  CHECK(w.events.wait_for("goodbye"));
}

TEST_CASE("ws bridge: a silent socket is closed after idle_timeout and the role hears the "
          "goodbye") {
  auto o = bridge_options();
  o.idle_timeout = 300 * us_per_ms;
  ws_world w(mirror(), o);
  ws_client quiet(w.address());
  REQUIRE(quiet.ok());
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(quiet.read(ms(5000))); // closed by the server, well before 5 s
  CHECK(std::chrono::steady_clock::now() - t0 < ms(3000));
  CHECK(w.events.wait_for("goodbye"));
  CHECK(w.counter("ws.closed_idle") == 1);
}

TEST_CASE("ws bridge: a client past the message rate is closed with 1008") {
  auto o = bridge_options();
  o.rate = 5;
  o.burst = 10;
  ws_world w(mirror(), o);
  ws_client fast(w.address());
  REQUIRE(fast.ok());
  for (int i = 0; i < 30; ++i)
    if (!fast.send("m"))
      break;
  while (fast.read(ms(3000))) {
  }
  CHECK(fast.error() == boost::beast::websocket::error::closed);
  CHECK(fast.close_reason().code == boost::beast::websocket::close_code::policy_error);
  CHECK(w.counter("ws.closed_rate") == 1);
}

TEST_CASE("ws bridge: stop sends what is queued, then closes with 1001") {
  auto o = bridge_options();
  o.queue_bytes_max = 64u << 20;
  ws_world w(mirror(), o);
  ws_client c(w.address());
  REQUIRE(c.ok());
  REQUIRE(c.send("before stop"));
  CHECK(c.read() == "before stop");
  // 10 MiB the client does not read yet: more than the socket buffers (the
  // sender's grows to 4 MiB here), so much of it waits in the bridge's queue
  // as stop begins. (Not a tiny buffer: below the loopback's 64 KiB segment
  // the sender falls back to zero-window probes and reading takes minutes.)
  c.receive_buffer(256 << 10);
  REQUIRE(c.send("flood 640 16384"));
  std::this_thread::sleep_for(ms(300));
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { w.bridge->stop(); }); // the client answers the close meanwhile
  int got = 0;
  while (auto m = c.read())
    got += m->size() == 16384;
  stopper.join();
  CHECK(got == 640);
  CHECK(c.error() == boost::beast::websocket::error::closed);
  CHECK(c.close_reason().code == boost::beast::websocket::close_code::going_away);
  CHECK(w.bridge->open() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < ms(3000)); // not the close handshake's bound
  ws_client late(w.address());                             // refused once stopping
  CHECK(late.status() == 503);
}

TEST_CASE("ws bridge: a socket for a port the node does not serve is closed with 1013") {
  auto o = bridge_options();
  o.port = ports::test_echo + 1; // no role there
  ws_world w(mirror(), o);
  ws_client c(w.address());
  REQUIRE(c.ok());
  CHECK_FALSE(c.read());
  CHECK(c.close_reason().code == boost::beast::websocket::close_code::try_again_later);
  CHECK(w.counter("ws.refused_by_node") == 1);
  CHECK(w.rt->counters()["net.local_peers_refused"] == 1);
}
