// Two live runtimes in this process on 127.0.0.1 ephemeral ports: the echo
// role over real TCP, and a real file transferred by hash from disk to disk.
#include "net/address.hpp"
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"

#include "protocols/registry.hpp"
#include "echo_role.hpp"
#include "protocols/common/sha256.hpp"
#include "temp_dir.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <condition_variable>
#include <thread>
#include <fstream>
#include <mutex>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

// Collects events from the CAF thread; the test thread waits for one.
class event_log {
public:
  void add(const event& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits (at most a minute, so a broken build fails instead of hanging).
  std::optional<event> wait_for(const std::string& kind) {
    std::unique_lock lock(mu_);
    std::optional<event> found;
    cv_.wait_for(lock, std::chrono::seconds(60), [&] {
      for (auto& e : events_)
        if (e.kind == kind) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::vector<std::string> kinds() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& e : events_)
      out.push_back(e.kind);
    return out;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

net::live_options node(const std::string& name, const fs::path& dir, event_log& log,
                       std::vector<std::shared_ptr<role>> roles) {
  net::live_options o;
  o.name = name;
  o.listen = "127.0.0.1:0";
  o.roles = std::move(roles);
  fs::create_directories(dir);
  o.store = std::make_unique<net::sqlite_store>(dir / "node.db");
  o.content = std::make_unique<net::disk_content>(dir);
  o.on_event = [&log](port_t, const event& e) { log.add(e); };
  o.on_log = [](const std::string&) {}; // quiet: the assertions say what matters
  return o;
}

} // namespace

TEST_CASE("live: two nodes exchange echo frames over loopback TCP", "[net][live]") {
  test::temp_dir dir("live-echo");
  event_log la, lb;
  net::live_runtime b(node("bob", dir.path() / "b", lb, {std::make_shared<test::echo_role>()}));
  b.start();
  REQUIRE(b.listen_address().rfind("127.0.0.1:", 0) == 0);
  auto oa = node("alice", dir.path() / "a", la, {std::make_shared<test::echo_role>()});
  oa.peers = {b.listen_address()};
  std::mutex mu;
  std::condition_variable cv;
  std::optional<peer_id> seen;
  oa.on_peer = [&](peer_id p, const std::string&) {
    std::lock_guard lock(mu);
    seen = p;
    cv.notify_all();
  };
  net::live_runtime a(std::move(oa));
  a.start();
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return seen.has_value(); }));
  }
  REQUIRE(*seen == b.id());
  REQUIRE(b.id() == net::peer_id_from_name("bob"));

  REQUIRE(
    a.command(ports::test_echo, text_command_of(1, "ping", {std::to_string(b.id()), "hello"})));
  auto pong = la.wait_for("pong");
  REQUIRE(pong);
  REQUIRE(*pong->field("from") == std::to_string(b.id()));
  REQUIRE(*pong->field("payload") == "hello");

  // Commands need a role on their port.
  REQUIRE_FALSE(a.command(ports::kad, text_command_of(2, "ping", {})));
  a.stop();
  auto ca = a.counters();
  REQUIRE(ca["net.frames_out"] == 1);
  REQUIRE(ca["net.frames_in"] == 1);
  REQUIRE(la.wait_for("echo_stopped")); // the role's stop ran
  b.stop();
}

TEST_CASE("live: frames for an unknown port are dropped and counted", "[net][live]") {
  test::temp_dir dir("live-port");
  event_log la, lb;
  net::live_runtime b(node("bob", dir.path() / "b", lb, {std::make_shared<test::echo_role>()}));
  b.start();
  auto oa = node("alice", dir.path() / "a", la, {std::make_shared<test::echo_role>()});
  oa.peers = {b.listen_address()};
  net::live_runtime a(std::move(oa));
  a.start();
  // Alice's echo role sends a ping to bob; bob's reply goes to alice's port
  // test_echo. A ping whose first byte names port 200 reaches no role at bob.
  auto send_raw = [&](bytes f) { a.send(a.id(), b.id(), std::move(f)); };
  a.learn_address(b.id(), b.listen_address());
  send_raw(bytes{200, 1, 2});
  send_raw(bytes{});
  send_raw(bytes{ports::test_echo, test::echo_role::ping, 'x'});
  REQUIRE(la.wait_for("pong")); // frames on one connection arrive in order
  auto cb = b.counters();
  REQUIRE(cb["net.frames_dropped_unknown_port"] == 1);
  REQUIRE(cb["net.frames_dropped_empty"] == 1);
  a.stop();
  b.stop();
}

TEST_CASE("live: a real file is downloaded by hash from disk to disk", "[net][live][filexfer]") {
  test::temp_dir dir("live-file");
  // A few MiB of non-repeating bytes, with a ragged end.
  bytes data(5 * 1024 * 1024 + 12345);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (auto& c : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<std::uint8_t>(x >> 24);
  }
  auto source = dir.path() / "source.bin";
  {
    std::ofstream out(source, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
  }
  auto hash = sha256::of(data);

  event_log lp, ld;
  auto op = node("provider", dir.path() / "p", lp,
                 make_roles(nlohmann::json::parse(R"(["provider"])"), "roles", ""));
  auto* provider_content = static_cast<net::disk_content*>(op.content.get());
  auto info = provider_content->provide({source, "", 0});
  REQUIRE(info.hash == hash);
  net::live_runtime p(std::move(op));
  p.start();

  auto od =
    node("downloader", dir.path() / "d", ld,
         make_roles(nlohmann::json::parse(
                      R"([{"role": "downloader", "chunk_size": "256KiB", "window": "1MiB"}])"),
                    "roles", ""));
  od.peers = {p.listen_address()};
  auto* downloader_content = static_cast<net::disk_content*>(od.content.get());
  net::live_runtime d(std::move(od));
  d.start();
  d.learn_address(p.id(), p.listen_address());
  REQUIRE(d.command(ports::file_downloader,
                    text_command_of(7, "download", {to_hex(hash), std::to_string(p.id())})));
  auto done = ld.wait_for("download_done");
  INFO("downloader events: " << Catch::Detail::stringify(ld.kinds()));
  REQUIRE(done);
  REQUIRE(done->command_id == 7);
  REQUIRE(done->value("bytes") == static_cast<double>(data.size()));
  REQUIRE(*done->field("name") == "source.bin");

  auto saved = downloader_content->committed_path(hash);
  REQUIRE(saved == dir.path() / "d" / "downloads" / "source.bin");
  std::ifstream in(*saved, std::ios::binary);
  bytes got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(got.size() == data.size());
  REQUIRE(got == data);
  d.stop();
  p.stop();
}

namespace {

// A loopback port that nothing listens on right now (bound, then released).
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Polls a counter until it reaches `want` (bounded: a minute).
bool counter_reaches(net::live_runtime& rt, const std::string& name, double want) {
  for (int i = 0; i < 6000; ++i) {
    if (rt.counters()[name] >= want)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace

TEST_CASE("live: frames for a peer that cannot be reached are dropped and counted", "[net][live]") {
  test::temp_dir dir("live-dial");
  event_log la;
  net::live_runtime a(node("alice", dir.path() / "a", la, {std::make_shared<test::echo_role>()}));
  a.start();
  peer_id ghost = 12345;
  a.learn_address(ghost, "127.0.0.1:" + std::to_string(free_port()));
  a.send(a.id(), ghost, bytes{ports::test_echo, test::echo_role::ping});
  a.send(a.id(), ghost, bytes{ports::test_echo, test::echo_role::ping});
  REQUIRE(counter_reaches(a, "net.frames_unreachable", 2));
  REQUIRE(a.counters()["net.dial_failures"] == 1); // one dial for both frames
  a.send(a.id(), 999, bytes{ports::test_echo, 1}); // no address at all
  REQUIRE(counter_reaches(a, "net.frames_unroutable", 1));
  a.stop();
}

TEST_CASE("live: a configured peer that starts later is reached by retrying", "[net][live]") {
  test::temp_dir dir("live-retry");
  event_log la, lb;
  auto port = free_port();
  auto oa = node("alice", dir.path() / "a", la, {std::make_shared<test::echo_role>()});
  oa.peers = {"127.0.0.1:" + std::to_string(port)};
  std::atomic<int> hellos{0};
  oa.on_peer = [&](peer_id, const std::string&) { ++hellos; };
  net::live_runtime a(std::move(oa));
  a.start();
  REQUIRE(counter_reaches(a, "net.dial_failures", 1)); // bob is not there yet
  auto ob = node("bob", dir.path() / "b", lb, {std::make_shared<test::echo_role>()});
  ob.listen = "127.0.0.1:" + std::to_string(port);
  net::live_runtime b(std::move(ob));
  b.start();
  for (int i = 0; i < 6000 && hellos == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(hellos == 1);
  REQUIRE(
    a.command(ports::test_echo, text_command_of(1, "ping", {std::to_string(b.id()), "late"})));
  auto pong = la.wait_for("pong");
  REQUIRE(pong);
  REQUIRE(*pong->field("payload") == "late");
  a.stop();
  b.stop();
}
