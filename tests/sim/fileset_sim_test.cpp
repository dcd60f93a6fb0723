// The "fileset" workload driver and its checkers in the simulator.
#include "protocols/registry.hpp"
#include "sim/summary.hpp"
#include "sim_helpers.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using namespace peerlab;

namespace {

json group(const std::string& name, int count, const std::string& adversary = "") {
  json g = {{"name", name}, {"count", count}, {"roles", {"fileset"}}};
  if (!adversary.empty())
    g["adversary"] = adversary;
  return g;
}

/// A small replicated-file-set scenario; `extra` groups join the workload.
json fileset_scenario(std::vector<json> extra, json checkers) {
  json groups = json::array({group("publishers", 3), group("replicas", 30)});
  json names = json::array({"publishers", "replicas"});
  for (auto& g : extra) {
    groups.push_back(g);
    names.push_back(g["name"]);
  }
  return {{"name", "fileset_small"},
          {"seed", 9},
          {"duration", "70s"},
          {"groups", groups},
          {"network",
           {{"latency", {{"model", "lognormal"}, {"median", "30ms"}, {"sigma", 0.4}}},
            {"bandwidth", {{"up", "20Mbit/s"}, {"down", "50Mbit/s"}}}}},
          {"workload",
           {{{"kind", "fileset"},
             {"groups", names},
             {"publishers", "publishers"},
             {"degree", 6},
             {"sets", 3},
             {"files_per_set", 6},
             {"file_size", "512B"},
             {"large_share", 0.2},
             {"large_size", "100KiB"},
             {"start", "3s"},
             {"set_interval", "4s"},
             {"settle", "15s"},
             {"client_fetches", 150},
             {"client_start", "30s"},
             {"client_interval", "100ms"}}}},
          {"checkers", checkers}};
}

struct result {
  std::vector<sim::verdict> verdicts;
  json summary;
  std::string fingerprint;
  std::map<std::string, std::vector<double>> counters; // per group, in group order
};

result run(const json& j, sim::engine eng = sim::engine::actors) {
  sim::sim_options o;
  o.eng = eng;
  sim::simulator s(test::parse(j), o);
  s.run();
  result r{sim::evaluate_checkers(s), sim::summarize(s, 0), s.chain().hex(), {}};
  for (auto& [name, per_group] : s.stats().counters())
    r.counters[name] = {per_group.begin(), per_group.end()};
  return r;
}

const sim::verdict& verdict_of(const result& r, const std::string& check) {
  for (auto& v : r.verdicts)
    if (v.check == check)
      return v;
  FAIL("no verdict " << check);
  return r.verdicts.front();
}

} // namespace

TEST_CASE("fileset sim: with a third of nodes serving corrupted files the client rejects them and "
          "never accepts one") {
  auto j = fileset_scenario(
    {group("corrupt", 15, "corrupt_content"), group("bad_proofs", 5, "corrupt_proof")},
    {{{"check", "fileset_converged"}},
     {{"check", "fileset_no_corrupt_accepted"}, {"min_rejected", 20}, {"min_verified", 50}}});
  auto r = run(j);
  for (auto& v : r.verdicts)
    INFO(v.check << ": " << v.detail);
  CHECK(verdict_of(r, "fileset_converged").passed);
  CHECK(verdict_of(r, "fileset_no_corrupt_accepted").passed);
  auto& f = r.summary["fileset"];
  CHECK(f["client_corrupt_accepted"] == 0);
  CHECK(f["client_fetches"] == 150);
  CHECK(f["client_rejected"].get<int>() >= 20);
  CHECK(f["client_verified"].get<int>() + f["client_rejected"].get<int>() +
          f["client_failed"].get<int>() ==
        150);
  CHECK(f["files_published"] == 18);
  // Rejections come from the adversaries only (groups 2 and 3): honest groups never fail
  // verification.
  auto& rejected = r.counters["fileset.client_rejected"];
  REQUIRE(rejected.size() == 4);
  CHECK(rejected[0] == 0);
  CHECK(rejected[1] == 0);
  CHECK(rejected[2] > 0);
  CHECK(rejected[3] > 0);
  auto& verified = r.counters["fileset.client_verified"];
  CHECK(verified[2] == 0); // a corrupt_content node never serves a file that verifies
  CHECK(verified[3] == 0);
}

TEST_CASE("fileset sim: late joiners and churning nodes back-sync, the run is deterministic and "
          "engines agree") {
  json late = group("late", 8);
  late["start"] = "40s";
  late["start_spread"] = "10s";
  auto j =
    fileset_scenario({late, group("churners", 8)}, {{{"check", "fileset_converged"}},
                                                    {{"check", "fileset_no_corrupt_accepted"}}});
  j["churn"] = {{{"group", "churners"},
                 {"session", {{"dist", "exponential"}, {"mean", "15s"}}},
                 {"downtime", {{"dist", "exponential"}, {"mean", "5s"}}},
                 {"crash", 0.5}}};
  auto a = run(j);
  for (auto& v : a.verdicts)
    INFO(v.check << ": " << v.detail);
  CHECK(test::all_passed(a.verdicts));
  auto& c = a.summary["counters"];
  REQUIRE(c.contains("fileset.manifests_adopted"));
  CHECK(c["fileset.manifests_adopted"].get<double>() >= 8);
  auto b = run(j);
  CHECK(a.fingerprint == b.fingerprint);
  auto d = run(j, sim::engine::direct);
  CHECK(a.fingerprint == d.fingerprint);
}

TEST_CASE("fileset sim: the checkers fail when a node never gets the sets or no file verifies") {
  // An isolated group is cut off from everyone for the whole run.
  auto j = fileset_scenario({group("isolated", 2)},
                            {{{"check", "fileset_converged"}}, {{"check", "fileset_propagation"}}});
  j["network"]["partitions"] = {{{"between", {"isolated", "publishers"}}},
                                {{"between", {"isolated", "replicas"}}}};
  auto r = run(j);
  auto& conv = verdict_of(r, "fileset_converged");
  CHECK_FALSE(conv.passed);
  CHECK(conv.detail.find("has not completed") != std::string::npos);
  CHECK_FALSE(verdict_of(r, "fileset_propagation").passed);

  // Every node corrupts what it serves: nothing verifies.
  auto k = fileset_scenario({}, {{{"check", "fileset_no_corrupt_accepted"}, {"min_verified", 1}}});
  for (auto& g : k["groups"])
    g["adversary"] = "corrupt_content";
  auto s = run(k);
  auto& nc = verdict_of(s, "fileset_no_corrupt_accepted");
  CHECK_FALSE(nc.passed);
  CHECK(nc.detail.find("0 corrupted files accepted; 0 verified") != std::string::npos);
}

TEST_CASE("fileset sim: workload errors name the path and the problem") {
  auto bad = [](auto edit, const std::string& words) {
    auto j = fileset_scenario({}, json::array());
    edit(j["workload"][0]);
    try {
      test::parse(j);
      FAIL("accepted");
    } catch (const config_error& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(words) != std::string::npos);
    }
  };
  bad([](json& w) { w.erase("groups"); }, "needs \"groups\"");
  bad([](json& w) { w["groups"] = {"publishers", "nope"}; }, "workload[0].groups[1]");
  bad([](json& w) { w["publishers"] = "nope"; }, "workload[0].publishers");
  bad([](json& w) { w["groups"] = {"replicas"}; }, "one of the groups listed");
  bad([](json& w) { w["degree"] = 0; }, "workload[0].degree");
  bad([](json& w) { w["file_size"] = "65MiB"; }, "up to 64MiB");
  bad([](json& w) { w["surprise"] = 1; }, "surprise");
}
