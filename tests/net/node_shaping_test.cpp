// The node config's "shaping" section: parsing, its errors, and the shaper
// and scenario clock it installs (apps/peerlab/node_shaping.*).
#include "apps/peerlab/node_shaping.hpp"
#include "net/node_config.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json with_shaping(json shaping) {
  return {{"name", "n"},
          {"data_dir", "d"},
          {"roles", {"provider"}},
          {"plaintext", true},
          {"shaping", std::move(shaping)}};
}

json good_shaping() {
  return {{"scenario", "net.json"},
          {"seed", 9},
          {"node", 1},
          {"peers", {"18446744073709551615", "12"}},
          {"start_unix_us", 1'700'000'000'000'000},
          {"time_scale", 2.5}};
}

std::string error_of(const json& j) {
  try {
    net::parse_node_config(j, "/base");
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("node_config: the shaping section is read", "[net][config][shaping]") {
  auto c = net::parse_node_config(with_shaping(good_shaping()), "/base");
  REQUIRE(c.shaping);
  CHECK(c.shaping->scenario == "/base/net.json");
  CHECK(c.shaping->seed == 9u);
  CHECK(c.shaping->node == 1);
  CHECK(c.shaping->peers == std::vector<peer_id>{18446744073709551615ull, 12});
  CHECK(c.shaping->start_unix_us == 1'700'000'000'000'000);
  CHECK(c.shaping->time_scale == 2.5);
  auto s = good_shaping();
  s.erase("seed");
  s.erase("time_scale");
  c = net::parse_node_config(with_shaping(s), "/base");
  CHECK_FALSE(c.shaping->seed);
  CHECK(c.shaping->time_scale == 1);
  auto none = with_shaping(s);
  none.erase("shaping");
  CHECK_FALSE(net::parse_node_config(none, "/base").shaping);
}

TEST_CASE("node_config: shaping errors name the key", "[net][config][shaping]") {
  auto bad = [](const char* key, json value) {
    auto s = good_shaping();
    if (value.is_null())
      s.erase(key);
    else
      s[key] = value;
    return error_of(with_shaping(s));
  };
  CHECK(bad("scenario", nullptr) == "shaping: missing \"scenario\"");
  CHECK(bad("peers", json::array({12, 13})) ==
        "shaping.peers[0]: expected a peer id as a decimal string, got 12");
  CHECK(bad("peers", json::array({"12", "x"})) ==
        "shaping.peers[1]: expected a peer id as a decimal string, got \"x\"");
  CHECK(bad("peers", json::array({"12", "12"})) ==
        "shaping.peers[1]: expected a peer id not listed before, got \"12\"");
  CHECK(bad("peers", json::array()).rfind("shaping.peers: expected the peer id of every node", 0) ==
        0);
  CHECK(bad("node", 2) == "shaping.node: expected an index into peers (below 2), got 2");
  CHECK(bad("start_unix_us", nullptr) == "shaping: missing \"start_unix_us\"");
  CHECK(bad("time_scale", 0).rfind("shaping.time_scale: expected a positive number", 0) == 0);
  CHECK(bad("time_scale", 2e6).rfind("shaping.time_scale: expected a positive number", 0) == 0);
  CHECK(bad("colour", "red").rfind("shaping.colour: unknown field", 0) == 0);
}

TEST_CASE("node shaping: scenario time is Unix time since the start over the time scale",
          "[net][shaping]") {
  CHECK(net::scenario_time(1'000'000, 1'000'000, 1) == 0);
  CHECK(net::scenario_time(11'000'000, 1'000'000, 1) == 10'000'000);
  CHECK(net::scenario_time(11'000'000, 1'000'000, 10) == 1'000'000); // 10 wall s per scenario s
  CHECK(net::scenario_time(1'000'000, 2'000'000, 2) == -500'000);    // before the start
  CHECK(net::scenario_time(1'800'000'000'000'000, 0, 1e-9) ==
        4'000'000'000'000'000'000); // saturates
}

TEST_CASE("node shaping: the shaper is installed for this node, or the error names why",
          "[net][shaping]") {
  test::temp_dir dir("node-shaping");
  {
    std::ofstream f(dir.path() / "net.json");
    f << R"({"name": "s", "duration": "1m", "seed": 4,
             "groups": [{"name": "g", "count": 2, "roles": ["provider"]}],
             "network": {"faults": {"loss": 1}}})";
  }
  net::shaping_config s;
  s.scenario = dir.path() / "net.json";
  s.node = 1;
  s.peers = {500, 600};
  s.start_unix_us = 0;
  net::live_options o;
  CHECK(net::install_shaping(s, 500, o) ==
        "shaping.peers[1] is peer 600 but this node is peer 500 (peerlab id --config prints it)");
  CHECK_FALSE(o.shaper);
  REQUIRE(net::install_shaping(s, 600, o).empty());
  REQUIRE(o.shaper);
  REQUIRE(o.scenario_now);
  CHECK(o.scenario_now() > 1'600'000'000 * us_per_s); // Unix time since 0
  std::vector<shaped_copy> out;
  CHECK(o.shaper->shape(500, 0, 0, bytes{1, 2}, out).dropped);       // the scenario's loss
  CHECK_FALSE(o.shaper->shape(700, 0, 0, bytes{1, 2}, out).dropped); // not a node of it

  s.peers = {500, 600, 700}; // three peers, two nodes
  net::live_options o2;
  CHECK(net::install_shaping(s, 600, o2).find("3 peers, but") != std::string::npos);
  s.peers = {500, 600};
  s.scenario = dir.path() / "nope.json";
  CHECK(net::install_shaping(s, 600, o2) ==
        "shaping.scenario: " + s.scenario.string() + ": cannot open the file");
}
