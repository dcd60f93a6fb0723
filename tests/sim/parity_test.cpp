// Sim/live parity rows (sim/parity.hpp): tolerances, defaults, ignored and
// missing outcomes, and the scenario section's errors.
#include "sim/parity.hpp"

#include "protocols/registry.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using nlohmann::json;

namespace {
const sim::parity_row& row_named(const std::vector<sim::parity_row>& rows,
                                 const std::string& name) {
  for (auto& r : rows)
    if (r.name == name)
      return r;
  FAIL("no row " << name);
  return rows.front();
}
} // namespace

TEST_CASE("parity judges each outcome within its tolerance", "[parity]") {
  std::vector<sim::outcome> s = {{"filexfer", "downloads_completed", 40},
                                 {"filexfer", "download_time_median_s", 0.20},
                                 {"dht", "find_node_hops_p50", 2},
                                 {"dht", "records_stored", 20},
                                 {"filexfer", "bytes_downloaded", 1000}};
  std::vector<sim::outcome> l = {{"filexfer", "downloads_completed", 44},
                                 {"filexfer", "download_time_median_s", 0.6},
                                 {"dht", "find_node_hops_p50", 1},
                                 {"dht", "records_stored", 0},
                                 {"filexfer", "bytes_downloaded", 1300}};
  auto rows = sim::compare_outcomes(s, l, {});
  CHECK(row_named(rows, "downloads_completed").agree);          // 4 <= 1 + 10 % of 44
  CHECK_FALSE(row_named(rows, "download_time_median_s").agree); // 0.4 > 0.05 + 50 % of 0.6
  CHECK(row_named(rows, "find_node_hops_p50").agree);           // one hop apart
  CHECK_FALSE(row_named(rows, "records_stored").judged);        // sampled from role state: not live
  CHECK_FALSE(row_named(rows, "bytes_downloaded").agree);       // 300 > 15 % of 1300
  CHECK_FALSE(sim::all_agree(rows));

  sim::parity_spec spec = sim::parse_parity(
    json::parse(R"({"tolerances": {"filexfer.download_time_median_s": {"abs": 0.5}},
                    "ignore": ["filexfer.bytes_downloaded"]})"),
    "parity");
  rows = sim::compare_outcomes(s, l, spec);
  CHECK(row_named(rows, "download_time_median_s").agree);
  CHECK_FALSE(row_named(rows, "bytes_downloaded").judged);
  CHECK(sim::all_agree(rows));
}

TEST_CASE("an outcome only one world has is a disagreement", "[parity]") {
  auto rows = sim::compare_outcomes({{"dht", "lookups_found", 3}}, {}, {});
  REQUIRE(rows.size() == 1);
  CHECK(row_named(rows, "lookups_found").sim == 3);
  CHECK_FALSE(row_named(rows, "lookups_found").live);
  CHECK_FALSE(sim::all_agree(rows));
}

TEST_CASE("a bad parity section names the path", "[parity]") {
  auto refused = [](const char* text, const std::string& part) {
    try {
      sim::parse_parity(json::parse(text), "parity");
      FAIL("accepted " << text);
    } catch (const config_error& e) {
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  refused(R"({"tolerance": {}})", "tolerance");
  refused(R"({"tolerances": {"nodot": {"abs": 1}}})", "parity.tolerances.nodot");
  refused(R"({"tolerances": {"a.b": {"abs": -1}}})", "parity.tolerances.a.b.abs");
  refused(R"({"tolerances": {"a.b": {"max": 1}}})", "max");
  refused(R"({"ignore": "a.b"})", "parity.ignore");
}
