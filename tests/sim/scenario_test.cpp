#include "sim_helpers.hpp"

#include "protocols/registry.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace peerlab;

namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    sim::parse_scenario(j.dump(), "test");
  } catch (const config_error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST_CASE("scenario errors name the JSON path and what was expected", "[sim][scenario]") {
  auto base = test::small_transfer();

  auto j = base;
  j["groups"][2]["count"] = "ten";
  CHECK(error_of(j) == "groups[2].count: expected a positive integer, got \"ten\"");

  j = base;
  j["groups"][0]["count"] = 0;
  CHECK(error_of(j) == "groups[0].count: expected a positive integer, got 0");

  j = base;
  j["duration"] = "soon";
  CHECK(error_of(j) ==
        "duration: expected a duration like \"250ms\", \"10s\", \"2h\", got \"soon\"");

  j = base;
  j["network"]["faults"]["loss"] = 1.5;
  CHECK(error_of(j) == "network.faults.loss: expected a probability between 0 and 1, got 1.5");

  j = base;
  j["network"]["faults"]["truncate_scale"] = "big";
  CHECK(error_of(j) == "network.faults.truncate_scale: expected a size like \"64KiB\", "
                       "\"1MiB\", \"2GB\", got \"big\"");
  j["network"]["faults"]["truncate_scale"] = 8;
  CHECK(error_of(j) == "network.faults.truncate_scale: expected 0 (off) or a size of at least "
                       "16 bytes, got 8");
  j = base;
  j["network"]["faults"]["corrupt_per_byte"] = 0.9;
  CHECK(error_of(j) ==
        "network.faults.corrupt_per_byte: expected a probability of at most 0.5, got 0.9");
  j["network"]["faults"]["corrupt_per_byte"] = -1;
  CHECK(error_of(j) ==
        "network.faults.corrupt_per_byte: expected a probability between 0 and 1, got -1");
  j = base;
  j["network"]["links"] = {{{"from", "*"}, {"to", "*"}, {"faults", {{"truncate_scale", "1x"}}}}};
  CHECK(error_of(j).rfind("network.links[0].faults.truncate_scale: expected a size", 0) == 0);

  j = base;
  j["network"]["latency"] = {{"model", "gaussian"}};
  CHECK(error_of(j).rfind("network.latency.model: expected one of constant, uniform", 0) == 0);

  j = base;
  j["groups"][0]["roles"] = {"teleporter"};
  CHECK(error_of(j).rfind("groups[0].roles[0]: expected one of the roles", 0) == 0);

  j = base;
  j["groups"][0]["adversary"] = "evil";
  CHECK(error_of(j).rfind("groups[0].adversary: expected one of corrupt_content", 0) == 0);

  j = base;
  j["workload"][1]["files"] = "nope";
  CHECK(error_of(j) ==
        "workload[1].files: expected the name of an earlier files entry, got \"nope\"");

  j = base;
  j["groups"][0]["colour"] = "red";
  CHECK(error_of(j).rfind("groups[0].colour: unknown field", 0) == 0);

  j = base;
  j["checkers"][2].erase("min");
  CHECK(error_of(j) == "checkers[2]: download_success needs \"min\" (a share between 0 and 1)");

  // The file-transfer checkers belong to the downloads driver, which validates them.
  j = base;
  j["checkers"][1]["metric"] = "frames_lost";
  CHECK(error_of(j).rfind("checkers[1].metric: unknown field", 0) == 0);

  j = base;
  j["checkers"][1]["grace"] = "soon";
  CHECK(error_of(j).rfind("checkers[1].grace: expected a duration", 0) == 0);

  j = base;
  j["checkers"][2]["min"] = 1.5;
  CHECK(error_of(j).rfind("checkers[2].min: expected a probability", 0) == 0);

  j = base;
  j["network"]["partitions"] = {{{"between", {"seeders", "ghosts"}}}};
  CHECK(error_of(j) ==
        "network.partitions[0].between[1]: expected the name of a group, got \"ghosts\"");

  j = base;
  j["churn"] = {{{"group", "leechers"}, {"session", {{"dist", "weibull"}, {"scale", "10m"}}}}};
  CHECK(error_of(j) == "churn[0].session: distribution weibull needs \"shape\"");

  j = base;
  j["groups"][1]["name"] = "seeders";
  CHECK(error_of(j) == "groups[1].name: duplicate group name \"seeders\"");

  CHECK(error_of(nlohmann::json::array()) == "(top level): expected an object, got []");
  j = base;
  j.erase("groups");
  CHECK(error_of(j) == "groups: missing (required)");
}

TEST_CASE("a missing required field is named with its path and what it holds", "[sim][scenario]") {
  auto base = test::small_transfer();
  auto j = base;
  j["groups"][1].erase("count");
  CHECK(error_of(j) == "groups[1]: missing \"count\"");
  j = base;
  j["groups"][0].erase("roles");
  CHECK(error_of(j) == "groups[0]: missing \"roles\"");
  j = base;
  j["workload"][0].erase("kind");
  CHECK(error_of(j) ==
        "workload[0]: missing \"kind\" (files, command, or a protocol workload such as downloads)");
  j = base;
  j["workload"][0].erase("providers");
  CHECK(error_of(j) == "workload[0]: missing \"providers\" (groups whose nodes hold the files)");
  j = base;
  j["workload"][1].erase("files");
  CHECK(error_of(j) == "workload[1]: missing \"files\" (the name of a files entry)");
  j = base;
  j["churn"] = {{{"group", "leechers"}}};
  CHECK(error_of(j) == "churn[0]: missing \"session\" (a distribution of session lengths)");
  j = base;
  j["churn"] = {{{"group", "leechers"}, {"session", {{"mean", "10m"}}}}};
  CHECK(error_of(j).rfind("churn[0].session: missing \"dist\" (one of ", 0) == 0);
  j = base;
  j["checkers"][0].erase("check");
  CHECK(error_of(j).rfind("checkers[0]: missing \"check\" (one of ", 0) == 0);
}

TEST_CASE("invalid JSON text is reported with the origin", "[sim][scenario]") {
  try {
    sim::parse_scenario("{\"name\": ", "broken.json");
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()).rfind("broken.json: not valid JSON", 0) == 0);
  }
}

TEST_CASE("a scenario with a NUL byte, a number too large or nested too deep is a config error",
          "[sim][scenario]") {
  // nlohmann would take the NUL for the end of the text and ignore the rest.
  auto text = test::small_transfer().dump() + std::string(1, '\0') + "{\"ignored\": [";
  try {
    sim::parse_scenario(text, "nul.json");
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "nul.json: not valid JSON: a NUL byte at offset " + std::to_string(text.find('\0')));
  }
  // nlohmann throws out_of_range, not parse_error, for a number too large.
  try {
    sim::parse_scenario(R"({"name": "x", "duration": 1e999})", "big.json");
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()).starts_with(
      "big.json: not valid JSON: [json.exception.out_of_range.406] number overflow"));
  }
  // nlohmann's message quotes the whole token read so far: a long string
  // with a bad byte gave an error of kilobytes (found by fuzz_scenario).
  try {
    sim::parse_scenario("{\"name\": \"" + std::string(10000, 'a') + "\xff\"}", "long.json");
    FAIL("no error");
  } catch (const config_error& e) {
    std::string what = e.what();
    CHECK(what.starts_with("long.json: not valid JSON: [json.exception.parse_error.101]"));
    CHECK(what.size() < 400);
    CHECK(what.ends_with("..."));
  }
  try {
    sim::parse_scenario(std::string(8u << 20, '['), "deep.json");
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) == "deep.json: nests objects and arrays deeper than 64 levels");
  }
}

TEST_CASE("durations, sizes and rates parse with units", "[sim][scenario]") {
  auto j = test::small_transfer();
  j["duration"] = "1.5h";
  j["network"]["bandwidth"] = {{"up", "1Gbit/s"}, {"down", "unlimited"}};
  j["workload"][0]["size"] = "2MiB";
  auto s = test::parse(j);
  CHECK(s.duration == 5'400'000'000LL);
  CHECK(s.default_up_bps == 125e6);
  CHECK(s.default_down_bps == 0);
  CHECK(s.file_sets[0].size == 2u * 1024 * 1024);
}

TEST_CASE("every scenario shipped in scenarios/ and scenarios/regressions/ validates",
          "[sim][scenario]") {
  int n = 0;
  for (const char* dir : {"/scenarios", "/scenarios/regressions"})
    for (auto& entry : std::filesystem::directory_iterator(std::string(PEERLAB_SOURCE_DIR) + dir)) {
      if (entry.path().extension() != ".json")
        continue;
      INFO(entry.path().string());
      CHECK_NOTHROW(sim::load_scenario(entry.path().string()));
      ++n;
    }
  CHECK(n >= 4);
}
