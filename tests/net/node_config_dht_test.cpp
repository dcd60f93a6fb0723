// Node config keys of the DHT: kad_bootstrap, dht_provide and downloads whose
// providers are found through the DHT.
#include "net/node_config.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using nlohmann::json;

namespace {

const char* hash = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90";

json dht_node() {
  return json{{"name", "e"},
              {"data_dir", "e-data"},
              {"roles", {"kad", "downloader"}},
              {"kad_bootstrap", {"127.0.0.1:4100"}},
              {"downloads", {{{"hash", hash}}}}};
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

TEST_CASE("node_config: a DHT node joins through kad_bootstrap and downloads by hash alone",
          "[net][config][dht]") {
  auto c = net::parse_node_config(dht_node(), "/b");
  REQUIRE(c.kad_bootstrap == std::vector<std::string>{"127.0.0.1:4100"});
  REQUIRE_FALSE(c.dht_provide);
  REQUIRE(c.downloads.size() == 1);
  REQUIRE(c.downloads[0].providers.empty()); // found through the DHT
  REQUIRE(to_hex(c.downloads[0].hash) == hash);

  auto j = dht_node();
  j["dht_provide"] = true;
  REQUIRE(net::parse_node_config(j, "/b").dht_provide);
}

TEST_CASE("node_config: DHT keys need the kad role and name their path", "[net][config][dht]") {
  auto j = dht_node();
  j["roles"] = {"downloader"};
  REQUIRE(error_of(j) == "kad_bootstrap: needs the \"kad\" role in roles");
  j.erase("kad_bootstrap");
  REQUIRE(
    error_of(j) ==
    "downloads[0]: missing \"providers\" (or the \"kad\" role in roles to find them in the DHT)");

  j = dht_node();
  j["roles"] = {"provider"};
  j.erase("kad_bootstrap");
  j.erase("downloads");
  j["dht_provide"] = true;
  REQUIRE(error_of(j) == "dht_provide: needs the \"kad\" role in roles");

  j = dht_node();
  j["kad_bootstrap"] = {"127.0.0.1:0"};
  REQUIRE(
    error_of(j) ==
    "kad_bootstrap[0]: expected a peer address with a port other than 0, got \"127.0.0.1:0\"");
  j["kad_bootstrap"] = "127.0.0.1:4100";
  REQUIRE(error_of(j).rfind("kad_bootstrap: expected an array", 0) == 0);
}
