// The module registry: every protocol's descriptor is consistent with its
// roles, its folder and the docs, and make_roles applies the rules the
// descriptors declare (ports, adversaries).
#include "protocols/registry.hpp"

#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const fs::path source_dir{PEERLAB_SOURCE_DIR};

std::shared_ptr<role> build(const role_entry& r, const std::string& adversary = "") {
  auto params = nlohmann::json::parse(r.example);
  return make_roles(nlohmann::json::array({params}), "roles", adversary).at(0);
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST_CASE("the registry lists every protocol folder that has roles, each once") {
  std::set<std::string> names;
  for (auto* m : modules())
    REQUIRE(names.insert(m->name).second);
  for (auto& dir : fs::directory_iterator(source_dir / "protocols")) {
    if (!dir.is_directory() || !fs::exists(dir.path() / "module.cpp"))
      continue;
    INFO(dir.path().filename());
    CHECK(names.count(dir.path().filename().string()) == 1);
  }
}

TEST_CASE("every module has the shape of a protocol folder and a doc") {
  for (auto* m : modules()) {
    INFO(m->name);
    auto dir = source_dir / "protocols" / m->name;
    CHECK(fs::exists(dir / (m->name + ".hpp")));
    CHECK(fs::exists(dir / "module.cpp"));
    CHECK(fs::exists(source_dir / m->doc));
    CHECK(!m->roles.empty());
    CHECK(!m->ports.empty());
  }
}

TEST_CASE("every role builds from its example, on one of its module's ports, with its tables") {
  for (auto* m : modules()) {
    std::set<std::string> tables;
    for (auto* t : m->tables)
      tables.insert(t->name);
    for (auto& r : m->roles) {
      INFO(m->name << " / " << r.name);
      auto built = build(r);
      auto port = built->port();
      // A role listens on a port of its module, or of the module it builds on
      // (the market's provider is a filexfer provider with a payment gate).
      CHECK(std::string(port_name(port)) != "unknown");
      for (auto* t : built->tables())
        CHECK(tables.count(t->name) == 1);
    }
  }
}

TEST_CASE("every adversary a role lists is accepted by that role") {
  for (auto* m : modules())
    for (auto& r : m->roles)
      for (auto& a : r.adversaries) {
        INFO(r.name << " / " << a);
        CHECK_NOTHROW(build(r, a));
        CHECK(has(known_adversaries(), a));
      }
}

TEST_CASE("the docs list every role and every table the modules declare") {
  auto scenarios = read_file(source_dir / "docs/scenarios.md");
  auto tables = read_file(source_dir / "docs/tables.md");
  for (auto* m : modules()) {
    for (auto& r : m->roles) {
      INFO("docs/scenarios.md roles table: " << r.name);
      CHECK(scenarios.find("| `" + r.name + "` |") != std::string::npos);
      for (auto& a : r.adversaries) {
        INFO("docs/scenarios.md adversaries table: " << a);
        CHECK(scenarios.find("| `" + a + "` |") != std::string::npos);
      }
    }
    for (auto* t : m->tables) {
      INFO("docs/tables.md: " << t->name);
      CHECK(tables.find(t->name) != std::string::npos);
    }
  }
}

TEST_CASE("make_roles gives the adversary to the roles that implement it, and needs one") {
  SECTION("a provider on a node with a cheating payer stays honest, and the payer cheats") {
    auto spec = nlohmann::json::parse(R"(["provider", {"role": "payer", "ledger": 1}])");
    CHECK_NOTHROW(make_roles(spec, "roles", "never_pays"));
  }
  SECTION("an adversary no role of the node implements is refused, naming who could") {
    auto spec = nlohmann::json::parse(R"(["downloader"])");
    try {
      make_roles(spec, "groups[1].roles", "corrupt_content");
      FAIL("accepted");
    } catch (const config_error& e) {
      std::string what = e.what();
      CHECK(what.find("groups[1].roles") != std::string::npos);
      CHECK(what.find("corrupt_content") != std::string::npos);
      CHECK(what.find("provider") != std::string::npos);
    }
  }
  SECTION("an unknown adversary names the known ones") {
    try {
      make_roles(nlohmann::json::parse(R"(["provider"])"), "roles", "teleport");
      FAIL("accepted");
    } catch (const config_error& e) {
      CHECK(std::string(e.what()).find("forge_packets") != std::string::npos);
    }
  }
  SECTION("two roles on one port are refused") {
    CHECK_THROWS_AS(make_roles(nlohmann::json::parse(R"(["kad", "kad"])"), "roles", ""),
                    config_error);
  }
  SECTION("an unknown role lists the known ones") {
    try {
      make_roles(nlohmann::json::parse(R"(["teleporter"])"), "roles", "");
      FAIL("accepted");
    } catch (const config_error& e) {
      CHECK(std::string(e.what()).find("downloader") != std::string::npos);
    }
  }
}

TEST_CASE("port names come from the modules") {
  CHECK(std::string(port_name(ports::kad)) == "kad");
  CHECK(std::string(port_name(ports::file_downloader)) == "file_downloader");
  CHECK(std::string(port_name(ports::test_echo)) == "test_echo");
  CHECK(std::string(port_name(200)) == "unknown");
}

TEST_CASE("role parameters that do not fit their field are refused, naming the key") {
  auto spec = nlohmann::json::parse(
    R"([{"role": "droplog", "peers": [1], "key": "0123456789abcdef", "nack_repeat": 1099511627776}])");
  try {
    make_roles(spec, "groups[0].roles", "");
    FAIL("accepted");
  } catch (const config_error& e) {
    std::string what = e.what();
    CHECK(what.find("groups[0].roles[0].nack_repeat") != std::string::npos);
    CHECK(what.find("at most 4294967295") != std::string::npos);
  }
  CHECK_THROWS_AS(make_roles(nlohmann::json::parse(R"([{"role": "kad", "k": "twenty"}])"), "r", ""),
                  config_error);
}
