// sim::key_outcomes on real summaries: every protocol family's scenario run
// in-process, its outcomes checked against the summary figures they come
// from and against the names docs/results.md lists.
#include "dht_test_scenarios.hpp"
#include "sim_helpers.hpp"

#include "sim/outcomes.hpp"
#include "sim/summary.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json summary_of(const json& scenario) {
  sim::simulator s(sim::parse_scenario(scenario.dump(), "test"), {});
  s.run();
  return sim::summarize(s, 1.0);
}

json file_scenario(const std::string& name) {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/scenarios/" + name);
  REQUIRE(in);
  return json::parse(in);
}

std::map<std::string, double> by_name(const std::vector<sim::outcome>& v,
                                      const std::string& family) {
  std::map<std::string, double> m;
  for (auto& o : v)
    if (o.family == family)
      m[o.name] = o.value;
  return m;
}

std::set<std::string> families(const std::vector<sim::outcome>& v) {
  std::set<std::string> f;
  for (auto& o : v)
    f.insert(o.family);
  return f;
}

// The names docs/results.md "Key outcomes" lists per family.
std::map<std::string, std::set<std::string>> documented() {
  std::ifstream in(std::string(PEERLAB_SOURCE_DIR) + "/docs/results.md");
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  auto from = text.find("## Key outcomes");
  REQUIRE(from != std::string::npos);
  std::map<std::string, std::set<std::string>> out;
  std::istringstream lines(text.substr(from));
  std::string line;
  std::regex row(R"(^\| `([a-z]+)` \| [^|]* \| (.*)\|$)"), name("`([a-z0-9_]+)`");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row))
      continue;
    auto cell = m[2].str();
    for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it)
      out[m[1].str()].insert((*it)[1].str());
  }
  return out;
}

void matches_docs(const std::vector<sim::outcome>& v, const std::string& family) {
  auto docs = documented();
  std::set<std::string> names;
  for (auto& o : v)
    if (o.family == family)
      names.insert(o.name);
  INFO("family " << family);
  CHECK(names == docs[family]);
}

} // namespace

TEST_CASE("key outcomes of a file-transfer run are its downloads figures", "[outcomes]") {
  auto j = file_scenario("quickstart.json");
  j["duration"] = "3m";
  auto s = summary_of(j);
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"filexfer"});
  auto f = by_name(v, "filexfer");
  auto& d = s["downloads"];
  CHECK(f["downloads_completed"] == d["completed"].get<double>());
  CHECK(f["downloads_completed"] > 10);
  CHECK(f["downloads_failed"] == d["failed"].get<double>());
  CHECK(f["bytes_downloaded"] == d["bytes"].get<double>());
  CHECK(f["download_time_median_s"] == d["time_median_s"].get<double>());
  CHECK(f["download_time_median_s"] > 0);
  CHECK(f["download_success"] ==
        Approx(d["completed"].get<double>() /
               (d["completed"].get<double>() + d["failed"].get<double>())));
  matches_docs(v, "filexfer");
}

TEST_CASE("key outcomes of a market run come from its counters and strategy tables", "[outcomes]") {
  auto s = summary_of(file_scenario("market_impostors.json"));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"filexfer", "market"});
  auto m = by_name(v, "market");
  CHECK(m["payments_settled"] == s["counters"]["market.payments_verified"].get<double>());
  CHECK(m["payments_settled"] > 0);
  CHECK(m["payments_failed"] == s["counters"]["market.payments_failed"].get<double>());
  CHECK(m["peers_blacklisted"] > 0);
  // The impostors are the only cheaters: each of their pairs is caught.
  auto& imp = s["market"]["strategies"]["impersonates"]["pay_after"];
  CHECK(m["cheater_pairs"] == imp["pairs"].get<double>());
  CHECK(m["cheater_pairs_caught"] == imp["blacklisted_pairs"].get<double>());
  CHECK(m["cheater_unpaid_bytes"] == imp["unpaid_bytes"].get<double>());
  CHECK(m["honest_downloads"] == s["market"]["honest"]["pay_after"]["downloads"].get<double>());
  matches_docs(v, "market");
}

TEST_CASE("key outcomes of a proxy run", "[outcomes]") {
  auto s = summary_of(file_scenario("proxy_market.json"));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"proxy"});
  auto p = by_name(v, "proxy");
  CHECK(p["requests_served"] == s["proxy"]["fetches"].get<double>());
  CHECK(p["requests_served"] > 100);
  CHECK(p["settle_frames"] == s["proxy"]["settle_frames"].get<double>());
  CHECK(p["settle_frames"] > 0);
  CHECK(p["cheater_pairs_cut_off"] > 0);
  matches_docs(v, "proxy");
}

TEST_CASE("key outcomes of a DHT run", "[outcomes]") {
  auto s = summary_of(test::small_dht(60, 5, 20));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"dht"});
  auto d = by_name(v, "dht");
  auto& fp = s["dht"]["find_providers"];
  CHECK(d["lookups_ended"] ==
        fp["ended"].get<double>() + s["dht"]["find_node"]["ended"].get<double>());
  CHECK(d["lookups_ended"] == 40);
  CHECK(d["lookup_success"] == Approx(1.0));
  CHECK(d["find_providers_hops_p50"] == fp["hops_p50"].get<double>());
  CHECK(d["find_providers_latency_p50_ms"] > 0);
  matches_docs(v, "dht");
}

TEST_CASE("key outcomes of a fileset run", "[outcomes]") {
  auto s = summary_of(file_scenario("fileset_adversaries.json"));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"fileset"});
  auto f = by_name(v, "fileset");
  CHECK(f["propagation_median_ms"] == s["fileset"]["reach_all_median_ms"].get<double>());
  CHECK(f["propagation_p99_ms"] >= f["propagation_median_ms"]);
  CHECK(f["replication_median_ms"] == s["fileset"]["node_delay_median_ms"].get<double>());
  CHECK(f["sets_published"] > 0);
  CHECK(f["reach_all_share"] == Approx(s["fileset"]["files_reaching_all"].get<double>() /
                                       s["fileset"]["files_published"].get<double>()));
  matches_docs(v, "fileset");
}

TEST_CASE("key outcomes of a droplog run", "[outcomes]") {
  auto s = summary_of(file_scenario("filedrop_truncation.json"));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"droplog"});
  auto d = by_name(v, "droplog");
  CHECK(d["messages_delivered"] == s["droplog"]["messages_delivered"].get<double>());
  CHECK(d["messages_delivered"] > 0);
  CHECK(d["goodput"] > 0);
  CHECK(d["goodput"] < 1);
  matches_docs(v, "droplog");
}

TEST_CASE("key outcomes of a CDN run", "[outcomes]") {
  auto s = summary_of(file_scenario("cdn_corrupt.json"));
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"cdn"});
  auto c = by_name(v, "cdn");
  CHECK(c["offload"] == s["cdn"]["offload"].get<double>());
  CHECK(c["fetches_ended"] ==
        c["fetches_from_peer"] + c["fetches_from_origin"] + c["fetches_failed"]);
  CHECK(c["liars_evicted"] > 0);
  matches_docs(v, "cdn");
}

TEST_CASE("key outcomes are a pure function of the summary JSON", "[outcomes]") {
  CHECK(sim::key_outcomes(json::object()).empty());
  CHECK(sim::key_outcomes(json()).empty());
  CHECK(sim::key_outcomes(json::array()).empty());
  // A section with missing or non-number figures gives zeros, never throws.
  json s = {{"downloads", {{"completed", "many"}}}, {"cdn", json::object()}};
  auto v = sim::key_outcomes(s);
  CHECK(families(v) == std::set<std::string>{"filexfer", "cdn"});
  for (auto& o : v)
    CHECK(o.value == 0);
  // A text stored and read back gives the same outcomes.
  json r = {{"downloads", {{"completed", 3}, {"failed", 1}, {"time_median_s", 0.5}}}};
  auto a = sim::key_outcomes(r), b = sim::key_outcomes(json::parse(r.dump()));
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK((a[i].name == b[i].name && a[i].value == b[i].value));
  CHECK(by_name(a, "filexfer")["download_success"] == Approx(0.75));
}
