#include "apps/peerlab/node_command.hpp"
#include "net/node_config.hpp"

#include "temp_dir.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/market/market.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace peerlab;
using nlohmann::json;

namespace {

json good() {
  return json::parse(R"({
    "name": "alice",
    "listen": "127.0.0.1:4100",
    "peers": ["127.0.0.1:4101"],
    "data_dir": "alice-data",
    "roles": ["provider", {"role": "downloader", "chunk_size": "1MiB", "window": "4MiB"}],
    "provide": ["files/a.bin", {"path": "/srv/b.bin", "name": "b", "price": 5}],
    "seed": 42,
    "downloads": [{"hash": "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90",
                   "providers": ["127.0.0.1:4101"]}],
    "exit_when_done": true,
    "run_for": "30s"
  })");
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

TEST_CASE("node_config: a full config is read", "[net][config]") {
  auto c = net::parse_node_config(good(), "/base");
  REQUIRE(c.name == "alice");
  REQUIRE(c.listen == "127.0.0.1:4100");
  REQUIRE(c.peers == std::vector<std::string>{"127.0.0.1:4101"});
  REQUIRE(c.data_dir == "/base/alice-data");
  REQUIRE(c.roles.size() == 2);
  REQUIRE(c.roles[0]->port() == ports::file_provider);
  REQUIRE(c.roles[1]->port() == ports::file_downloader);
  REQUIRE(c.provide.size() == 2);
  REQUIRE(c.provide[0].path == "/base/files/a.bin");
  REQUIRE(c.provide[1].path == "/srv/b.bin");
  REQUIRE(c.provide[1].name == "b");
  REQUIRE(c.provide[1].price == 5);
  REQUIRE(c.seed == 42);
  REQUIRE(c.downloads.size() == 1);
  REQUIRE(to_hex(c.downloads[0].hash) ==
          "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90");
  REQUIRE(c.exit_when_done);
  REQUIRE(c.run_for == 30 * us_per_s);
}

TEST_CASE("node_config: text with a NUL byte, nested too deep or too large is refused",
          "[net][config]") {
  auto error_of_text = [](const std::string& text) {
    try {
      net::parse_node_config_text(text, "/base");
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto text = good().dump();
  CHECK(net::parse_node_config_text(text, "/base").name == "alice");
  CHECK(error_of_text(text + std::string(1, '\0') + "junk") ==
        "not valid JSON: a NUL byte at offset " + std::to_string(text.size()));
  CHECK(error_of_text(std::string(1000, '[')) == "nests objects and arrays deeper than 32 levels");
  CHECK(error_of_text(std::string((1u << 20) + 1, ' ')) == "larger than 1048576 bytes");
  CHECK(error_of_text("{\"name\": ").starts_with("not valid JSON: "));
  // nlohmann throws out_of_range, not parse_error, for a number too large:
  // a config error too, not an escaped exception (found by fuzz_node_config).
  auto long_error = error_of_text("{\"name\": \"" + std::string(10000, 'a') + "\x01");
  CHECK(long_error.starts_with("not valid JSON: [json.exception.parse_error.101]"));
  CHECK(long_error.size() < 350); // the message quotes what it read: cut, bytes as '?'
  CHECK(long_error.find('\x01') == std::string::npos);
  CHECK(error_of_text(R"({"name": "a", "seed": 66666666e66666})")
          .starts_with("not valid JSON: [json.exception.out_of_range.406] number overflow"));
  // load_node_config names the file in front.
  test::temp_dir dir("node-config");
  auto file = dir.path() / "node.json";
  std::ofstream(file, std::ios::binary) << text << '\0';
  try {
    net::load_node_config(file);
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          file.string() + ": not valid JSON: a NUL byte at offset " + std::to_string(text.size()));
  }
}

TEST_CASE("node_config: defaults bind 127.0.0.1 on a free port", "[net][config]") {
  auto c = net::parse_node_config(
    json::parse(R"({"name": "n", "data_dir": "d", "roles": ["provider"]})"), "/b");
  REQUIRE(c.listen == "127.0.0.1:0");
  REQUIRE(c.peers.empty());
  REQUIRE_FALSE(c.exit_when_done);
  REQUIRE_FALSE(c.run_for);
  REQUIRE_FALSE(c.plaintext); // TLS with the node's key unless asked otherwise
}

TEST_CASE("node_config: plaintext is an explicit boolean opt-out of TLS", "[net][config]") {
  auto j = good();
  j["plaintext"] = true;
  REQUIRE(net::parse_node_config(j, "/b").plaintext);
  j["plaintext"] = "yes";
  REQUIRE(error_of(j).rfind("plaintext: expected", 0) == 0);
}

TEST_CASE("node_config: errors name the JSON path and what was expected", "[net][config]") {
  auto j = good();
  j["colour"] = "red";
  REQUIRE(error_of(j).rfind("colour: unknown field (allowed: ", 0) == 0);

  j = good();
  j["peers"][0] = "localhost:4101";
  REQUIRE(error_of(j) ==
          "peers[0]: expected \"host:port\" with an IP address (host must be an IP "
          "address such as 127.0.0.1 (names are not resolved)), got \"localhost:4101\"");

  j = good();
  j["downloads"][0]["hash"] = "abc";
  REQUIRE(error_of(j) == "downloads[0].hash: expected a SHA-256 as 64 hex digits, got \"abc\"");

  j = good();
  j["downloads"][0]["providers"] = json::array();
  REQUIRE(error_of(j) == "downloads[0].providers: expected at least one provider address, got []");

  j = good();
  j["roles"] = json::array({"provider"});
  REQUIRE(error_of(j) == "downloads: needs the \"downloader\" role in roles");

  j = good();
  j["roles"][1]["chunk_size"] = "2MiB";
  REQUIRE(error_of(j) == "roles[1].chunk_size: expected a size between 1 B and 1MiB, got \"2MiB\"");

  j = good();
  j.erase("name");
  REQUIRE(error_of(j) == "name: missing (required)");

  j = good();
  j["provide"][1]["price"] = -1;
  REQUIRE(error_of(j) == "provide[1].price: expected a non-negative integer, got -1");

  j = good();
  j["downloads"] = json::array();
  REQUIRE(error_of(j) == "exit_when_done: needs at least one entry in downloads");
}

TEST_CASE("node_config: the account role is a config role unless the market API brings its own",
          "[net][config][account]") {
  auto j = good();
  j["roles"].push_back({{"role", "account"}, {"ledger", 7}, {"max_list", 10}});
  auto c = net::parse_node_config(j, "/base");
  REQUIRE(c.roles.size() == 3);
  CHECK(std::string(c.roles[2]->name()) == "account");
  CHECK(c.roles[2]->port() == ports::api);

  j["roles"][2]["max_list"] = 100001;
  CHECK(error_of(j) == "roles[2]: role account: max_list must be between 1 and 100000");
  j["roles"][2].erase("max_list");
  j["roles"][2]["colour"] = "red";
  CHECK(error_of(j).rfind("roles[2].colour: unknown field", 0) == 0);

  j["roles"][2].erase("colour");
  j["api"] = {{"listen", "127.0.0.1:0"}};
  CHECK(error_of(j).rfind("api: runs the \"account\" role itself", 0) == 0);
}

TEST_CASE("node_command: a bad config exits 2 before starting anything", "[net][config]") {
  test::temp_dir dir("cfg");
  auto file = dir.path() / "node.json";
  std::ofstream(file) << R"({"name": "x", "data_dir": "d", "roles": ["provider"], "listen": 5})";
  std::string f = file.string();
  char a0[] = "node", a1[] = "--config";
  char* argv[] = {a0, a1, f.data()};
  REQUIRE(net::node_command(3, argv) == 2);
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / "d")); // nothing written

  char* no_config[] = {a0};
  REQUIRE(net::node_command(1, no_config) == 2);
  char bogus[] = "--bogus";
  char* bad_flag[] = {a0, bogus};
  REQUIRE(net::node_command(2, bad_flag) == 2);
}

TEST_CASE("node_config: the file-set API binds beyond loopback only when allowed explicitly",
          "[net][config]") {
  auto j = json::parse(R"({"name": "n", "data_dir": "d", "roles": ["fileset"],
                           "fileset_http": "0.0.0.0:8080"})");
  REQUIRE(error_of(j).rfind("fileset_http: expected a loopback address", 0) == 0);
  j["fileset_http_allow_remote"] = true;
  REQUIRE(*net::parse_node_config(j, "/b").fileset_http == "0.0.0.0:8080");
  j["fileset_http"] = "[::1]:8080";
  j.erase("fileset_http_allow_remote");
  REQUIRE(*net::parse_node_config(j, "/b").fileset_http == "[::1]:8080");
}

TEST_CASE("node_config: the local proxy port is loopback only and needs the proxy_client role",
          "[net][config]") {
  auto j = json::parse(R"({"name": "n", "data_dir": "d",
                           "roles": [{"role": "proxy_client", "ledger": 1}],
                           "proxy_listen": "127.0.0.1:3128"})");
  REQUIRE(*net::parse_node_config(j, "/b").proxy_listen == "127.0.0.1:3128");
  j["proxy_listen"] = "0.0.0.0:3128";
  CHECK(error_of(j).rfind("proxy_listen: expected a loopback address", 0) == 0);
  j["proxy_listen"] = "127.0.0.1:3128";
  j["roles"] = json::array({"kad"});
  CHECK(error_of(j) == "proxy_listen: needs the \"proxy_client\" role in roles");
}

TEST_CASE("node_config: internal proxy destinations are a provider's explicit opt-in",
          "[net][config]") {
  auto j = json::parse(R"({"name": "n", "data_dir": "d",
                           "roles": [{"role": "proxy_provider", "ledger": 1}]})");
  CHECK_FALSE(net::parse_node_config(j, "/b").proxy_allow_internal);
  j["proxy_allow_internal"] = true;
  CHECK(net::parse_node_config(j, "/b").proxy_allow_internal);
  j["proxy_allow_internal"] = "yes";
  CHECK(error_of(j).rfind("proxy_allow_internal: expected", 0) == 0);
  j["proxy_allow_internal"] = true;
  j["roles"] = json::array({"kad"});
  CHECK(error_of(j) == "proxy_allow_internal: needs the \"proxy_provider\" role in roles");
}

TEST_CASE("node_config: the file-drop sections set the droplog role's parameters they imply",
          "[net][config][drop]") {
  auto j = json::parse(R"({"name": "gw", "data_dir": "d", "plaintext": true,
    "roles": [{"role": "droplog", "peers": [7], "key": "0123456789abcdef"}],
    "drop_folders": {"out_dir": "o", "in_dir": "/abs/i", "rescan": "500ms"},
    "drop_http": {"side": "a", "listen": "127.0.0.1:0", "request_timeout": "3s"}})");
  auto c = net::parse_node_config(j, "/base");
  REQUIRE(c.drop_folders);
  CHECK(c.drop_folders->out_dir == std::filesystem::path("/base/o"));
  CHECK(c.drop_folders->in_dir == std::filesystem::path("/abs/i"));
  CHECK(c.drop_folders->rescan_interval == 500 * us_per_ms);
  REQUIRE(c.drop_http);
  CHECK(c.drop_http->side_a);
  CHECK(c.drop_http->peer == 7); // the role's only peer
  CHECK(c.drop_http->request_timeout == 3 * us_per_s);

  auto err = [&](auto edit) {
    auto bad = j;
    edit(bad);
    return error_of(bad);
  };
  CHECK_THAT(err([](json& b) { b["roles"] = json::array({"provider"}); }),
             Catch::Contains("drop_folders: needs the \"droplog\" role"));
  CHECK_THAT(err([](json& b) { b["drop_http"]["listen"] = "0.0.0.0:80"; }),
             Catch::Contains("drop_http.listen"));
  CHECK_THAT(err([](json& b) { b["drop_http"]["upstream"] = "127.0.0.1:1"; }),
             Catch::Contains("drop_http.upstream: only side b takes this"));
  CHECK_THAT(err([](json& b) {
               b["drop_http"] = {{"side", "b"}};
             }),
             Catch::Contains("drop_http: missing \"upstream\""));
  CHECK_THAT(err([](json& b) { b["drop_folders"].erase("in_dir"); }),
             Catch::Contains("drop_folders: missing \"in_dir\""));
  CHECK_THAT(err([](json& b) { b["drop_folders"]["colour"] = 1; }), Catch::Contains("colour"));
  CHECK_THAT(err([](json& b) {
               b["roles"][0]["peers"] = json::array({7, 8});
             }),
             Catch::Contains("drop_http.peer"));
  // The role refuses an external upstream without serve_http.
  CHECK_THAT(err([](json& b) { b["roles"][0]["upstream"] = "external"; }),
             Catch::Contains("an external upstream needs serve_http"));
  auto b = j;
  b["drop_http"] = {{"side", "b"}, {"upstream", "http://127.0.0.1:8000/"}};
  auto cb = net::parse_node_config(b, "/base");
  CHECK_FALSE(cb.drop_http->side_a);
  CHECK(cb.drop_http->upstream.port == 8000);
}
