// A hostile peer against a live node's transport, over real loopback TCP:
// oversized length prefixes before the hello, idle connections that take
// every slot, and peers that trickle bytes without finishing a frame. Each
// case checks that the attacker's connection goes and that an honest peer
// still gets its frames through. The bounds are shrunk (live_options.bounds)
// so the edges are reached in milliseconds; the defaults are in net_limits.hpp.
#include "net/framing.hpp"
#include "net/handshake.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "net/disk_content.hpp"

#include "echo_role.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <condition_variable>
#include <mutex>
#include <poll.h>
#include <thread>

using namespace peerlab;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct pongs {
  std::mutex mu;
  std::condition_variable cv;
  int seen = 0;
  bool wait(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return seen >= n; });
  }
};

net::live_options echo_node(const std::string& name, const fs::path& dir, pongs* p) {
  net::live_options o;
  o.name = name;
  o.roles = {std::make_shared<test::echo_role>()};
  fs::create_directories(dir);
  o.store = std::make_unique<net::sqlite_store>(dir / "node.db");
  o.content = std::make_unique<net::disk_content>(dir);
  o.on_log = [](const std::string&) {};
  if (p)
    o.on_event = [p](port_t, const event& e) {
      if (e.kind != "pong")
        return;
      std::lock_guard lock(p->mu);
      ++p->seen;
      p->cv.notify_all();
    };
  return o;
}

// A raw TCP client that speaks only as much of the protocol as an attack needs.
class raw_peer {
public:
  explicit raw_peer(const std::string& address) : sock_(io_) {
    auto colon = address.rfind(':');
    sock_.connect({asio::ip::make_address(address.substr(0, colon)),
                   static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)))});
  }
  void send(const bytes& b) { asio::write(sock_, asio::buffer(b)); }
  void send_hello(peer_id id) {
    bytes out;
    net::encode_frame(net::encode_hello({id, ""}), out);
    send(out);
  }
  /// True once the node closed the connection, reading whatever it sends.
  bool closed_within(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::uint8_t buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{sock_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      boost::system::error_code ec;
      sock_.read_some(asio::buffer(buf), ec);
      if (ec)
        return true;
    }
    return false;
  }

private:
  asio::io_context io_;
  tcp::socket sock_;
};

// An honest node pings `target` and waits for the pong.
bool honest_ping(const fs::path& dir, const std::string& name, net::live_runtime& target) {
  pongs p;
  auto o = echo_node(name, dir / name, &p);
  o.peers = {target.listen_address()};
  net::live_runtime honest(std::move(o));
  honest.start();
  honest.learn_address(target.id(), target.listen_address());
  honest.command(ports::test_echo, text_command_of(1, "ping", {std::to_string(target.id()), "hi"}));
  bool ok = p.wait(1);
  honest.stop();
  return ok;
}

} // namespace

TEST_CASE("hostile: a 4 MiB length prefix before the hello closes that connection only",
          "[net][live][hostile]") {
  test::temp_dir dir("hostile-prefix");
  net::live_runtime node(echo_node("node", dir.path() / "node", nullptr));
  node.start();
  std::vector<std::unique_ptr<raw_peer>> attackers;
  for (int i = 0; i < 20; ++i) {
    attackers.push_back(std::make_unique<raw_peer>(node.listen_address()));
    attackers.back()->send(bytes{0x00, 0x00, 0x40, 0x00}); // 4 MiB announced, never sent
  }
  for (auto& a : attackers)
    CHECK(a->closed_within(std::chrono::seconds(2))); // before the 5 s hello deadline
  CHECK(honest_ping(dir.path(), "honest", node));
  node.stop();
}

TEST_CASE("hostile: idle connections that hold every slot are displaced by a new one",
          "[net][live][hostile]") {
  test::temp_dir dir("hostile-slots");
  auto o = echo_node("node", dir.path() / "node", nullptr);
  o.bounds.connections_max = 4;
  o.bounds.idle_evict_after = 200 * us_per_ms;
  net::live_runtime node(std::move(o));
  node.start();
  std::vector<std::unique_ptr<raw_peer>> idle;
  for (peer_id id = 100; id < 104; ++id) {
    idle.push_back(std::make_unique<raw_peer>(node.listen_address()));
    idle.back()->send_hello(id);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(honest_ping(dir.path(), "honest", node));
  auto c = node.counters();
  CHECK(c["net.connections_evicted"] >= 1);
  int closed = 0;
  for (auto& a : idle)
    closed += a->closed_within(std::chrono::milliseconds(100));
  CHECK(closed >= 1);
  node.stop();
}

TEST_CASE("hostile: connections past the per-address bound that nobody idles are refused",
          "[net][live][hostile]") {
  test::temp_dir dir("hostile-per-ip");
  auto o = echo_node("node", dir.path() / "node", nullptr);
  o.bounds.per_ip_max = 3;
  o.bounds.idle_evict_after = 3600 * us_per_s; // nobody counts as idle
  net::live_runtime node(std::move(o));
  node.start();
  std::vector<std::unique_ptr<raw_peer>> held;
  for (peer_id id = 200; id < 203; ++id) {
    held.push_back(std::make_unique<raw_peer>(node.listen_address()));
    held.back()->send_hello(id);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  raw_peer extra(node.listen_address());
  CHECK(extra.closed_within(std::chrono::seconds(5)));
  CHECK(node.counters()["net.connections_refused"] >= 1);
  for (auto& h : held)
    CHECK_FALSE(h->closed_within(std::chrono::milliseconds(50)));
  node.stop();
}

TEST_CASE("hostile: a peer that trickles bytes without finishing a frame is idle and closed",
          "[net][live][hostile]") {
  test::temp_dir dir("hostile-trickle");
  auto o = echo_node("node", dir.path() / "node", nullptr);
  o.bounds.idle_timeout = 300 * us_per_ms;
  net::live_runtime node(std::move(o));
  node.start();
  raw_peer silent(node.listen_address());
  silent.send_hello(300);
  raw_peer trickle(node.listen_address());
  trickle.send_hello(301);
  trickle.send(bytes{0x00, 0x00, 0x10, 0x00}); // a 1 MiB frame, one byte at a time
  bool trickle_closed = false;
  for (int i = 0; i < 40 && !trickle_closed; ++i) {
    boost::system::error_code ec;
    try {
      trickle.send(bytes{ports::test_echo});
    } catch (const std::exception&) {
      trickle_closed = true;
      break;
    }
    trickle_closed = trickle.closed_within(std::chrono::milliseconds(100));
  }
  CHECK(trickle_closed);
  CHECK(silent.closed_within(std::chrono::seconds(2)));
  node.stop();
}

TEST_CASE("hostile: peers that ask for much and never read hold at most the node's send budget",
          "[net][live][hostile]") {
  test::temp_dir dir("hostile-reader");
  auto o = echo_node("node", dir.path() / "node", nullptr);
  o.bounds.send_budget = 2u << 20;
  o.bounds.write_stall = 300 * us_per_ms;
  net::live_runtime node(std::move(o));
  node.start();
  // Each ping of 60 KiB asks for a pong of 60 KiB; the attackers never read,
  // so once the kernel's buffers are full the pongs queue at the node.
  bytes ping(60 * 1024, 'x');
  ping[0] = ports::test_echo;
  ping[1] = test::echo_role::ping;
  bytes wire;
  net::encode_frame(ping, wire);
  std::vector<std::unique_ptr<raw_peer>> greedy;
  for (peer_id id = 400; id < 404; ++id) {
    greedy.push_back(std::make_unique<raw_peer>(node.listen_address()));
    greedy.back()->send_hello(id);
  }
  std::size_t most = 0;
  for (int round = 0; round < 200; ++round) {
    for (auto& g : greedy)
      try {
        g->send(wire);
      } catch (const std::exception&) {
        // closed by the node as stalled: expected once the budget is spent
      }
    most = std::max(most, node.outbound_bytes());
  }
  CHECK(most <= (2u << 20));
  auto c = node.counters();
  CHECK(c["net.frames_dropped_queue_full"] >= 1);
  // Once their queues have not moved for write_stall, the next send that
  // finds the budget spent closes them and gives the budget back.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  for (auto& g : greedy)
    try {
      g->send(wire);
    } catch (const std::exception&) {
    }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(node.counters()["net.connections_stalled"] >= 1);
  CHECK(node.outbound_bytes() < (2u << 20) - 64 * 1024); // room again for a full pong
  CHECK(honest_ping(dir.path(), "honest", node));
  node.stop();
}

TEST_CASE("hostile: a hello claiming an id of the local peers' range is refused",
          "[net][live][hostile]") {
  // Plaintext ids are claimed: one from the range of the node's WebSocket
  // clients (net/local_peers.hpp) would pose as a browser.
  test::temp_dir dir("hostile-local-id");
  net::live_runtime node(echo_node("node", dir.path() / "node", nullptr));
  node.start();
  raw_peer impostor(node.listen_address());
  impostor.send_hello(net::local_peers::tag | 7);
  CHECK(impostor.closed_within(std::chrono::seconds(2)));
  CHECK(node.counters()["net.hellos_refused_local_id"] == 1);
  CHECK(honest_ping(dir.path(), "honest", node));
  node.stop();
}
