// The network model's fidelity: exact link time for small frames, per-link
// base latency with bounded jitter, partitions that also cut frames in flight,
// and uploads of a crashed node that never leave.
#include "sim_helpers.hpp"

#include "sim/serial_link.hpp"
#include "protocols/gossip/gossip.hpp"
#include "protocols/traffic/traffic.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace peerlab;

namespace {

// Two nodes bouncing 64-byte frames at each other forever (ttl 0), enough of
// them that both upload links stay busy: delivery is limited by the links only.
nlohmann::json saturated_pair(const char* rate, int in_flight) {
  return {
    {"name", "small frames"},
    {"seed", 3},
    {"duration", "100ms"},
    {"groups",
     {{{"name", "pair"},
       {"count", 2},
       {"roles", {{{"role", "traffic"}, {"peers", 2}, {"in_flight", in_flight}, {"size", 64}}}}}}},
    {"network",
     {{"latency", {{"model", "constant"}, {"value", "1ms"}, {"jitter", "0us"}}},
      {"bandwidth", {{"up", rate}, {"down", rate}}}}}};
}

// Node 0 ("src") sends `frames` frames of 1000 bytes to node 1 ("dst") at
// start; node 1 sends nothing. 10 ms latency, no jitter.
nlohmann::json one_way(int frames) {
  auto traffic = [](int in_flight) {
    return nlohmann::json::array(
      {{{"role", "traffic"}, {"peers", 2}, {"in_flight", in_flight}, {"size", 1000}, {"ttl", 1}}});
  };
  return {
    {"name", "one way"},
    {"seed", 4},
    {"duration", "5s"},
    {"groups",
     {{{"name", "src"}, {"count", 1}, {"roles", traffic(frames)}},
      {{"name", "dst"}, {"count", 1}, {"roles", traffic(0)}}}},
    {"network", {{"latency", {{"model", "constant"}, {"value", "10ms"}, {"jitter", "0us"}}}}}};
}

} // namespace

TEST_CASE("serial link keeps fractions of a microsecond", "[sim][net]") {
  sim::serial_link l;
  time_us last = 0;
  for (int i = 0; i < 1000; ++i) // 104 B at 10 Gbit/s = 83.2 ns each
    last = l.transmit(0, 104, 1.25e9);
  CHECK(l.free_at_us() == Approx(83.2));
  CHECK(last == 84);             // 83.2 us, rounded up
  l.transmit(1000, 104, 1.25e9); // idle since 83.2 us: starts afresh at 1 ms
  CHECK(l.free_at_us() == Approx(1000.0832));
  l.clear(1000); // a crash forgets what is queued
  CHECK(l.free_at_us() == Approx(1000.0));
}

TEST_CASE("serial link saturates instead of overflowing", "[sim][net]") {
  sim::serial_link l;
  auto near_end = sim::time_never - 10;
  CHECK(l.transmit(near_end, 1'000'000, 1.0) == sim::time_never); // 1e12 us would overflow
  sim::serial_link slow;
  CHECK(slow.transmit(5, 1, 1e-30) == sim::time_never); // an absurd rate
}

TEST_CASE("small frames cost their link time at 1 and 10 Gbit/s", "[sim][net][bandwidth]") {
  struct rate_case {
    const char* rate;
    double bytes_per_s;
    int in_flight;
  };
  for (auto c : {rate_case{"1Gbit/s", 1.25e8, 4000}, rate_case{"10Gbit/s", 1.25e9, 30000}}) {
    INFO(c.rate);
    auto r = test::run(saturated_pair(c.rate, c.in_flight), sim::engine::direct);
    // Each direction: one 104-byte frame (64 + 40 overhead) per link time,
    // from the first arrival after 1 ms of latency to the end at 100 ms.
    double frame_s = 104.0 / c.bytes_per_s;
    double analytic = 2 * (0.100 - 0.001) / frame_s;
    auto delivered = static_cast<double>(r.stats.net.delivered);
    WARN(c.rate << ": delivered " << r.stats.net.delivered << ", analytic " << analytic);
    CHECK(delivered <= analytic + 2);
    CHECK(delivered >= analytic * 0.999);
  }
}

TEST_CASE("a link's base latency is drawn once per pair, jitter per frame within its bounds",
          "[sim][net][latency]") {
  auto j = one_way(1);
  j["groups"][1]["count"] = 400;
  j["network"]["latency"] = {{"model", "lognormal"},
                             {"median", "40ms"},
                             {"sigma", 0.5},
                             {"jitter", {{"dist", "uniform"}, {"min", "0ms"}, {"max", "2ms"}}}};
  auto s = test::parse(j);
  std::vector<std::uint32_t> group(401, 1);
  group[0] = 0;
  rng placement(1);
  sim::network_model net(s, group, placement, 77);
  rng r(2);
  std::vector<time_us> bases;
  for (std::uint32_t b = 1; b <= 400; ++b) {
    auto base = net.base_latency(0, b);
    CHECK(base == net.base_latency(b, 0)); // one base per unordered pair
    for (int i = 0; i < 5; ++i) {
      auto l = net.latency(b, 0, r);
      CHECK(l >= base);
      CHECK(l <= base + 2000);
    }
    bases.push_back(base);
  }
  // Another network seed draws other bases; the same seed the same ones.
  rng placement2(1);
  sim::network_model same(s, group, placement2, 77), other(s, group, placement2, 78);
  CHECK(same.base_latency(0, 5) == bases[4]);
  int moved = 0;
  for (std::uint32_t b = 1; b <= 400; ++b)
    moved += other.base_latency(0, b) != bases[b - 1];
  CHECK(moved > 390);
  // The bases follow the scenario's distribution: median 40 ms.
  std::sort(bases.begin(), bases.end());
  CHECK(bases[200] > 36000);
  CHECK(bases[200] < 44000);
}

TEST_CASE("a partition that starts while frames are in flight drops them at delivery",
          "[sim][net][partition]") {
  for (bool limited_down : {false, true}) {
    INFO("download link limited: " << limited_down);
    auto j = one_way(5);
    if (limited_down)
      j["network"]["bandwidth"] = {{"down", "100Mbit/s"}};
    // Sent at 0, due at 10 ms; the partition starts at 5 ms.
    j["network"]["partitions"] = {{{"between", {"src", "dst"}}, {"from", "5ms"}, {"until", "1s"}}};
    auto r = test::run(j);
    CHECK(r.stats.net.sent == 5);
    CHECK(r.stats.net.delivered == 0);
    CHECK(r.stats.net.lost_partition == 5);
    // Starting after they arrived, it drops nothing.
    j["network"]["partitions"][0]["from"] = "20ms";
    r = test::run(j);
    CHECK(r.stats.net.delivered == 5);
    CHECK(r.stats.net.lost_partition == 0);
  }
}

TEST_CASE("frames still queued for upload when their sender goes down are never delivered",
          "[sim][net][churn]") {
  for (double crash : {1.0, 0.0}) {
    INFO("crash share " << crash);
    // 200 frames of 1040 bytes (with overhead) at 1 Mbit/s: one every 8.32 ms.
    auto j = one_way(200);
    j["network"]["bandwidth"] = {{"up", "1Mbit/s"}};
    j["churn"] = {{{"group", "src"}, {"session", "1s"}, {"crash", crash}, {"restart", false}}};
    auto r = test::run(j);
    // Frames whose last byte left by 1 s: floor(1 s / 8.32 ms) = 120.
    CHECK(r.stats.net.delivered == 120);
    CHECK(r.stats.net.lost_sender_down == 80);
  }
}

TEST_CASE("frames waiting in the download queue of a node that goes down are dropped",
          "[sim][net][churn]") {
  // 200 frames arrive at 10 ms and queue at dst's 1 Mbit/s download link (one
  // per 8.32 ms, the last due at 1.67 s); dst crashes at 500 ms and is back at
  // 600 ms.
  auto j = one_way(200);
  j["network"]["bandwidth"] = {{"down", "1Mbit/s"}};
  j["churn"] = {{{"group", "dst"}, {"session", "500ms"}, {"downtime", "100ms"}, {"crash", 1.0}}};
  j["duration"] = "2s";
  auto r = test::run(j);
  // Delivered by 500 ms: floor((500 - 10) ms / 8.32 ms) = 58; the rest is lost.
  CHECK(r.stats.net.delivered == 58);
  CHECK(r.stats.net.lost_offline == 142);
}

TEST_CASE("a leaving node's goodbyes are delivered after its queued uploads are dropped",
          "[sim][net][churn]") {
  // src queues 200 traffic frames (8.32 ms each at 1 Mbit/s), knows dst as a
  // gossip peer, and leaves at 1 s: its gossip goodbye goes out on the emptied
  // upload link while the frames still queued are dropped.
  auto j = one_way(200);
  for (int g : {0, 1})
    j["groups"][g]["roles"].push_back({{"role", "gossip"}, {"topics", {"t"}}});
  j["network"]["bandwidth"] = {{"up", "1Mbit/s"}};
  j["churn"] = {{{"group", "src"}, {"session", "1s"}, {"crash", 0.0}, {"restart", false}}};
  j["workload"] = {{{"kind", "command"},
                    {"group", "src"},
                    {"at", "0s"},
                    {"role", "gossip"},
                    {"verb", "connect"},
                    {"args", {"1"}}}};
  sim::record_plan every_step;
  every_step.entries = true;
  every_step.end = sim::record_plan::max_entries_bound;
  sim::trace_recorder rec(every_step);
  sim::sim_options o;
  o.recorder = &rec;
  sim::simulator s(test::parse(j), o);
  s.run();
  REQUIRE(!rec.done()); // the whole run was recorded
  int traffic_after = 0, goodbyes = 0;
  for (auto& t : rec.entries()) {
    if (t.kind != sim::event_kind::deliver || t.node != 1 || t.time <= us_per_s)
      continue;
    if (t.port == ports::traffic && t.time > us_per_s + 10 * us_per_ms)
      ++traffic_after; // departed after the leave
    if (t.port == ports::gossip && t.time <= us_per_s + 11 * us_per_ms)
      ++goodbyes; // 10 ms of latency plus its own short link time
  }
  CHECK(s.stats().leaves == 1);
  CHECK(traffic_after == 0);
  CHECK(goodbyes == 1);
  CHECK(s.stats().net.lost_sender_down > 0);
}

TEST_CASE("size-dependent truncation and per-byte bit rot reach the link chain from the scenario",
          "[sim][net][faults]") {
  auto j = one_way(1);
  std::vector<std::uint32_t> group = {0, 1};
  {
    // Neither field: the chain is what it was (no rule, no draw).
    j["network"]["faults"] = {{"truncate", 0.1}, {"corrupt", 0.1}};
    auto s = test::parse(j);
    rng placement(1);
    sim::network_model net(s, group, placement, 5);
    CHECK(net.rules(0, 1).size() == 2);
    CHECK_FALSE(s.resolved()["network"]["faults"].contains("truncate_scale_bytes"));
    CHECK_FALSE(s.resolved()["network"]["faults"].contains("corrupt_per_byte"));
  }
  j["network"]["faults"] = {{"truncate_scale", "4KiB"}, {"corrupt_per_byte", 0.001}};
  auto s = test::parse(j);
  CHECK(s.faults.truncate_scale == 4096);
  CHECK(s.faults.corrupt_per_byte == 0.001);
  CHECK(s.resolved()["network"]["faults"]["truncate_scale_bytes"] == 4096);
  rng placement(1);
  sim::network_model net(s, group, placement, 5);
  auto& chain = net.rules(0, 1);
  REQUIRE(chain.size() == 2);
  rng r(8);
  auto share_cut = [&](std::size_t size) {
    int cut = 0;
    for (int i = 0; i < 10000; ++i)
      cut += chain.run({0, 1, 0, size}, r).copy[0].truncated;
    return cut / 10000.0;
  };
  CHECK(share_cut(1024) == Approx(1 - std::exp(-0.25)).margin(0.02));
  CHECK(share_cut(16384) == Approx(1 - std::exp(-4.0)).margin(0.02));
  // Bit rot per byte: about 1 flip per 1000 bytes of what survived the cut.
  std::uint64_t flips = 0, kept = 0;
  for (int i = 0; i < 2000; ++i) {
    auto f = chain.run({0, 1, 0, 2000}, r);
    flips += f.copy[0].bits.size();
    kept += f.copy[0].size;
  }
  CHECK(static_cast<double>(flips) / static_cast<double>(kept) == Approx(0.001).epsilon(0.15));
}
