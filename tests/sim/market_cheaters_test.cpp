// The paid file market in the simulator: a small market with every policy
// and every cheating strategy passes the market checkers, cheaters stay
// within their bound, and a crashed provider still knows who owes what.
#include "protocols/market/tables.hpp"
#include "sim/summary.hpp"
#include "tests/sim/sim_helpers.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using nlohmann::json;

namespace {

const char* strategies[] = {"never_pays",   "underpays",     "fake_tx_id",
                            "reuses_tx_id", "double_spends", "pays_late"};

json downloader_roles() {
  return json::array({{{"role", "downloader"},
                       {"window", "256KiB"},
                       {"initial_timeout", "8s"},
                       {"min_timeout", "8s"},
                       {"request_timeout", "15s"}},
                      {{"role", "payer"}, {"ledger", 0}, {"late_delay", "40s"}}});
}

json provider_roles(const std::string& policy) {
  json pay = {{"policy", policy}, {"payment_deadline", "15s"}};
  if (policy == "pay_per_window")
    pay["window"] = "256KiB";
  return json::array({{{"role", "provider"}, {"payment", pay}},
                      {{"role", "payment_verifier"}, {"ledger", 0}, {"poll_interval", "500ms"}}});
}

json small_market(bool churn) {
  json groups = json::array();
  groups.push_back({{"name", "ledger"},
                    {"count", 1},
                    {"roles", {{{"role", "ledger"}, {"block_interval", "1s"}}}}});
  json holders = json::array();
  for (auto p : {"pay_after", "pay_per_window", "prepay"}) {
    groups.push_back({{"name", p}, {"count", 3}, {"roles", provider_roles(p)}});
    holders.push_back(p);
  }
  groups.push_back({{"name", "honest"}, {"count", 24}, {"roles", downloader_roles()}});
  json workload = json::array();
  workload.push_back({{"kind", "files"},
                      {"name", "f"},
                      {"count", 12},
                      {"size", "512KiB"},
                      {"price", 524288},
                      {"providers", holders},
                      {"replicas", 4}});
  workload.push_back(
    {{"kind", "market"}, {"ledger", "ledger"}, {"fund", 1000000000}, {"grace", "60s"}});
  workload.push_back({{"kind", "downloads"},
                      {"group", "honest"},
                      {"files", "f"},
                      {"interval", {{"dist", "exponential"}, {"mean", "30s"}}},
                      {"start", "5s"},
                      {"stop", "2m"},
                      {"max_per_node", 3}});
  for (auto s : strategies) {
    groups.push_back({{"name", s}, {"count", 2}, {"adversary", s}, {"roles", downloader_roles()}});
    workload.push_back({{"kind", "downloads"},
                        {"group", s},
                        {"files", "f"},
                        {"interval", {{"dist", "exponential"}, {"mean", "20s"}}},
                        {"start", "5s"},
                        {"stop", "2m"},
                        {"max_per_node", 5}});
  }
  json j = {{"name", "small_market"},
            {"seed", 3},
            {"duration", "4m"},
            {"groups", groups},
            {"network",
             {{"latency", {{"model", "lognormal"}, {"median", "30ms"}, {"sigma", 0.4}}},
              {"bandwidth", {{"up", "20Mbit/s"}, {"down", "50Mbit/s"}}},
              {"faults", {{"loss", 0.002}}}}},
            {"workload", workload},
            {"checkers",
             {{{"check", "no_corrupt_accepted"}},
              {{"check", "market_honest_downloads"}},
              {{"check", "market_payments_recognised"}},
              {{"check", "market_exposure_bound"}},
              {{"check", "ledger_conservation"}}}}};
  if (churn)
    j["churn"] = {{{"group", "prepay"},
                   {"session", {{"dist", "exponential"}, {"mean", "90s"}}},
                   {"downtime", {{"dist", "constant"}, {"value", "10s"}}},
                   {"crash", 1.0}},
                  {{"group", "pay_per_window"},
                   {"session", {{"dist", "exponential"}, {"mean", "90s"}}},
                   {"downtime", {{"dist", "constant"}, {"value", "10s"}}},
                   {"crash", 1.0}}};
  return j;
}

struct market_run {
  std::vector<sim::verdict> verdicts;
  json summary;
  std::string fingerprint;
};

market_run run_market(const json& j, const std::function<void(sim::simulator&)>& after = {}) {
  sim::simulator s(test::parse(j), sim::sim_options{});
  s.run();
  market_run r{sim::evaluate_checkers(s), sim::summarize(s, 0), s.chain().hex()};
  if (after)
    after(s);
  return r;
}

std::string failed(const std::vector<sim::verdict>& v) {
  std::string out;
  for (auto& x : v)
    if (!x.passed)
      out += x.check + ": " + x.detail + "\n";
  return out;
}

} // namespace

TEST_CASE("market: every policy and strategy, the market checkers pass and cheaters stay within "
          "their bounds") {
  auto r = run_market(small_market(false));
  INFO(failed(r.verdicts));
  REQUIRE(test::all_passed(r.verdicts));
  auto& st = r.summary["market"]["strategies"];
  for (auto s : strategies) {
    INFO(s);
    REQUIRE(st.contains(s));
    for (auto& [policy, cell] : st[s].items()) {
      INFO(policy);
      CHECK(cell["max_exposure_pair"].get<std::uint64_t>() <=
            cell["bound_pair"].get<std::uint64_t>());
      if (policy == "prepay")
        CHECK(cell["unpaid_bytes"].get<std::uint64_t>() == 0);
      if (policy == "pay_per_window")
        CHECK(cell["max_exposure_pair"].get<std::uint64_t>() <= 256 * 1024);
    }
  }
  // Cheaters that never pay are refused by providers they cheated.
  CHECK(st["never_pays"]["pay_per_window"]["blacklisted_pairs"].get<std::uint64_t>() ==
        st["never_pays"]["pay_per_window"]["pairs"].get<std::uint64_t>());
  // Honest peers pay for every byte they were billed under prepay: nothing unpaid.
  CHECK(
    r.summary["market"]["strategies"]["honest"]["prepay"]["unpaid_bytes"].get<std::uint64_t>() ==
    0);
  CHECK(r.summary["market"]["honest"]["pay_per_window"]["bills_per_download"].get<double>() >= 2.0);
}

TEST_CASE("market: the run is deterministic") {
  CHECK(run_market(small_market(false)).fingerprint == run_market(small_market(false)).fingerprint);
}

TEST_CASE("market: crashing providers keep their books, and the bounds and checkers still hold") {
  std::size_t owing_rows = 0, blacklist_rows = 0;
  auto r = run_market(small_market(true), [&](sim::simulator& s) {
    auto [first, last] = std::pair<std::uint32_t, std::uint32_t>{1, 10}; // the provider groups
    for (auto n = first; n < last; ++n) {
      owing_rows += s.store(n).count(market::tables::credit());
      blacklist_rows += s.store(n).count(market::tables::blacklist());
    }
  });
  INFO(failed(r.verdicts));
  CHECK(test::all_passed(r.verdicts));
  CHECK(r.summary["churn"]["crashes"].get<std::uint64_t>() > 0);
  CHECK(blacklist_rows > 0);
  CHECK(owing_rows > 0); // cheaters still owe: the rows survived the crashes
}
