#include "sim/seed_streams.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace peerlab;
using sim::seed_stream;

namespace {

const seed_stream all_streams[] = {seed_stream::network,     seed_stream::churn,
                                   seed_stream::workload,    seed_stream::placement,
                                   seed_stream::files,       seed_stream::samples,
                                   seed_stream::dht_samples, seed_stream::message_bodies,
                                   seed_stream::links,       seed_stream::live_shaping};

} // namespace

TEST_CASE("seed streams: every stream and node incarnation gets its own seed", "[sim][seed]") {
  for (std::uint64_t run : {1ull, 7ull, 0xfeedull}) {
    std::set<std::uint64_t> seen;
    std::size_t n = 0;
    for (auto s : all_streams)
      for (std::uint64_t sub = 0; sub < 4; ++sub, ++n)
        seen.insert(sim::stream_seed(run, s, sub));
    for (std::uint32_t node = 0; node < 200; ++node)
      for (std::uint32_t inc = 1; inc <= 5; ++inc, ++n)
        seen.insert(sim::node_seed(run, node, inc));
    CHECK(seen.size() == n);
  }
}

TEST_CASE("seed streams: a function of the run seed alone", "[sim][seed]") {
  for (auto s : all_streams) {
    CHECK(sim::stream_seed(42, s, 3) == sim::stream_seed(42, s, 3));
    CHECK(sim::stream_seed(42, s) != sim::stream_seed(43, s));
    auto a = sim::stream_rng(42, s), b = sim::stream_rng(42, s);
    CHECK(a.next() == b.next());
  }
  CHECK(sim::node_seed(42, 5, 2) == sim::node_seed(42, 5, 2));
  CHECK(sim::node_seed(42, 5, 2) != sim::node_seed(43, 5, 2));
  // A restarted node does not replay its past.
  CHECK(sim::node_seed(42, 5, 2) != sim::node_seed(42, 5, 3));
}
