#include "sim/results.hpp"

#include "sim/drivers/filexfer_driver.hpp"
#include "protocols/common/printable.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace peerlab::sim {

namespace {

const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS peerlab_meta(key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO peerlab_meta VALUES('schema_version', '3');
CREATE TABLE IF NOT EXISTS runs(
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  scenario_name TEXT NOT NULL,
  scenario_text TEXT NOT NULL,
  seed INTEGER NOT NULL,
  git_commit TEXT,
  parameters TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  events INTEGER NOT NULL,
  virtual_seconds REAL NOT NULL,
  wall_seconds REAL NOT NULL,
  passed INTEGER NOT NULL,
  verdicts TEXT NOT NULL,
  summary TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'ok',
  status_message TEXT,
  world TEXT NOT NULL DEFAULT 'sim');
CREATE TABLE IF NOT EXISTS metrics(
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  t_us INTEGER NOT NULL,
  grp TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name);
CREATE TABLE IF NOT EXISTS observations(
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  name TEXT NOT NULL,
  count INTEGER NOT NULL,
  mean REAL, p50 REAL, p90 REAL, p99 REAL, max REAL);
CREATE TABLE IF NOT EXISTS events(
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  t_us INTEGER NOT NULL,
  node INTEGER NOT NULL,
  grp TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS node_rows(
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  node INTEGER NOT NULL,
  grp TEXT NOT NULL,
  tbl TEXT NOT NULL,
  row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS filexfer_downloads(
  run_id INTEGER NOT NULL REFERENCES runs(run_id),
  t_end_us INTEGER NOT NULL,
  node INTEGER NOT NULL,
  grp TEXT NOT NULL,
  outcome TEXT NOT NULL,
  duration_us REAL,
  bytes REAL,
  attempts REAL,
  reason TEXT);
)sql";

struct stmt {
  sqlite3_stmt* s = nullptr;
  stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("results: cannot prepare statement: ") +
                               sqlite3_errmsg(db));
  }
  ~stmt() { sqlite3_finalize(s); }
  stmt& text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& i64(int i, std::int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  stmt& real(int i, double v) {
    sqlite3_bind_double(s, i, v);
    return *this;
  }
  void step(sqlite3* db) {
    if (sqlite3_step(s) != SQLITE_DONE)
      throw std::runtime_error(std::string("results: write failed: ") + sqlite3_errmsg(db));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

// Schema 1 had no status: add it, derived from `passed` (runtime failures
// were not stored then). Earlier runs are kept as they are.
const char* migrate_1_to_2 = R"sql(
ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE runs ADD COLUMN status_message TEXT;
UPDATE runs SET status = 'checker_failed' WHERE passed = 0;
UPDATE peerlab_meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Schema 3 says which world produced a run: the simulator or live nodes
// (peerlab testbed). Every earlier run was simulated.
const char* migrate_2_to_3 = R"sql(
ALTER TABLE runs ADD COLUMN world TEXT NOT NULL DEFAULT 'sim';
UPDATE peerlab_meta SET value = '3' WHERE key = 'schema_version';
)sql";

bool has_column(sqlite3* db, const char* table, const char* column) {
  sqlite3_stmt* s = nullptr;
  std::string sql = std::string("PRAGMA table_info(") + table + ")";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return false;
  bool found = false;
  while (sqlite3_step(s) == SQLITE_ROW) {
    auto* n = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    found = found || (n && std::string(n) == column);
  }
  sqlite3_finalize(s);
  return found;
}

} // namespace

std::string run_status(const run_info& info) {
  if (!info.status.empty())
    return info.status;
  for (auto& v : info.verdicts)
    if (!v.passed)
      return "checker_failed";
  return "ok";
}

results_db::results_db(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(path + ": cannot open results file: " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  // A file that exists but is not a peerlab results database is refused
  // rather than modified.
  sqlite3_stmt* probe = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type='table'", -1, &probe,
                         nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(path + ": not a SQLite database (" + msg + ")");
  }
  bool any = false, ours = false;
  while (sqlite3_step(probe) == SQLITE_ROW) {
    any = true;
    auto* n = reinterpret_cast<const char*>(sqlite3_column_text(probe, 0));
    if (n && std::string(n) == "peerlab_meta")
      ours = true;
  }
  sqlite3_finalize(probe);
  if (any && !ours) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(
      path + ": is a SQLite database but not a peerlab results file; refusing to modify it");
  }
  exec("PRAGMA journal_mode=WAL");
  exec(schema);
  if (!has_column(db_, "runs", "status")) {
    exec("BEGIN IMMEDIATE");
    try {
      exec(migrate_1_to_2);
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  if (!has_column(db_, "runs", "world")) {
    exec("BEGIN IMMEDIATE");
    try {
      exec(migrate_2_to_3);
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

results_db::~results_db() {
  if (db_)
    sqlite3_close(db_);
}

void results_db::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(path_ + ": " + msg);
  }
}

std::int64_t results_db::append(const run_view& sim, const run_info& info) {
  auto& spec = sim.spec();
  nlohmann::json verdicts = nlohmann::json::array();
  auto status = run_status(info);
  bool passed = status == "ok";
  for (auto& v : info.verdicts)
    verdicts.push_back({{"check", v.check}, {"passed", v.passed}, {"detail", v.detail}});
  // Text in these documents may come from peers: never let it stop the write.
  auto dump = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  auto params = spec.resolved();
  params["seed"] = sim.seed();
  exec("BEGIN IMMEDIATE");
  try {
    stmt run(db_, "INSERT INTO runs(scenario_name, scenario_text, seed, git_commit, parameters, "
                  "fingerprint, events, virtual_seconds, wall_seconds, passed, verdicts, summary, "
                  "status, status_message, world) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    run.text(1, spec.name)
      .text(2, spec.source_text)
      .i64(3, static_cast<std::int64_t>(sim.seed()))
      .text(4, info.git_commit)
      .text(5, dump(params))
      .text(6, sim.fingerprint_hex())
      .i64(7, static_cast<std::int64_t>(sim.event_count()))
      .real(8, static_cast<double>(sim.now_time()) / 1e6)
      .real(9, info.wall_seconds)
      .i64(10, passed ? 1 : 0)
      .text(11, dump(verdicts))
      .text(12, dump(info.summary))
      .text(13, status);
    if (!info.message.empty())
      run.text(14, printable(info.message));
    run.text(15, sim.world());
    run.step(db_);
    auto run_id = sqlite3_last_insert_rowid(db_);

    auto group_name = [&](std::uint32_t g) {
      return g < spec.groups.size() ? spec.groups[g].name : std::string("*");
    };
    stmt m(db_, "INSERT INTO metrics VALUES(?,?,?,?,?)");
    for (auto& row : sim.metric_series())
      m.i64(1, run_id)
        .i64(2, row.t)
        .text(3, group_name(row.group))
        .text(4, row.name)
        .real(5, row.value)
        .step(db_);

    stmt o(db_, "INSERT INTO observations VALUES(?,?,?,?,?,?,?,?)");
    for (auto& [name, s] : sim.stats().observations()) {
      double mean = s.count() ? s.sum() / static_cast<double>(s.count()) : 0;
      o.i64(1, run_id)
        .text(2, name)
        .i64(3, static_cast<std::int64_t>(s.count()))
        .real(4, mean)
        .real(5, s.quantile(0.5))
        .real(6, s.quantile(0.9))
        .real(7, s.quantile(0.99))
        .real(8, s.quantile(1.0))
        .step(db_);
    }

    stmt e(db_, "INSERT INTO events VALUES(?,?,?,?,?,?)");
    for (auto& row : sim.recorded_events())
      e.i64(1, run_id)
        .i64(2, row.t)
        .i64(3, row.node)
        .text(4, group_name(sim.group_of(row.node)))
        .text(5, row.kind)
        .text(6, row.detail)
        .step(db_);

    stmt d(db_, "INSERT INTO filexfer_downloads VALUES(?,?,?,?,?,?,?,?,?)");
    for (auto& r : filexfer_sim::outcomes_of(sim).records)
      d.i64(1, run_id)
        .i64(2, r.end)
        .i64(3, r.node)
        .text(4, group_name(sim.group_of(r.node)))
        .text(5, r.completed ? "completed" : "failed")
        .real(6, r.duration_us)
        .real(7, r.bytes)
        .real(8, r.attempts)
        .text(9, r.reason)
        .step(db_);
    stmt nr(db_, "INSERT INTO node_rows VALUES(?,?,?,?,?)");
    for (auto& r : sim.node_rows())
      nr.i64(1, run_id)
        .i64(2, r.node)
        .text(3, group_name(sim.group_of(r.node)))
        .text(4, r.table)
        .text(5, r.row)
        .step(db_);
    exec("COMMIT");
    return run_id;
  } catch (...) {
    char* err = nullptr;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, &err);
    sqlite3_free(err);
    throw;
  }
}

} // namespace peerlab::sim
