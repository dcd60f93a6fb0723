// Downloads whose providers are found through the DHT.
#include "dht_test_scenarios.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("dht: downloaders find providers through the DHT and complete downloads", "[sim][dht]") {
  auto j = nlohmann::json::parse(R"({
    "name": "dht_downloads", "seed": 9, "duration": "10m",
    "groups": [
      {"name": "boot", "count": 3, "roles": ["kad"]},
      {"name": "seeders", "count": 40, "roles": ["kad", "provider"], "start_spread": "30s"},
      {"name": "leechers", "count": 10, "roles": ["kad", "downloader", "client"], "start_spread": "30s"}
    ],
    "network": {"latency": {"model": "uniform", "min": "10ms", "max": "50ms"},
                "bandwidth": {"up": "20Mbit/s", "down": "50Mbit/s"}},
    "workload": [
      {"kind": "files", "name": "media", "count": 8, "size": "200KiB", "providers": ["seeders"], "replicas": 3},
      {"kind": "dht",
       "bootstrap": {"group": "boot", "peers": 2},
       "provide": {"files": "media", "at": "2m", "spread": "20s"},
       "downloads": {"group": "leechers", "files": "media", "start": "4m", "stop": "8m",
                     "interval": {"dist": "exponential", "mean": "30s"}, "max_per_node": 2}}
    ],
    "checkers": [{"check": "dht_lookups_end"}, {"check": "no_corrupt_accepted"},
                 {"check": "download_success", "min": 1.0}]
  })");
  auto r = test::run_dht(j, [](const sim::simulator& s, const sim::dht::driver& d) {
    CHECK(d.puts_done() == 24); // 8 files x 3 holders
    CHECK(d.download_lookups().issued == 20);
    CHECK(d.download_lookups().succeeded == 20);
    CHECK(d.downloads_issued() == 20);
    CHECK(d.downloads_without_providers() == 0);
    auto& dl = sim::filexfer_sim::outcomes_of(s);
    CHECK(dl.started == 20);
    CHECK(dl.completed == 20);
    CHECK(dl.failed == 0);
    CHECK(dl.corrupt_accepted == 0);
  });
  CHECK(test::dht_all_passed(r.verdicts));
}

TEST_CASE("dht: a file nobody provides ends its lookup without a download", "[sim][dht]") {
  auto j = nlohmann::json::parse(R"({
    "name": "dht_unprovided", "seed": 4, "duration": "5m",
    "groups": [
      {"name": "boot", "count": 2, "roles": ["kad"]},
      {"name": "seeders", "count": 10, "roles": ["kad", "provider"]},
      {"name": "leechers", "count": 4, "roles": ["kad", "downloader", "client"]}
    ],
    "network": {"latency": {"model": "uniform", "min": "10ms", "max": "30ms"}},
    "workload": [
      {"kind": "files", "name": "media", "count": 2, "size": "10KiB", "providers": ["seeders"], "replicas": 1},
      {"kind": "dht",
       "bootstrap": {"group": "boot", "peers": 1},
       "downloads": {"group": "leechers", "files": "media", "start": "1m",
                     "interval": {"dist": "constant", "value": "10s"}}}
    ],
    "checkers": [{"check": "dht_lookups_end"}, {"check": "no_corrupt_accepted"}]
  })");
  auto r = test::run_dht(j, [](const sim::simulator& s, const sim::dht::driver& d) {
    CHECK(d.download_lookups().ended == 4);
    CHECK(d.download_lookups().succeeded == 0);
    CHECK(d.download_lookups().hops.count() == 4);
    CHECK(d.downloads_without_providers() == 4);
    CHECK(sim::filexfer_sim::outcomes_of(s).started == 0);
  });
  CHECK(test::dht_all_passed(r.verdicts));
}

TEST_CASE("dht: downloads are the client's fetch, so the group must run the client role",
          "[sim][dht]") {
  auto j = nlohmann::json::parse(R"({
    "name": "dht_no_client", "seed": 4, "duration": "5m",
    "groups": [
      {"name": "boot", "count": 2, "roles": ["kad"]},
      {"name": "leechers", "count": 4, "roles": ["kad", "downloader"]}
    ],
    "workload": [
      {"kind": "files", "name": "media", "count": 2, "size": "10KiB", "providers": ["boot"]},
      {"kind": "dht", "bootstrap": {"group": "boot", "peers": 1},
       "downloads": {"group": "leechers", "files": "media"}}
    ]
  })");
  try {
    sim::parse_scenario(j.dump(), "test");
    FAIL("a downloads group without the client role was accepted");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("does not run the client role") != std::string::npos);
  }
}
