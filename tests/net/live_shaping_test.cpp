// A scenario's network on real sockets: two live runtimes in this process,
// each shaping its outgoing frames with sim::live_shaper (latency, loss,
// truncation, partitions), the echo role on top. Only lower bounds on delays
// are asserted: a loaded machine makes them longer, never shorter.
#include "net/address.hpp"
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "sim/live_shaper.hpp"

#include "echo_role.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

using namespace peerlab;
namespace fs = std::filesystem;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

// Pongs (from the CAF thread), with the time they arrived.
class pong_log {
public:
  void add(const event& e) {
    if (e.kind != "pong")
      return;
    std::lock_guard lock(mu_);
    at_.push_back(clock_type::now());
    cv_.notify_all();
  }
  // Waits until `n` pongs arrived (at most `limit`); their arrival times.
  std::vector<clock_type::time_point> wait(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] { return at_.size() >= n; });
    return at_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return at_.size();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<clock_type::time_point> at_;
};

// Node 0 is group "a" (alice), node 1 group "b" (bob).
json scenario_of(json network) {
  return {{"name", "live shaping"},
          {"seed", 11},
          {"duration", "1m"},
          {"groups",
           {{{"name", "a"}, {"count", 1}, {"roles", {"provider"}}},
            {{"name", "b"}, {"count", 1}, {"roles", {"provider"}}}}},
          {"network", std::move(network)}};
}

struct pair_of_nodes {
  test::temp_dir dir{"live-shaping"};
  pong_log pongs_a;
  std::atomic<time_us> scenario_now{0}; // set by the test
  std::unique_ptr<net::live_runtime> a, b;

  explicit pair_of_nodes(const json& scenario) {
    auto spec = sim::parse_scenario(scenario.dump(), "test");
    std::map<peer_id, std::uint32_t> nodes{{net::peer_id_from_name("alice"), 0},
                                           {net::peer_id_from_name("bob"), 1}};
    auto make = [&](const std::string& name, std::uint32_t index) {
      net::live_options o;
      o.name = name;
      o.roles = {std::make_shared<test::echo_role>()};
      auto d = dir.path() / name;
      fs::create_directories(d);
      o.store = std::make_unique<net::sqlite_store>(d / "node.db");
      o.content = std::make_unique<net::disk_content>(d);
      o.shaper = std::make_shared<sim::live_shaper>(spec, 5, index, nodes);
      o.scenario_now = [this] { return scenario_now.load(); };
      o.on_log = [](const std::string&) {};
      return o;
    };
    auto ob = make("bob", 1);
    b = std::make_unique<net::live_runtime>(std::move(ob));
    b->start();
    auto oa = make("alice", 0);
    oa.on_event = [this](port_t, const event& e) { pongs_a.add(e); };
    a = std::make_unique<net::live_runtime>(std::move(oa));
    a->start();
    a->learn_address(b->id(), b->listen_address());
  }
  ~pair_of_nodes() {
    a->stop();
    b->stop();
  }

  void ping(const std::string& text = "hello") {
    bytes f{ports::test_echo, test::echo_role::ping};
    f.insert(f.end(), text.begin(), text.end());
    a->send(a->id(), b->id(), std::move(f));
  }
};

// Polls a node's counter until it reaches `at_least` (at most a minute).
bool counter_reaches(net::live_runtime& n, const std::string& name, double at_least) {
  auto until = clock_type::now() + std::chrono::seconds(60);
  while (clock_type::now() < until) {
    if (n.counters()[name] >= at_least)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

} // namespace

TEST_CASE("live shaping: 50 ms base latency each way gives a round trip of 100 ms at least",
          "[net][live][shaping]") {
  pair_of_nodes n(
    scenario_of({{"latency", {{"model", "constant"}, {"value", "50ms"}, {"jitter", "0us"}}}}));
  n.ping("warm-up"); // the connection is dialed on demand: not part of the round trips below
  REQUIRE(n.pongs_a.wait(1, std::chrono::seconds(60)).size() == 1);
  double shortest = 1e9;
  for (std::size_t i = 2; i <= 6; ++i) {
    auto sent = clock_type::now();
    n.ping();
    auto at = n.pongs_a.wait(i, std::chrono::seconds(60));
    REQUIRE(at.size() == i);
    auto rtt = std::chrono::duration<double, std::milli>(at.back() - sent).count();
    CHECK(rtt >= 100.0);
    shortest = std::min(shortest, rtt);
  }
  std::printf("live shaping: shortest ping/pong round trip with 50 ms base latency: %.2f ms\n",
              shortest);
  auto ca = n.a->counters();
  CHECK(ca["net.shaped_delayed"] == 6); // every ping was held, no counter of a fault
  CHECK(ca["net.shaped_dropped"] == 0);
}

TEST_CASE("live shaping: loss 1 delivers nothing", "[net][live][shaping]") {
  pair_of_nodes n(scenario_of(
    {{"latency", {{"model", "constant"}, {"value", "0us"}}}, {"faults", {{"loss", 1.0}}}}));
  for (int i = 0; i < 20; ++i)
    n.ping();
  REQUIRE(counter_reaches(*n.a, "net.shaped_dropped", 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(n.b->counters()["net.frames_in"] == 0);
  CHECK(n.pongs_a.count() == 0);
}

TEST_CASE("live shaping: truncated frames reach the receiver shorter and are rejected",
          "[net][live][shaping]") {
  // Only alice's pings are cut (a to b); bob's pongs pass.
  pair_of_nodes n(
    scenario_of({{"latency", {{"model", "constant"}, {"value", "0us"}, {"jitter", "0us"}}},
                 {"links", {{{"from", "a"}, {"to", "b"}, {"faults", {{"truncate", 1.0}}}}}}}));
  const std::string text = "0123456789";
  for (int i = 0; i < 100; ++i)
    n.ping(text);
  REQUIRE(counter_reaches(*n.a, "net.shaped_truncated", 100));
  // Every ping arrives (with its new length prefix) or is an empty frame.
  auto arrived = [&] {
    auto c = n.b->counters();
    return c["net.frames_in"] == 100;
  };
  auto until = clock_type::now() + std::chrono::seconds(60);
  while (!arrived() && clock_type::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE(arrived());
  auto cb = n.b->counters();
  auto ca = n.a->counters();
  // Cut before the ping type byte: the echo role rejects it (the frame
  // codec saw a shorter frame, not a broken stream: the connection stays).
  CHECK(cb["frames_rejected"] > 0);
  CHECK(cb["net.bytes_in"] < 100 * (2 + text.size()));
  CHECK(cb["net.connections_closed"] == 0);
  // No pong carries the whole text: bob echoes what reached him.
  CHECK(n.pongs_a.count() < 100);
  CHECK(ca["net.shaped_dropped"] == 0);
}

TEST_CASE("live shaping: a partition window drops frames at send and in flight, then heals",
          "[net][live][shaping]") {
  // 1 s each way, so that a ping is still held when the partition starts.
  pair_of_nodes n(
    scenario_of({{"latency", {{"model", "constant"}, {"value", "1s"}, {"jitter", "0us"}}},
                 {"partitions", {{{"between", {"a", "b"}}, {"from", "10s"}, {"until", "20s"}}}}}));
  n.scenario_now = 15 * us_per_s; // inside the window: dropped at send
  n.ping();
  REQUIRE(counter_reaches(*n.a, "net.shaped_dropped", 1));
  CHECK(n.a->counters()["net.shaped_delayed"] == 0);

  n.scenario_now = 5 * us_per_s; // before it: held for its latency...
  n.ping();
  REQUIRE(counter_reaches(*n.a, "net.shaped_delayed", 1));
  n.scenario_now = 15 * us_per_s; // ... and cut when its release comes
  REQUIRE(counter_reaches(*n.a, "net.shaped_dropped", 2));
  CHECK(n.b->counters()["net.frames_in"] == 0);

  n.scenario_now = 25 * us_per_s; // healed
  auto sent = clock_type::now();
  n.ping();
  auto at = n.pongs_a.wait(1, std::chrono::seconds(60));
  REQUIRE(at.size() == 1);
  CHECK(at.back() - sent >= std::chrono::seconds(2));
  CHECK(n.a->counters()["net.shaped_dropped"] == 2);
}
