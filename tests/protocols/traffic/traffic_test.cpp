#include "tests/kit/no_content.hpp"
#include "protocols/common/memory_store.hpp"
#include "protocols/traffic/traffic.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("traffic frames round trip and every truncation is rejected", "[traffic]") {
  auto f = traffic::encode_hop(7, 64);
  REQUIRE(f.size() == 64);
  std::uint32_t hops = 0;
  REQUIRE(traffic::decode_hop(f, hops));
  CHECK(hops == 7);
  for (std::size_t cut = 0; cut < f.size(); ++cut) {
    INFO(cut);
    CHECK_FALSE(traffic::decode_hop(byte_view{f.data(), cut}, hops));
  }
  f[0] = ports::kad;
  CHECK_FALSE(traffic::decode_hop(f, hops));
}

TEST_CASE("the traffic role forwards to another node and counts rejected frames", "[traffic]") {
  memory_store kv; // the traffic role stores nothing
  test_kit::no_content content;
  rng r(3);
  context ctx{0, 5, r, kv, content, {}};
  auto role = traffic::make_traffic({10, 2, 32, 3});
  effects fx;
  role->start(ctx, fx);
  REQUIRE(fx.frames.size() == 2);
  for (auto& f : fx.frames)
    CHECK((f.to != 5 && f.to < 10));
  fx.clear();
  role->frame(ctx, 1, traffic::encode_hop(1, 32), fx);
  CHECK(fx.frames.size() == 1); // hop 2 < ttl 3: forwarded
  fx.clear();
  role->frame(ctx, 1, traffic::encode_hop(2, 32), fx);
  CHECK(fx.frames.empty()); // ttl reached
  fx.clear();
  auto bad = traffic::encode_hop(1, 32);
  bad.pop_back();
  role->frame(ctx, 1, bad, fx);
  REQUIRE(fx.metrics.size() == 1);
  CHECK(std::string(fx.metrics[0].name) == "frames_rejected");
}
