// The shared argument parser of the peerlab subcommands (apps/peerlab/args.hpp).
#include "apps/peerlab/args.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace peerlab;
using namespace peerlab::app;

namespace {

const command_help demo{"demo",
                        "FILE [options]",
                        "A command for the tests.",
                        {{"seed", "N", "a count"},
                         {"delay", "D", "a duration"},
                         {"limit", "SIZE", "a size"},
                         {"loss", "P", "a probability"},
                         {"quiet", "", "a flag"},
                         {"param", "X", "repeatable", true},
                         {"jobs", "N", "with a short name", false, 'j'}},
                        "Notes line."};

args parse(std::vector<std::string> v) {
  std::vector<char*> argv;
  for (auto& s : v)
    argv.push_back(s.data());
  return args(demo, static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> v) {
  try {
    parse(std::move(v));
  } catch (const usage_error& e) {
    return e.what();
  }
  return "<no error>";
}

} // namespace

TEST_CASE("args: options, flags and positional arguments in any order", "[apps][args]") {
  auto a = parse({"demo", "--seed", "7", "in.json", "--quiet", "--delay=250ms", "--", "--x"});
  CHECK_FALSE(a.help());
  CHECK(a.positional() == std::vector<std::string>{"in.json", "--x"});
  CHECK(a.count("seed") == 7u);
  CHECK(a.duration("delay") == 250 * us_per_ms);
  CHECK(a.flag("quiet"));
  CHECK_FALSE(a.flag("loss"));
  CHECK_FALSE(a.value("limit"));
  CHECK(a.value_or("limit", "none") == "none");
}

TEST_CASE("args: typed values parse durations, sizes and probabilities", "[apps][args]") {
  auto a = parse({"demo", "--delay", "10s", "--limit", "4MiB", "--loss", "0.25"});
  CHECK(a.duration("delay") == 10 * us_per_s);
  CHECK(a.size("limit") == 4u << 20);
  CHECK(a.probability("loss") == 0.25);
}

TEST_CASE("args: bad usage names the option and what was wrong", "[apps][args]") {
  CHECK(error_of({"demo", "--bogus"}) == "unknown option --bogus");
  CHECK(error_of({"demo", "--bogus=1"}) == "unknown option --bogus");
  CHECK(error_of({"demo", "-x"}) == "unknown option -x");
  CHECK(error_of({"demo", "--seed"}) == "option --seed needs a value (N)");
  CHECK(error_of({"demo", "--seed", "1", "--seed", "2"}) == "option --seed given twice");
  CHECK(error_of({"demo", "--quiet=yes"}) == "option --quiet takes no value");
  CHECK_THROWS_WITH(parse({"demo", "--seed", "-1"}).count("seed"),
                    "--seed: expected a non-negative integer, got \"-1\"");
  CHECK_THROWS_WITH(parse({"demo", "--seed", "99999999999999999999"}).count("seed"),
                    "--seed: expected a non-negative integer, got \"99999999999999999999\"");
  CHECK_THROWS_WITH(parse({"demo", "--delay", "soon"}).duration("delay"),
                    "--delay: expected a duration like 250ms, 10s or 2m, got \"soon\"");
  CHECK_THROWS_WITH(parse({"demo", "--limit", "4 lots"}).size("limit"),
                    "--limit: expected a size like 4MiB, 64KiB or 100, got \"4 lots\"");
  CHECK_THROWS_WITH(parse({"demo", "--loss", "1.5"}).probability("loss"),
                    "--loss: expected a probability from 0 to 1, got \"1.5\"");
  CHECK_THROWS_WITH(parse({"demo"}).required("seed"), "option --seed N is required");
}

TEST_CASE("args: --help and -h stop parsing, the usage lists every option", "[apps][args]") {
  CHECK(parse({"demo", "--help", "--bogus"}).help());
  CHECK(parse({"demo", "in.json", "-h"}).help());
  auto u = usage_text(demo);
  CHECK(u.rfind("usage: peerlab demo FILE [options]\n", 0) == 0);
  for (auto* name : {"--seed N", "--delay D", "--limit SIZE", "--loss P", "--quiet", "--help"})
    CHECK(u.find(name) != std::string::npos);
  CHECK(u.find("Notes line.") != std::string::npos);
  CHECK(u.find("3 runtime failure") != std::string::npos);
}

TEST_CASE("args: run_parsed maps help, usage errors and failures to exit codes", "[apps][args]") {
  auto run = [](std::vector<std::string> v, int rc_of_body) {
    std::vector<char*> argv;
    for (auto& s : v)
      argv.push_back(s.data());
    return run_parsed(demo, static_cast<int>(argv.size()), argv.data(), [&](const args& a) -> int {
      if (rc_of_body < 0)
        throw std::runtime_error("disk on fire");
      a.count("seed");
      return rc_of_body;
    });
  };
  CHECK(run({"demo", "--help"}, 1) == exit_code::ok);
  CHECK(run({"demo", "--bogus"}, 0) == exit_code::usage);
  CHECK(run({"demo", "--seed", "x"}, 0) == exit_code::usage);
  CHECK(run({"demo"}, 1) == exit_code::failed);
  CHECK(run({"demo"}, -1) == exit_code::runtime);
}

TEST_CASE("args: repeatable options keep every value, short names work like long ones",
          "[apps][args]") {
  auto a = parse({"demo", "--param", "a=1", "-j", "4", "--param=b=2,3", "f"});
  CHECK(a.values("param") == std::vector<std::string>{"a=1", "b=2,3"});
  CHECK(a.count("jobs") == 4u);
  CHECK(a.values("seed").empty());
  CHECK(parse({"demo", "--jobs", "2"}).count("jobs") == 2u);
  CHECK(error_of({"demo", "-j", "1", "--jobs", "2"}) == "option --jobs given twice");
  CHECK(error_of({"demo", "-x"}) == "unknown option -x");
  CHECK(error_of({"demo", "-j"}) == "option --jobs needs a value (N)");
  auto usage = usage_text(demo);
  CHECK(usage.find("  -j, --jobs N          with a short name\n") != std::string::npos);
}
