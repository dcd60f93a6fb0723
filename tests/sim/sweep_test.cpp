// The pieces of `peerlab sweep` and `peerlab merge` below the CLI: Student t
// intervals, --param grids over JSON pointers, reading runs back and merging
// results files by column name.
#include "sim_helpers.hpp"

#include "sim/confidence.hpp"
#include "sim/results.hpp"
#include "sim/results_merge.hpp"
#include "sim/summary.hpp"
#include "sim/sweep_grid.hpp"

#include "protocols/common/config_fields.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>

using namespace peerlab;
using nlohmann::json;

namespace {

std::string temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() / (std::string("peerlab-sweep-test-") + name);
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(p.string() + suffix);
  return p.string();
}

void append(const std::string& path, const sim::scenario& spec, std::uint64_t seed) {
  sim::sim_options o;
  o.has_seed_override = true;
  o.seed_override = seed;
  sim::simulator s(spec, o);
  s.run();
  sim::results_db db(path);
  db.append(s, {"test", 0.1, sim::summarize(s, 0.1), sim::evaluate_checkers(s)});
}

std::string sql_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out += (out.empty() ? "" : ",") + std::string(t ? t : "NULL");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// A two-minute transfer scenario: quick to run, with every results table filled.
sim::scenario tiny(const std::string& name = "tiny") {
  auto j = test::small_transfer(2, 4, false);
  j["duration"] = "1m";
  j["workload"][1]["stop"] = "40s";
  j["name"] = name;
  return test::parse(j);
}

} // namespace

TEST_CASE("Student t 95 % quantiles match the tables", "[sweep]") {
  CHECK(sim::student_t95(1) == Approx(12.7062047).epsilon(1e-6));
  CHECK(sim::student_t95(2) == Approx(4.30265273).epsilon(1e-6));
  CHECK(sim::student_t95(4) == Approx(2.77644511).epsilon(1e-6));
  CHECK(sim::student_t95(10) == Approx(2.22813885).epsilon(1e-6));
  CHECK(sim::student_t95(30) == Approx(2.04227246).epsilon(1e-6));
  CHECK(sim::student_t95(100000) == Approx(1.95996).epsilon(1e-4));
  CHECK_THROWS(sim::student_t95(0));
}

TEST_CASE("mean and 95 % interval over seeds", "[sweep]") {
  auto one = sim::mean_ci95({4.0});
  CHECK(one.n == 1);
  CHECK(one.mean == 4.0);
  CHECK_FALSE(one.has_interval);
  // 2, 4, 6: mean 4, sd 2, half width t(2) * 2 / sqrt(3).
  auto three = sim::mean_ci95({2, 4, 6});
  CHECK(three.has_interval);
  CHECK(three.mean == Approx(4));
  CHECK(three.half_width == Approx(4.30265273 * 2 / std::sqrt(3.0)));
  auto same = sim::mean_ci95({5, 5, 5, 5});
  CHECK(same.half_width == 0);
  CHECK(sim::mean_ci95({}).n == 0);
}

TEST_CASE("param values: JSON where it parses, strings otherwise, commas inside brackets kept",
          "[sweep]") {
  auto a = sim::parse_param("/network/faults/loss=0,0.01");
  CHECK(a.pointer == "/network/faults/loss");
  REQUIRE(a.values.size() == 2);
  CHECK(a.values[1] == json(0.01));
  auto b = sim::parse_param("/duration=5m,10m");
  CHECK(b.values == std::vector<json>{"5m", "10m"});
  auto c = sim::parse_param(
    R"(/groups/2/roles=["downloader"],[{"role":"downloader","window":"64KiB"}],"a,b")");
  REQUIRE(c.values.size() == 3);
  CHECK(c.values[0] == json::array({"downloader"}));
  CHECK(c.values[1][0]["window"] == "64KiB");
  CHECK(c.values[2] == "a,b");
  CHECK_THROWS_WITH(sim::parse_param("network/faults/loss=0"),
                    Catch::Contains("must be a JSON pointer starting with /"));
  CHECK_THROWS_WITH(sim::parse_param("/duration"), Catch::Contains("expected POINTER=V1,V2"));
  CHECK_THROWS_WITH(sim::parse_param("/duration=1m,"), Catch::Contains("an empty value"));
  CHECK_THROWS_WITH(sim::parse_param("/a~2=1"), Catch::Contains("not a valid JSON pointer"));
}

TEST_CASE("a sweep grid crosses its axes, the last varying fastest, each configuration validated",
          "[sweep]") {
  auto text = test::small_transfer().dump(2);
  auto grid = sim::sweep_grid(
    text, "t.json",
    {sim::parse_param("/network/faults/loss=0,0.05"), sim::parse_param("/groups/2/count=3,5,7")});
  REQUIRE(grid.size() == 6);
  CHECK(grid[0].label() == "/network/faults/loss=0 /groups/2/count=3");
  CHECK(grid[1].label() == "/network/faults/loss=0 /groups/2/count=5");
  CHECK(grid[5].label() == "/network/faults/loss=0.05 /groups/2/count=7");
  CHECK(grid[5].spec.faults.loss == 0.05);
  CHECK(grid[5].spec.groups[2].count == 7);
  CHECK(grid[1].spec.groups[2].count == 5);
  // The stored text is the configuration: parsing it gives the same scenario.
  CHECK(json::parse(grid[4].text)["groups"][2]["count"] == 5);
  CHECK(grid[4].spec.source_text == grid[4].text);
  CHECK(grid[4].spec.resolved() == sim::parse_scenario(grid[4].text, "x").resolved());
  // No axes: the file as written, text unchanged.
  auto plain = sim::sweep_grid(text, "t.json", {});
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].text == text);
  CHECK(plain[0].label() == "as written");
}

TEST_CASE("sweep grid errors name the pointer", "[sweep]") {
  auto text = test::small_transfer().dump();
  using sim::parse_param;
  CHECK_THROWS_WITH(sim::sweep_grid(text, "t.json", {parse_param("/network/faults/los=0")}),
                    "--param /network/faults/los: no such field in t.json");
  CHECK_THROWS_WITH(sim::sweep_grid(text, "t.json", {parse_param("/groups/7/count=1")}),
                    "--param /groups/7/count: no such field in t.json");
  CHECK_THROWS_WITH(sim::sweep_grid(text, "t.json", {parse_param("/groups/x/count=1")}),
                    Catch::Contains("no such field"));
  CHECK_THROWS_WITH(
    sim::sweep_grid(text, "t.json", {parse_param("/duration=1m"), parse_param("/duration=2m")}),
    "--param /duration: given twice");
  CHECK_THROWS_WITH(sim::sweep_grid(text, "t.json", {parse_param("/groups/2/count=4,ten")}),
                    Catch::StartsWith("--param /groups/2/count=ten: groups[2].count: expected"));
  CHECK_THROWS_WITH(sim::sweep_grid(text, "t.json", {parse_param("/network/faults/loss=1.5")}),
                    Catch::StartsWith("--param /network/faults/loss=1.5: network.faults.loss"));
}

TEST_CASE("read_runs gives back the stored runs of one scenario", "[sweep]") {
  auto path = temp_path("read.db");
  CHECK(sim::read_runs(path, "tiny").empty()); // no file: no runs, and none created
  CHECK_FALSE(std::filesystem::exists(path));
  auto spec = tiny();
  append(path, spec, 3);
  append(path, tiny("other"), 3);
  auto runs = sim::read_runs(path, "tiny");
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].seed == 3);
  CHECK(runs[0].status == "ok");
  auto expected = spec.resolved();
  expected["seed"] = 3;
  CHECK(runs[0].parameters == expected);
  CHECK(runs[0].summary.contains("downloads"));
  auto foreign = temp_path("foreign.db");
  exec(foreign, "CREATE TABLE t(x)");
  CHECK_THROWS_WITH(sim::read_runs(foreign, "tiny"), Catch::Contains("not a peerlab results file"));
}

TEST_CASE("merge renumbers runs, keeps their rows together and adds a run once", "[sweep]") {
  auto a = temp_path("a.db"), b = temp_path("b.db"), out = temp_path("out.db");
  auto spec = tiny();
  append(a, spec, 1);
  append(a, spec, 2);
  append(b, spec, 3);
  append(b, spec, 1); // the same run as a's first: same parameters, seed and fingerprint
  auto rep = sim::merge_results(out, {a, b});
  CHECK(rep.added == 3);
  CHECK(rep.duplicates == 1);
  CHECK(sql_text(out, "SELECT seed FROM runs ORDER BY run_id") == "1,2,3");
  // Each run's metrics came with it: per run, as many rows as in its shard.
  CHECK(sql_text(out, "SELECT COUNT(*) FROM metrics WHERE run_id = 3") ==
        sql_text(b, "SELECT COUNT(*) FROM metrics WHERE run_id = 1"));
  CHECK(sql_text(out, "SELECT COUNT(*) FROM metrics WHERE run_id = 2") ==
        sql_text(a, "SELECT COUNT(*) FROM metrics WHERE run_id = 2"));
  CHECK(
    sql_text(
      out,
      "SELECT COUNT(*) FROM filexfer_downloads WHERE run_id NOT IN (SELECT run_id FROM runs)") ==
    "0");
  CHECK(sql_text(out, "SELECT fingerprint FROM runs WHERE run_id = 3") ==
        sql_text(b, "SELECT fingerprint FROM runs WHERE run_id = 1"));
  // Again: nothing new.
  auto again = sim::merge_results(out, {b, a});
  CHECK(again.added == 0);
  CHECK(again.duplicates == 4);
  CHECK(sql_text(out, "SELECT COUNT(*) FROM runs") == "3");
}

TEST_CASE("merge copies runs columns by name, including ones added later", "[sweep]") {
  auto shard = temp_path("later-shard.db"), out = temp_path("later-out.db"),
       old_out = temp_path("later-old.db");
  append(shard, tiny(), 1);
  // A column a later schema might add, and a live run (world is copied by name too).
  exec(shard, "ALTER TABLE runs ADD COLUMN later TEXT NOT NULL DEFAULT 'x'; "
              "UPDATE runs SET later = 'from shard', world = 'live'");
  { sim::results_db create(out); }
  exec(out, "ALTER TABLE runs ADD COLUMN later TEXT NOT NULL DEFAULT 'x'");
  CHECK(sim::merge_results(out, {shard}).added == 1);
  CHECK(sql_text(out, "SELECT later || '/' || world FROM runs") == "from shard/live");
  // An output without the column refuses the shard rather than drop it.
  CHECK_THROWS_WITH(sim::merge_results(old_out, {shard}),
                    Catch::Contains("has column runs.later that"));
  CHECK(sql_text(old_out, "SELECT COUNT(*) FROM runs") == "0");
  // A shard without columns the output has (schema 2: no world) gets their defaults; the
  // same run as simulated is not a duplicate of its live twin.
  auto plain = temp_path("later-plain.db");
  append(plain, tiny(), 1);
  exec(plain, "ALTER TABLE runs DROP COLUMN world");
  auto rep = sim::merge_results(out, {plain});
  CHECK(rep.added == 1);
  CHECK(sql_text(out, "SELECT later || '/' || world FROM runs ORDER BY run_id") ==
        "from shard/live,x/sim");
  CHECK(sql_text(out, "SELECT COUNT(DISTINCT fingerprint) FROM runs") == "1");
  auto runs = sim::read_runs(out, "tiny");
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].world == "live");
  CHECK(runs[1].world == "sim");
}

TEST_CASE("merge refuses files that are not peerlab results files before touching the output",
          "[sweep]") {
  auto out = temp_path("refuse-out.db"), foreign = temp_path("refuse-foreign.db"),
       good = temp_path("refuse-good.db");
  exec(foreign, "CREATE TABLE t(x)");
  append(good, tiny(), 1);
  CHECK_THROWS_WITH(sim::merge_results(out, {good, foreign}),
                    Catch::Contains("refuse-foreign.db: not a peerlab results file"));
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_THROWS_WITH(sim::merge_results(out, {temp_path("missing.db")}),
                    Catch::Contains("no such file"));
  CHECK_THROWS_WITH(sim::merge_results(good, {good}), Catch::Contains("is the output file itself"));
}
