// The browser CDN in the simulator (scenarios/cdn_*.json, shrunk): its
// checkers pass on the pinned scenarios and fail when what they check is
// absent; proximity pairing beats first-come on pair RTT; jitter flattens the
// reconnect storm.
#include "sim/summary.hpp"
#include "tests/sim/sim_helpers.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json scenario_file(const std::string& name) {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/scenarios/" + name);
  return json::parse(in);
}

void set_count(json& j, const std::string& group, int n) {
  for (auto& g : j["groups"])
    if (g["name"] == group)
      g["count"] = n;
}

struct result {
  std::vector<sim::verdict> verdicts;
  json cdn;
};

result run(const json& j) {
  sim::simulator s(test::parse(j), sim::sim_options{});
  s.run();
  return {sim::evaluate_checkers(s), sim::summarize(s, 0)["cdn"]};
}

const sim::verdict& verdict_of(const result& r, const std::string& check) {
  for (auto& x : r.verdicts)
    if (x.check == check)
      return x;
  throw std::runtime_error("no verdict for " + check);
}

} // namespace

TEST_CASE("cdn: liars are evicted, stallers passed by, no corrupt resource used", "[sim][cdn]") {
  auto r = run(scenario_file("cdn_corrupt.json"));
  for (auto& v : r.verdicts) {
    INFO(v.check << ": " << v.detail);
    CHECK(v.passed);
  }
  CHECK(r.cdn["corrupt_used"] == 0);
  CHECK(r.cdn["bad_byte_evictions"].get<int>() > 0);
  CHECK(r.cdn["loads_done"] == 230);
}

TEST_CASE("cdn: the checkers fail when what they check is missing", "[sim][cdn]") {
  auto j = scenario_file("cdn_proximity.json");
  set_count(j, "browsers", 60);
  j["checkers"] = json::array({{{"check", "cdn_offload"}, {"min", 0.999}},
                               {{"check", "cdn_liars_evicted"}},
                               {{"check", "cdn_settles"}},
                               {{"check", "cdn_no_corrupt_use"}}});
  auto r = run(j);
  CHECK_FALSE(verdict_of(r, "cdn_offload").passed);       // the first clients use the origin
  CHECK_FALSE(verdict_of(r, "cdn_liars_evicted").passed); // there are no liars
  CHECK(verdict_of(r, "cdn_settles").detail == "the server never restarted");
  CHECK_FALSE(verdict_of(r, "cdn_settles").passed);
  CHECK(verdict_of(r, "cdn_no_corrupt_use").passed);

  // An origin too slow for the fetch timeout: fetches fail and the checker says so.
  for (auto& g : j["groups"]) {
    if (g["name"] == "server")
      g["bandwidth"] = {{"up", "200kbit/s"}, {"down", "200kbit/s"}};
    if (g["name"] == "browsers")
      g["roles"][0]["fetch_timeout"] = "3s";
  }
  j["checkers"] = json::array({{{"check", "cdn_fetches_end"}}});
  auto slow = run(j);
  CHECK(slow.cdn["fetches_failed"].get<int>() > 0);
  CHECK_FALSE(verdict_of(slow, "cdn_fetches_end").passed);
}

TEST_CASE("cdn: proximity pairing gives shorter pairs than first-come", "[sim][cdn]") {
  auto near = scenario_file("cdn_proximity.json");
  auto fifo = scenario_file("cdn_first_come.json");
  set_count(near, "browsers", 300);
  set_count(fifo, "browsers", 300);
  auto a = run(near), b = run(fifo);
  INFO(a.cdn["pair_base_rtt_ms"].dump() << " vs " << b.cdn["pair_base_rtt_ms"].dump());
  CHECK(a.cdn["pair_base_rtt_ms"]["p50"].get<double>() * 2 <
        b.cdn["pair_base_rtt_ms"]["p50"].get<double>());
}

TEST_CASE("cdn: full jitter flattens the reconnect storm after a server restart", "[sim][cdn]") {
  auto calm = scenario_file("cdn_storm_jitter.json");
  auto storm = scenario_file("cdn_storm_no_jitter.json");
  set_count(calm, "browsers", 1000);
  set_count(storm, "browsers", 1000);
  auto a = run(calm), b = run(storm);
  for (auto* r : {&a, &b})
    CHECK(verdict_of(*r, "cdn_settles").passed);
  const double jittered = a.cdn["server"]["peak_after_restart"].get<double>();
  const double synced = b.cdn["server"]["peak_after_restart"].get<double>();
  INFO(jittered << " vs " << synced);
  CHECK(jittered * 1.5 < synced);
}
