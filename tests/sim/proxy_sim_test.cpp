// The paid HTTP proxy in the simulator (scenarios/proxy_market.json): its
// checkers pass with their pinned seed, report each cheater's gain against
// its bound, and fail when the protocol's parameters are set so that honest
// clients get cut off or a cheating provider is paid without being left.
#include "sim/summary.hpp"
#include "tests/sim/sim_helpers.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json proxy_scenario() {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/scenarios/proxy_market.json");
  return json::parse(in);
}

const sim::verdict& verdict_of(const std::vector<sim::verdict>& v, const std::string& check) {
  for (auto& x : v)
    if (x.check == check)
      return x;
  throw std::runtime_error("no verdict for " + check);
}

std::string failed(const std::vector<sim::verdict>& v) {
  std::string out;
  for (auto& x : v)
    if (!x.passed)
      out += x.check + ": " + x.detail + "\n";
  return out;
}

// Sets `key` of every role named `role`, in every group.
void set_param(json& j, const std::string& role, const std::string& key, json value) {
  for (auto& g : j["groups"])
    for (auto& r : g["roles"])
      if (r.is_object() && r["role"] == role)
        r[key] = value;
}

} // namespace

TEST_CASE("proxy market: honest pairs settle, cheaters are cut off within their bounds",
          "[sim][proxy]") {
  sim::simulator s(test::parse(proxy_scenario()), sim::sim_options{});
  s.run();
  auto v = sim::evaluate_checkers(s);
  INFO(failed(v));
  CHECK(test::all_passed(v));
  auto p = sim::summarize(s, 0)["proxy"];
  CHECK(p["honest_pairs"].get<int>() >= 24);
  CHECK(p["honest_false_cutoffs"].get<int>() == 0);
  CHECK(p["settle_frames_per_mb"].get<double>() > 0);
  for (auto who : {"under_reports", "stops_paying", "over_reports", "drops_after_paid"}) {
    INFO(who);
    auto c = p["cheaters"][who];
    REQUIRE(c.is_object());
    CHECK(c["pairs"].get<int>() > 0);
    CHECK(c["cut_off"] == c["pairs"]);
    CHECK(c["max_gain_over_bound"].get<double>() <= 1.0);
  }
  // The clients that stopped paying did take something before the cut-off.
  CHECK(p["cheaters"]["stops_paying"]["gain"].get<double>() > 0);
}

TEST_CASE("proxy market: a credit window below one payment round cuts honest clients off",
          "[sim][proxy]") {
  auto j = proxy_scenario();
  set_param(j, "proxy_provider", "credit_window", "16KiB");
  sim::simulator s(test::parse(j), sim::sim_options{});
  s.run();
  auto v = sim::evaluate_checkers(s);
  CHECK_FALSE(verdict_of(v, "proxy_no_false_cutoffs").passed);
  CHECK_FALSE(verdict_of(v, "proxy_honest_settle").passed);
}

TEST_CASE("proxy market: clients that accept any bill keep paying an over-reporter",
          "[sim][proxy]") {
  auto j = proxy_scenario();
  set_param(j, "proxy_client", "tolerance", 1.0);
  set_param(j, "proxy_client", "slack", "1GiB");
  sim::simulator s(test::parse(j), sim::sim_options{});
  s.run();
  auto v = sim::evaluate_checkers(s);
  auto& cut = verdict_of(v, "proxy_cheaters_cut_off");
  CHECK_FALSE(cut.passed);
  CHECK(cut.detail.find("over_reports") != std::string::npos);
}

TEST_CASE("proxy market: the large variant parses", "[sim][proxy]") {
  auto s = sim::load_scenario(std::string(PEERLAB_SOURCE_DIR) +
                              "/scenarios/large/proxy_market_large.json");
  CHECK(s.node_count() >= 300);
  CHECK(s.driver_items.size() == 1);
}
