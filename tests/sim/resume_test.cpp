// Crash recovery in the simulator: a downloader that crashes mid-download
// resumes from its verified prefix (PartialDownloads row + the partial sink
// the crash left), and a download whose providers all went down retries them
// until its deadline.
#include "sim_helpers.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

namespace {

// 16 MiB files over 20 Mbit/s links take ~7 s; leechers crash every 4 s.
nlohmann::json crashing_leechers(const char* checkpoint) {
  auto j = test::small_transfer(3, 4, false);
  j["network"]["faults"] = nlohmann::json::object();
  j["groups"][1]["roles"][0]["checkpoint"] = checkpoint;
  j["workload"][0]["size"] = "16MiB";
  j["workload"][0]["count"] = 4;
  j["workload"][1]["max_per_node"] = 1;
  j["churn"] = {{{"group", "leechers"},
                 {"session", {{"dist", "constant"}, {"value", "4s"}}},
                 {"downtime", {{"dist", "constant"}, {"value", "1s"}}},
                 {"crash", 1.0}}};
  j["checkers"] = {{{"check", "no_corrupt_accepted"}}};
  return j;
}

} // namespace

TEST_CASE("a crashed downloader resumes from its verified prefix and completes", "[sim][resume]") {
  auto with = test::run(crashing_leechers("1MiB"));
  CHECK(with.stats.crashes > 10);
  CHECK(with.downloads.resumed > 0);
  CHECK(with.downloads.completed == 4); // every leecher got its file across the crashes
  CHECK(with.downloads.corrupt_accepted == 0);
  CHECK(test::all_passed(with.verdicts));
  // Without checkpoints every restart begins at byte 0 and no 7 s download
  // fits in a 4 s session.
  auto without = test::run(crashing_leechers("0B"));
  CHECK(without.downloads.resumed > 0);
  CHECK(without.downloads.completed == 0);
}

TEST_CASE("resuming is deterministic with both engines", "[sim][resume]") {
  auto j = crashing_leechers("1MiB");
  auto a = test::run(j, sim::engine::actors), b = test::run(j, sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.downloads.resumed == b.downloads.resumed);
}

TEST_CASE("a download whose providers all went down retries them until its deadline",
          "[sim][resume]") {
  auto j = test::small_transfer(2, 4, false);
  j["network"]["faults"] = nlohmann::json::object();
  j["workload"][0]["replicas"] = 2;
  j["workload"][0]["size"] = "4MiB";
  j["workload"][1]["max_per_node"] = 1;
  // Seeders are down 20 s out of every 26 s: a download meets them gone.
  j["churn"] = {{{"group", "seeders"},
                 {"session", {{"dist", "constant"}, {"value", "6s"}}},
                 {"downtime", {{"dist", "constant"}, {"value", "20s"}}},
                 {"crash", 1.0}}};
  j["checkers"] = {{{"check", "no_corrupt_accepted"}}};
  auto no_retry = test::run(j);
  j["groups"][1]["roles"][0]["retry_deadline"] = "2m";
  auto retry = test::run(j);
  CHECK(no_retry.downloads.failed > 0);
  std::string reasons;
  for (auto& [why, n] : retry.downloads.failure_reasons)
    reasons += why + "; ";
  INFO(reasons);
  CHECK(retry.downloads.failed == 0);
  CHECK(retry.downloads.completed == 4);
  CHECK(retry.downloads.corrupt_accepted == 0);
}
