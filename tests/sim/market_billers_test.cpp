// Cheating billers in the simulator: honest payers pay no provider more than
// what they ordered there, and the checker that says so fails with payers
// that pay whatever bill comes (scenarios/market_cheating_billers.json).
#include "sim/drivers/market_audit.hpp"
#include "sim/summary.hpp"
#include "tests/sim/sim_helpers.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json billers_scenario(bool check_bills) {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/scenarios/market_cheating_billers.json");
  auto j = json::parse(in);
  for (auto& g : j["groups"])
    if (g["name"] == "honest")
      for (auto& r : g["roles"])
        if (r["role"] == "payer")
          r["check_bills"] = check_bills;
  return j;
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

} // namespace

TEST_CASE("cheating billers: honest payers pay no provider more than they ordered there") {
  sim::simulator s(test::parse(billers_scenario(true)), sim::sim_options{});
  s.run();
  auto v = sim::evaluate_checkers(s);
  INFO(failed(v));
  CHECK(test::all_passed(v));
  // Every kind of cheat reached a payer and was refused.
  auto c = sim::summarize(s, 0)["counters"];
  for (auto kind : {"unsolicited", "wrong_hash", "over_price", "double"}) {
    auto name = std::string("market.bills_refused.") + kind;
    INFO(name);
    CHECK(c.value(name, 0.0) > 0);
  }
}

TEST_CASE("cheating billers: the checker fails when payers pay every bill they get") {
  sim::simulator s(test::parse(billers_scenario(false)), sim::sim_options{});
  s.run();
  auto verdicts = sim::evaluate_checkers(s); // verdict_of returns a reference into it
  auto& v = verdict_of(verdicts, "market_payers_not_overcharged");
  INFO(v.detail);
  CHECK_FALSE(v.passed);
  CHECK(v.detail.find("more than they ordered") != std::string::npos);
}

TEST_CASE("payer audit: paid against ordered, per payer and provider") {
  using sim::market_sim::payer_audit;
  auto everyone = [](std::uint64_t) { return true; };
  payer_audit a;
  CHECK_FALSE(a.check(everyone).passed); // nothing to check
  a.ordered(20, 10, "h1", "d1", 1000);
  a.ordered(20, 10, "h1", "d1", 1000); // a second attempt of the same download: one order
  a.paid(20, 10, 1000);
  CHECK(a.check(everyone).passed);
  a.paid(20, 10, 1);
  auto r = a.check(everyone);
  CHECK_FALSE(r.passed);
  CHECK(r.detail.find("node 20 paid 10 1001 for orders worth 1000") != std::string::npos);
  CHECK(a.check([](std::uint64_t n) { return n != 20; }).passed == false); // nobody checked
  a.ordered(20, 10, "h1", "d2", 1000); // downloaded again: a second order
  CHECK(a.check(everyone).passed);
  a.paid(21, 11, 5); // a stranger's bill paid
  CHECK_FALSE(a.check(everyone).passed);
}
