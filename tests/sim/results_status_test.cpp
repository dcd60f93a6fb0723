// The runs table records how each run ended: ok, checker_failed, or
// runtime_error with its message. Files written before the status column
// existed are upgraded in place, keeping every earlier run.
#include "sim_helpers.hpp"

#include "sim/results.hpp"
#include "sim/summary.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <unistd.h>

using namespace peerlab;

namespace {

std::string temp_path(const char* name) {
  auto p = std::filesystem::temp_directory_path() /
           ("peerlab-status-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove(p);
  return p.string();
}

std::vector<std::string> sql_column(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out.push_back(t ? t : "NULL");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

void exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  auto rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

} // namespace

TEST_CASE("runs store ok, checker_failed and runtime_error with its message", "[sim][results]") {
  auto path = temp_path("status.db");
  auto s = test::parse(test::small_transfer());
  sim::simulator sim(s, {});
  sim.run();
  auto summary = sim::summarize(sim, 0);
  {
    sim::results_db db(path);
    sim::run_info ok{"c", 0, summary, {{"a", true, ""}}};
    sim::run_info bad{"c", 0, summary, {{"a", true, ""}, {"b", false, "no"}}};
    sim::run_info broken{"c", 0, summary, {}};
    broken.status = "runtime_error";
    broken.message = "watchdog: \x1b[31m livelock";
    CHECK(sim::run_status(ok) == "ok");
    CHECK(sim::run_status(bad) == "checker_failed");
    CHECK(sim::run_status(broken) == "runtime_error");
    db.append(sim, ok);
    db.append(sim, bad);
    db.append(sim, broken);
  }
  CHECK(sql_column(path, "SELECT status FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"ok", "checker_failed", "runtime_error"});
  CHECK(sql_column(path, "SELECT passed FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"1", "0", "0"});
  CHECK(sql_column(path, "SELECT status_message FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"NULL", "NULL", "watchdog: \\x1b[31m livelock"});
  CHECK(sql_column(path, "SELECT value FROM peerlab_meta WHERE key = 'schema_version'") ==
        std::vector<std::string>{"3"});
  CHECK(sql_column(path, "SELECT world FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"sim", "sim", "sim"});
  std::filesystem::remove(path);
}

TEST_CASE("a schema 1 results file gains the status column and keeps its runs", "[sim][results]") {
  auto path = temp_path("v1.db");
  exec(path, R"sql(
CREATE TABLE peerlab_meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO peerlab_meta VALUES('schema_version', '1');
CREATE TABLE runs(
  run_id INTEGER PRIMARY KEY AUTOINCREMENT, scenario_name TEXT NOT NULL,
  scenario_text TEXT NOT NULL, seed INTEGER NOT NULL, git_commit TEXT,
  parameters TEXT NOT NULL, fingerprint TEXT NOT NULL, events INTEGER NOT NULL,
  virtual_seconds REAL NOT NULL, wall_seconds REAL NOT NULL, passed INTEGER NOT NULL,
  verdicts TEXT NOT NULL, summary TEXT NOT NULL);
INSERT INTO runs VALUES(NULL, 'old', '{}', 1, 'x', '{}', 'f1', 1, 1, 1, 1, '[]', '{}');
INSERT INTO runs VALUES(NULL, 'old', '{}', 2, 'x', '{}', 'f2', 1, 1, 1, 0, '[]', '{}');
)sql");
  auto s = test::parse(test::small_transfer());
  sim::simulator sim(s, {});
  sim.run();
  {
    sim::results_db db(path);
    db.append(sim, {"c", 0, sim::summarize(sim, 0), {}});
  }
  CHECK(sql_column(path, "SELECT status FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"ok", "checker_failed", "ok"});
  CHECK(sql_column(path, "SELECT fingerprint FROM runs ORDER BY run_id").size() == 3);
  CHECK(sql_column(path, "SELECT value FROM peerlab_meta WHERE key = 'schema_version'") ==
        std::vector<std::string>{"3"});
  CHECK(sql_column(path, "SELECT world FROM runs ORDER BY run_id") ==
        std::vector<std::string>{"sim", "sim", "sim"});
  // Opening it again changes nothing.
  { sim::results_db again(path); }
  CHECK(sql_column(path, "SELECT COUNT(*) FROM runs") == std::vector<std::string>{"3"});
  std::filesystem::remove(path);
}
