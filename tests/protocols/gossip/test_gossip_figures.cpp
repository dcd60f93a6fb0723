// Propagation figures at 1000 nodes in the harness (hidden: run explicitly with
//   test_proto_gossip "[figures]"
// ). Virtual time only: per-link latency 10-60 ms, no bandwidth or processing
// delay. The simulator's scenario figures are the reference; these are a
// protocol-only cross-check.
#include "gossip_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerlab;

namespace {

struct figures {
  double median_ms, p99_ms, max_ms, duplicates_per_node;
  std::size_t incomplete;
};

figures measure(bool flood) {
  gossip::config cfg;
  cfg.flood = flood;
  gossip_test::harness h(1000, cfg, 1);
  h.random_graph(10);
  h.subscribe_all("t");
  h.run_for(20 * us_per_s);
  const double dup0 = h.total("gossip.duplicates");
  std::vector<std::pair<std::string, time_us>> pubs;
  for (int k = 0; k < 50; ++k) {
    bytes b(256, static_cast<std::uint8_t>(k));
    pubs.push_back({h.publish(static_cast<std::size_t>((k * 137) % 1000), "t", b), h.now()});
    h.run_for(1 * us_per_s);
  }
  h.run_for(5 * us_per_s);
  std::vector<double> to_all;
  figures f{};
  for (auto& [id, t0] : pubs) {
    time_us last = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
      auto& fd = h.at(i).first_delivery;
      if (auto it = fd.find(id); it != fd.end()) {
        ++n;
        last = std::max(last, it->second - t0);
      }
    }
    f.incomplete += n != h.size();
    to_all.push_back(static_cast<double>(last) / us_per_ms);
  }
  std::sort(to_all.begin(), to_all.end());
  f.median_ms = to_all[to_all.size() / 2];
  f.p99_ms = to_all[to_all.size() * 99 / 100];
  f.max_ms = to_all.back();
  f.duplicates_per_node = (h.total("gossip.duplicates") - dup0) / (50.0 * 1000);
  return f;
}

} // namespace

TEST_CASE("gossip propagation figures at 1000 nodes, mesh against flooding",
          "[.][figures][gossip]") {
  auto mesh = measure(false);
  auto flood = measure(true);
  WARN("gossipsub D=6: time to all median "
       << mesh.median_ms << " ms, p99 " << mesh.p99_ms << " ms, max " << mesh.max_ms
       << " ms, duplicates per node per message " << mesh.duplicates_per_node);
  WARN("flooding:      time to all median "
       << flood.median_ms << " ms, p99 " << flood.p99_ms << " ms, max " << flood.max_ms
       << " ms, duplicates per node per message " << flood.duplicates_per_node);
  CHECK(mesh.incomplete == 0);
  CHECK(flood.incomplete == 0);
  CHECK(flood.duplicates_per_node > mesh.duplicates_per_node);
}
