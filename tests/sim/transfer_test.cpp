#include "sim_helpers.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("downloads complete under loss and truncation and a corrupting provider is detected",
          "[sim][filexfer]") {
  auto r = test::run(test::small_transfer());
  auto& d = r.downloads;
  CHECK(d.started >= 15);
  CHECK(d.completed + d.failed == d.started);
  CHECK(d.completed >= d.started * 9 / 10);
  CHECK(d.corrupt_detected >= 1);
  CHECK(d.corrupt_accepted == 0);
  CHECK(r.stats.net.truncated > 0);
  CHECK(r.stats.counter("frames_rejected") >= 1); // truncated frames hit the real codec
  CHECK(test::all_passed(r.verdicts));
}

TEST_CASE("every frame truncated: codecs reject them all and nothing is accepted",
          "[sim][faults]") {
  auto j = test::small_transfer();
  j["network"]["faults"] = {{"truncate", 1.0}};
  auto r = test::run(j);
  CHECK(r.stats.net.truncated == r.stats.net.sent);
  CHECK(r.downloads.completed == 0);
  CHECK(r.downloads.corrupt_accepted == 0);
  // Every delivered frame was either empty (routing) or rejected by a codec.
  CHECK(r.stats.net.rejected_routing +
          static_cast<std::uint64_t>(r.stats.counter("frames_rejected")) ==
        r.stats.net.rejected_routing + r.stats.net.delivered);
}

TEST_CASE("every frame corrupted: no corrupt file is ever accepted", "[sim][faults]") {
  auto j = test::small_transfer();
  j["network"]["faults"] = {{"corrupt", 1.0}};
  auto r = test::run(j);
  CHECK(r.stats.net.corrupted > 0);
  CHECK(r.downloads.corrupt_accepted == 0);
  CHECK(r.downloads.done_without_commit == 0);
}

TEST_CASE("a failing checker is reported as failed", "[sim][checkers]") {
  auto j = test::small_transfer();
  j["network"]["faults"] = {{"loss", 1.0}};
  auto r = test::run(j);
  bool success_failed = false;
  for (auto& v : r.verdicts)
    if (v.check == "download_success")
      success_failed = !v.passed;
  CHECK(success_failed);
}

TEST_CASE("bandwidth: 64 MiB over a 10 Mbit/s upload takes about 54 virtual seconds",
          "[sim][network]") {
  nlohmann::json j = {
    {"name", "bw"},
    {"duration", "10m"},
    {"groups",
     {{{"name", "src"}, {"count", 1}, {"roles", {"provider"}}, {"bandwidth", {{"up", "10Mbit/s"}}}},
      {{"name", "dst"}, {"count", 1}, {"roles", {"downloader"}}}}},
    {"network", {{"latency", {{"model", "constant"}, {"value", "10ms"}}}, {"overhead", 0}}},
    {"workload",
     {{{"kind", "files"}, {"name", "big"}, {"count", 1}, {"size", "64MiB"}, {"providers", {"src"}}},
      {{"kind", "downloads"},
       {"group", "dst"},
       {"files", "big"},
       {"interval", "1s"},
       {"max_per_node", 1}}}}};
  auto r = test::run(j);
  REQUIRE(r.downloads.completed == 1);
  double secs = r.downloads.duration_us.quantile(0.5) / 1e6;
  // 64 MiB * 8 / 10 Mbit/s = 53.7 s of serialisation, plus request round trips.
  CHECK(secs > 53.5);
  CHECK(secs < 60.0);
}

TEST_CASE("a partition between providers and downloaders stops every transfer", "[sim][network]") {
  auto j = test::small_transfer(4, 6, false);
  j["network"]["partitions"] = {{{"between", {"seeders", "leechers"}}, {"from", "0s"}}};
  auto r = test::run(j);
  CHECK(r.stats.net.lost_partition > 0);
  CHECK(r.downloads.completed == 0);
  CHECK(r.downloads.failed == r.downloads.started);
}

TEST_CASE("a one-way partition drops only one direction", "[sim][network]") {
  auto j = test::small_transfer(4, 6, false);
  // Requests from leechers reach seeders; answers never come back.
  j["network"]["partitions"] = {{{"between", {"seeders", "leechers"}}, {"direction", "a_to_b"}}};
  auto r = test::run(j);
  CHECK(r.stats.net.lost_partition > 0);
  CHECK(r.downloads.completed == 0);
  CHECK(r.stats.net.delivered > 0); // the requests were delivered
}

TEST_CASE("a partition that heals lets later downloads complete", "[sim][network]") {
  auto j = test::small_transfer(4, 6, false);
  j["network"]["partitions"] = {
    {{"between", {"seeders", "leechers"}}, {"from", "0s"}, {"until", "40s"}}};
  auto r = test::run(j);
  CHECK(r.stats.net.lost_partition > 0);
  CHECK(r.downloads.completed > 0);
}

TEST_CASE("geographic latency: distant regions make downloads slower", "[sim][network]") {
  auto geo = [](double far_km) {
    auto j = test::small_transfer(3, 6, false);
    j["network"]["latency"] = {{"model", "geographic"},
                               {"regions",
                                {{"near", {{"x_km", 0}, {"y_km", 0}, {"radius_km", 100}}},
                                 {"far", {{"x_km", far_km}, {"y_km", 0}, {"radius_km", 100}}}}},
                               {"km_per_ms", 100},
                               {"access", "2ms"}};
    j["groups"][0]["region"] = "far";
    j["groups"][1]["region"] = "near";
    j["network"]["faults"] = nlohmann::json::object();
    return test::run(j).downloads.duration_us.quantile(0.5);
  };
  CHECK(geo(15000) > geo(100) * 2);
}
