#include "sim_helpers.hpp"

#include "protocols/common/config_fields.hpp"
#include "sim/fuzz.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace peerlab;
using nlohmann::json;

namespace {

std::string error_of(const json& j) {
  try {
    sim::parse_scenario(j.dump(), "test");
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

json with_fuzz() {
  auto j = test::small_transfer();
  j["fuzz"] = {{"invariants", {"no_corrupt_accepted", "downloads_end"}},
               {"faults", {{"loss", {0.01, 0.2}}, {"corrupt", 0.05}}},
               {"partitions", {{"count", {1, 3}}, {"length", {"5s", "20s"}}}},
               {"churn",
                {{"groups", {"leechers"}},
                 {"chance", 1.0},
                 {"session", {"30s", "60s"}},
                 {"downtime", "5s"},
                 {"crash", {0, 1}}}},
               {"adversaries", {{"bad", {"truncate_content", "silent", "honest"}}}}};
  return j;
}

} // namespace

TEST_CASE("fuzz section errors name the JSON path", "[sim][fuzz]") {
  auto j = with_fuzz();
  CHECK(error_of(j) == "(no error)");

  j = with_fuzz();
  j["fuzz"]["invariants"][1] = "download_succes";
  CHECK(error_of(j) == "fuzz.invariants[1]: expected the check of one of the scenario's "
                       "checkers, got \"download_succes\"");

  j = with_fuzz();
  j["fuzz"]["faults"]["loss"] = {0.3, 0.1};
  CHECK(error_of(j) == "fuzz.faults.loss: the high end 0.1 is below the low end 0.3");

  j = with_fuzz();
  j["fuzz"]["faults"]["loss"] = {0, 1.5};
  CHECK(error_of(j).rfind("fuzz.faults.loss[1]: expected a probability", 0) == 0);

  j = with_fuzz();
  j["fuzz"]["faults"]["jitter"] = 0.1;
  CHECK(error_of(j).rfind("fuzz.faults.jitter: unknown field", 0) == 0);

  j = with_fuzz();
  j["fuzz"]["churn"]["groups"] = {"leechers", "nobody"};
  CHECK(error_of(j) == "fuzz.churn.groups[1]: expected the name of a group, got \"nobody\"");

  j = with_fuzz();
  j["fuzz"]["adversaries"]["bad"] = {"silent", "lazy"};
  CHECK(error_of(j) == "fuzz.adversaries.bad[1]: expected \"honest\" or a known adversary, got "
                       "\"lazy\"");

  j = with_fuzz();
  j["fuzz"]["partitions"]["length"] = {"0s", "1s"};
  CHECK(error_of(j) == "fuzz.partitions.length: expected positive durations, got [\"0s\",\"1s\"]");
}

TEST_CASE("a fuzz draw is a pure function of (scenario, fuzz seed, run) within the ranges",
          "[sim][fuzz]") {
  auto doc = with_fuzz();
  auto s = sim::parse_scenario(doc.dump(), "test");
  auto spec = sim::fuzz_spec_of(s);
  CHECK(spec.invariants == std::vector<std::string>{"no_corrupt_accepted", "downloads_end"});

  CHECK(sim::draw_scenario(doc, s, spec, 9, 4) == sim::draw_scenario(doc, s, spec, 9, 4));
  CHECK(sim::draw_scenario(doc, s, spec, 9, 4)["seed"] !=
        sim::draw_scenario(doc, s, spec, 9, 5)["seed"]);
  CHECK(sim::draw_scenario(doc, s, spec, 9, 4)["seed"] !=
        sim::draw_scenario(doc, s, spec, 10, 4)["seed"]);

  int loss_on = 0, loss_off = 0;
  std::set<std::string> adversaries;
  for (std::uint64_t i = 0; i < 200; ++i) {
    auto d = sim::draw_scenario(doc, s, spec, 1, i);
    auto drawn = sim::parse_scenario(d.dump(), "drawn"); // every draw is a valid scenario
    double loss = drawn.faults.loss;
    if (loss == 0)
      ++loss_off;
    else
      ++loss_on;
    CHECK((loss == 0 || (loss >= 0.01 && loss <= 0.2)));
    CHECK((drawn.faults.corrupt == 0 || drawn.faults.corrupt == Approx(0.05)));
    CHECK(drawn.faults.truncate == Approx(0.01)); // no range given: as written
    REQUIRE(drawn.partitions.size() >= 1);
    REQUIRE(drawn.partitions.size() <= 3);
    for (auto& p : drawn.partitions) {
      CHECK(p.until - p.from >= 5 * us_per_s - 1);
      CHECK(p.until - p.from <= 20 * us_per_s + 1);
      CHECK(p.a != p.b);
    }
    REQUIRE(drawn.churn.size() == 1); // chance 1 for the one listed group
    CHECK(drawn.churn[0].group == "leechers");
    adversaries.insert(drawn.find_group("bad")->adversary);
  }
  // Swarm testing: each fault is sometimes off entirely.
  CHECK(loss_on > 50);
  CHECK(loss_off > 50);
  CHECK(adversaries == std::set<std::string>{"", "truncate_content", "silent"});
}

TEST_CASE("without a fuzz section the invariants are the known ones the scenario checks",
          "[sim][fuzz]") {
  auto s = sim::parse_scenario(test::small_transfer().dump(), "test");
  auto spec = sim::fuzz_spec_of(s);
  CHECK(spec.invariants == std::vector<std::string>{"no_corrupt_accepted", "downloads_end"});
  CHECK(spec.faults.size() == 5);
  CHECK(spec.churn_groups.size() == 3);
}

TEST_CASE("shrink candidates each remove one thing and stay valid scenarios", "[sim][fuzz]") {
  auto doc = with_fuzz();
  auto s = sim::parse_scenario(doc.dump(), "test");
  auto drawn = sim::draw_scenario(doc, s, sim::fuzz_spec_of(s), 3, 0);
  auto parts = drawn["network"]["partitions"].size();
  auto cands = sim::shrink_candidates(drawn);
  REQUIRE(cands.size() >= parts + 4);
  for (std::size_t i = 0; i < parts; ++i) {
    CHECK(cands[i].doc["network"]["partitions"].size() == parts - 1);
    CHECK(cands[i].what == "partition " + std::to_string(i) + " removed");
  }
  bool halved = false, shorter = false;
  for (auto& c : cands) {
    CHECK(c.doc != drawn);
    CHECK_NOTHROW(sim::parse_scenario(c.doc.dump(), "candidate"));
    halved = halved || c.what == "group leechers 12 -> 6 nodes";
    shorter = shorter || c.what == "duration 5m00s -> 2m30s";
  }
  CHECK(halved);
  CHECK(shorter);
  // Nothing left to remove from a one-node, fault-free, one-second scenario.
  json tiny = {{"groups", {{{"name", "g"}, {"count", 1}}}}, {"duration", "1s"}};
  CHECK(sim::shrink_candidates(tiny).empty());
}
