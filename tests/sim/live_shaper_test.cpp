// sim::live_shaper: a scenario's network applied to one live node's frames,
// with the simulator's model (base latencies drawn for the same run seed),
// rule chain, upload link and FIFO links.
#include "sim/live_shaper.hpp"
#include "sim/seed_streams.hpp"

#include "protocols/common/config_fields.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

using namespace peerlab;
using nlohmann::json;

namespace {

// Group "a" (node 0) and group "b" (nodes 1 and 2).
json two_groups(json network) {
  return {{"name", "shaping"},
          {"seed", 7},
          {"duration", "10s"},
          {"groups",
           {{{"name", "a"}, {"count", 1}, {"roles", {"provider"}}},
            {{"name", "b"}, {"count", 2}, {"roles", {"provider"}}}}},
          {"network", std::move(network)}};
}

const json no_delay = {{"model", "constant"}, {"value", "0us"}, {"jitter", "0us"}};

constexpr peer_id p0 = 1000, p1 = 1001, p2 = 1002;

sim::live_shaper shaper_of(const json& scenario, std::uint64_t seed = 7, std::uint32_t node = 0) {
  return sim::live_shaper(sim::parse_scenario(scenario.dump(), "test"), seed, node,
                          {{p0, 0}, {p1, 1}, {p2, 2}});
}

bytes frame_of(std::size_t n) {
  bytes f(n);
  for (std::size_t i = 0; i < n; ++i)
    f[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return f;
}

} // namespace

TEST_CASE("live shaper: loss 1 drops every frame", "[sim][shaping]") {
  auto s = shaper_of(two_groups({{"latency", no_delay}, {"faults", {{"loss", 1.0}}}}));
  std::vector<shaped_copy> out;
  for (int i = 0; i < 100; ++i) {
    auto o = s.shape(p1, i, i, frame_of(100), out);
    REQUIRE(o.dropped);
  }
  CHECK(out.empty());
}

TEST_CASE("live shaper: latency is the simulator's link base plus bounded jitter",
          "[sim][shaping]") {
  auto j = two_groups({{"latency",
                        {{"model", "uniform"},
                         {"min", "10ms"},
                         {"max", "90ms"},
                         {"jitter", {{"dist", "uniform"}, {"min", "0ms"}, {"max", "2ms"}}}}}});
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    auto s = shaper_of(j, seed);
    // The model the simulator builds for this scenario and run seed.
    auto spec = sim::parse_scenario(j.dump(), "test");
    auto placement = sim::stream_rng(seed, sim::seed_stream::placement);
    sim::network_model ref(spec, {0, 1, 1}, placement,
                           sim::stream_seed(seed, sim::seed_stream::links));
    for (auto [peer, node] : {std::pair{p1, 1u}, std::pair{p2, 2u}}) {
      auto base = ref.base_latency(0, node);
      REQUIRE(s.model().base_latency(0, node) == base);
      REQUIRE(base >= 10 * us_per_ms);
      REQUIRE(base <= 90 * us_per_ms);
      time_us last = 0;
      for (int i = 0; i < 200; ++i) {
        std::vector<shaped_copy> out;
        time_us now = 1'000'000 + i * 100'000; // far apart: FIFO never holds one back
        s.shape(peer, now, 0, frame_of(10), out);
        REQUIRE(out.size() == 1);
        auto lat = out[0].release_at - now;
        CHECK(lat >= base);
        CHECK(lat <= base + 2 * us_per_ms);
        CHECK(out[0].release_at >= last);
        last = out[0].release_at;
      }
    }
  }
}

TEST_CASE("live shaper: geographic places match the simulator's", "[sim][shaping]") {
  auto j = two_groups({{"latency",
                        {{"model", "geographic"},
                         {"regions",
                          {{"eu", {{"x_km", 0}, {"y_km", 0}, {"radius_km", 500}}},
                           {"us", {{"x_km", 7000}, {"y_km", 0}, {"radius_km", 1000}}}}},
                         {"access", {{"dist", "uniform"}, {"min", "1ms"}, {"max", "5ms"}}},
                         {"jitter", "0us"}}}});
  auto s = shaper_of(j, 3, 1);
  auto spec = sim::parse_scenario(j.dump(), "test");
  auto placement = sim::stream_rng(3, sim::seed_stream::placement);
  sim::network_model ref(spec, {0, 1, 1}, placement, sim::stream_seed(3, sim::seed_stream::links));
  std::vector<shaped_copy> out;
  s.shape(p0, 0, 0, frame_of(10), out);
  s.shape(p2, 0, 0, frame_of(10), out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].release_at == ref.base_latency(1, 0));
  CHECK(out[1].release_at == ref.base_latency(1, 2));
  CHECK(out[0].release_at > 2 * us_per_ms); // two access delays at least
}

TEST_CASE("live shaper: a partition holds at send and cuts held frames", "[sim][shaping]") {
  auto j =
    two_groups({{"latency", no_delay},
                {"partitions", {{{"between", {"a", "b"}}, {"from", "1s"}, {"until", "2s"}}}}});
  auto s = shaper_of(j);
  std::vector<shaped_copy> out;
  CHECK_FALSE(s.shape(p1, 0, 500 * us_per_ms, frame_of(10), out).dropped);
  CHECK(out.size() == 1);
  CHECK(s.shape(p1, 0, 1500 * us_per_ms, frame_of(10), out).dropped);
  CHECK(s.shape(p2, 0, 1 * us_per_s, frame_of(10), out).dropped);       // the window starts at from
  CHECK_FALSE(s.shape(p1, 0, 2 * us_per_s, frame_of(10), out).dropped); // and ends at until
  CHECK(out.size() == 2);
  CHECK_FALSE(s.cut(p1, 999 * us_per_ms));
  CHECK(s.cut(p1, 1 * us_per_s));
  CHECK(s.cut(p2, 1999 * us_per_ms));
  CHECK_FALSE(s.cut(p2, 2 * us_per_s));
  CHECK_FALSE(s.cut(4242, 1500 * us_per_ms)); // not a node of the scenario
  // Inside group b: no partition.
  auto b = shaper_of(j, 7, 1);
  CHECK_FALSE(b.cut(p2, 1500 * us_per_ms));
  CHECK(b.cut(p0, 1500 * us_per_ms));
}

TEST_CASE("live shaper: truncated copies are shorter, corrupted ones differ", "[sim][shaping]") {
  auto s = shaper_of(two_groups({{"latency", no_delay}, {"faults", {{"truncate", 1.0}}}}));
  std::vector<shaped_copy> out;
  for (int i = 0; i < 50; ++i) {
    auto o = s.shape(p1, i, i, frame_of(200), out);
    CHECK(o.truncated == 1);
  }
  REQUIRE(out.size() == 50);
  for (auto& c : out) {
    CHECK(c.frame.size() < 200);
    auto whole = frame_of(200);
    CHECK(std::equal(c.frame.begin(), c.frame.end(), whole.begin())); // a prefix
  }
  auto k = shaper_of(two_groups({{"latency", no_delay}, {"faults", {{"corrupt", 1.0}}}}));
  out.clear();
  auto o = k.shape(p1, 0, 0, frame_of(200), out);
  CHECK(o.corrupted == 1);
  REQUIRE(out.size() == 1);
  CHECK(out[0].frame.size() == 200);
  CHECK(out[0].frame != frame_of(200));
}

TEST_CASE("live shaper: duplicates give two copies", "[sim][shaping]") {
  auto s = shaper_of(two_groups({{"latency", no_delay}, {"faults", {{"duplicate", 1.0}}}}));
  std::vector<shaped_copy> out;
  auto o = s.shape(p1, 0, 0, frame_of(30), out);
  CHECK(o.duplicated);
  REQUIRE(out.size() == 2);
  CHECK(out[0].frame == frame_of(30));
  CHECK(out[1].frame == frame_of(30));
}

TEST_CASE("live shaper: upload bandwidth spaces releases by size over rate", "[sim][shaping]") {
  // 8 Mbit/s = 1e6 bytes/s: 1000 bytes plus 0 overhead take 1 ms.
  auto j = two_groups({{"latency", no_delay}, {"bandwidth", {{"up", "8Mbit/s"}}}, {"overhead", 0}});
  auto s = shaper_of(j);
  std::vector<shaped_copy> out;
  for (int i = 0; i < 5; ++i) // all sent at once, to two peers: one upload link
    s.shape(i % 2 ? p1 : p2, 0, 0, frame_of(1000), out);
  REQUIRE(out.size() == 5);
  for (int i = 0; i < 5; ++i)
    CHECK(out[i].release_at == (i + 1) * us_per_ms);
  // An idle link starts afresh.
  out.clear();
  s.shape(p1, 100 * us_per_ms, 0, frame_of(500), out);
  CHECK(out[0].release_at == 100 * us_per_ms + 500);
  // The overhead counts like frame bytes.
  j["network"]["overhead"] = 1000;
  auto o = shaper_of(j);
  out.clear();
  o.shape(p1, 0, 0, frame_of(1000), out);
  CHECK(out[0].release_at == 2 * us_per_ms);
}

TEST_CASE("live shaper: links stay FIFO under jitter unless a frame is reordered",
          "[sim][shaping]") {
  auto j = two_groups({{"latency",
                        {{"model", "constant"},
                         {"value", "5ms"},
                         {"jitter", {{"dist", "uniform"}, {"min", "0ms"}, {"max", "20ms"}}}}}});
  auto s = shaper_of(j);
  std::vector<shaped_copy> out;
  for (int i = 0; i < 500; ++i)
    s.shape(p1, i * 100, 0, frame_of(10), out); // 0.1 ms apart, jitter up to 20 ms
  REQUIRE(out.size() == 500);
  for (std::size_t i = 1; i < out.size(); ++i)
    REQUIRE(out[i].release_at >= out[i - 1].release_at);

  // With every frame delayed by the reorder rule, later frames overtake.
  j["network"]["faults"] = {{"reorder", 1.0}, {"reorder_delay", "50ms"}};
  auto r = shaper_of(j);
  out.clear();
  std::uint32_t reordered = 0;
  for (int i = 0; i < 200; ++i)
    reordered += r.shape(p1, i * 100, 0, frame_of(10), out).reordered;
  CHECK(reordered == 200);
  bool overtaken = false;
  for (std::size_t i = 1; i < out.size(); ++i)
    overtaken |= out[i].release_at < out[i - 1].release_at;
  CHECK(overtaken);
}

TEST_CASE("live shaper: unknown peers pass unshaped, bad indices are refused", "[sim][shaping]") {
  auto s = shaper_of(two_groups({{"faults", {{"loss", 1.0}}}}));
  std::vector<shaped_copy> out;
  auto o = s.shape(777, 42, 0, frame_of(10), out);
  CHECK_FALSE(o.dropped);
  REQUIRE(out.size() == 1);
  CHECK(out[0].release_at == 42);
  CHECK(out[0].frame == frame_of(10));
  auto spec = sim::parse_scenario(two_groups(json::object()).dump(), "test");
  CHECK_THROWS_AS(sim::live_shaper(spec, 1, 3, {}), config_error);
  CHECK_THROWS_AS(sim::live_shaper(spec, 1, 0, {{p1, 5}}), config_error);
}
