#include "sim_helpers.hpp"

#include "sim/results.hpp"
#include "sim/summary.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace peerlab;

namespace {

std::int64_t count(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::string temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() / (std::string("peerlab-test-") + name);
  std::filesystem::remove(p);
  return p.string();
}

void append_run(const std::string& path, std::uint64_t seed) {
  sim::sim_options o;
  o.has_seed_override = true;
  o.seed_override = seed;
  sim::simulator s(test::parse(test::small_transfer()), o);
  s.run();
  auto verdicts = sim::evaluate_checkers(s);
  sim::results_db db(path);
  db.append(s, {"test", 0.1, sim::summarize(s, 0.1), verdicts});
}

} // namespace

TEST_CASE("results: runs append and never replace earlier ones", "[sim][results]") {
  auto path = temp_path("append.db");
  append_run(path, 1);
  append_run(path, 2);
  CHECK(count(path, "SELECT COUNT(*) FROM runs") == 2);
  CHECK(count(path, "SELECT COUNT(DISTINCT fingerprint) FROM runs") == 2);
  CHECK(count(path, "SELECT COUNT(*) FROM metrics WHERE run_id = 1") > 0);
  CHECK(count(path, "SELECT COUNT(*) FROM metrics WHERE run_id = 2") > 0);
  CHECK(count(path, "SELECT COUNT(*) FROM filexfer_downloads WHERE run_id = 2") > 0);
  CHECK(count(path, "SELECT COUNT(*) FROM runs WHERE scenario_text LIKE '%\"small\"%'") == 2);
  CHECK(count(path, "SELECT COUNT(*) FROM events") == 0); // off by default
  std::filesystem::remove(path);
}

TEST_CASE("results: a SQLite file of something else is refused and left untouched",
          "[sim][results]") {
  auto path = temp_path("foreign.db");
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE customers(id INTEGER); INSERT INTO customers VALUES(7);", nullptr,
               nullptr, nullptr);
  sqlite3_close(db);
  CHECK_THROWS_WITH(sim::results_db(path), Catch::Contains("not a peerlab results file"));
  CHECK(count(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'runs'") == 0);
  CHECK(count(path, "SELECT id FROM customers") == 7);
  std::filesystem::remove(path);
}

TEST_CASE("results: a file that is not a database is refused", "[sim][results]") {
  auto path = temp_path("text.db");
  {
    std::ofstream(path)
      << "this is not sqlite, just some text that is long enough to have a header.........";
  }
  CHECK_THROWS(sim::results_db(path));
  std::filesystem::remove(path);
}

TEST_CASE("results: events are recorded when the scenario asks", "[sim][results]") {
  auto path = temp_path("events.db");
  auto j = test::small_transfer();
  j["record_events"] = true;
  sim::simulator s(test::parse(j), {});
  s.run();
  sim::results_db db(path);
  db.append(s, {"test", 0.1, sim::summarize(s, 0.1), sim::evaluate_checkers(s)});
  CHECK(count(path, "SELECT COUNT(*) FROM events WHERE kind = 'download_done'") ==
        static_cast<std::int64_t>(sim::filexfer_sim::outcomes_of(s).completed));
  std::filesystem::remove(path);
}
