#include "net/sqlite_store.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <map>

namespace peerlab::net {

namespace {

// A null pointer would bind SQL NULL; empty keys and values are stored as "".
void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

// Resets a statement when the scope ends, whatever path it takes.
struct stmt_reset {
  sqlite3_stmt* s;
  ~stmt_reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

// A thread's atomic groups, per store: nesting depth, and whether its
// transaction has begun (the thread then holds the store's mutex once more).
struct atomic_group {
  int depth = 0;
  bool begun = false;
};
thread_local std::map<const sqlite_store*, atomic_group> atomic_groups;

} // namespace

sqlite_store::sqlite_store(const std::filesystem::path& file, log_fn log)
    : file_(file.string()), log_(std::move(log)) {
  auto fail = [&](const std::string& why) {
    std::string msg = "cannot open the store " + file_ + ": " + why;
    if (db_)
      sqlite3_close(db_);
    db_ = nullptr;
    throw store_error(msg);
  };
  if (sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    fail(db_ ? sqlite3_errmsg(db_) : "out of memory");
  sqlite3_busy_timeout(db_, 2000);
  const char* setup =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS rows(tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " PRIMARY KEY(tbl, key)) WITHOUT ROWID;";
  char* err = nullptr;
  if (sqlite3_exec(db_, setup, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    fail(why);
  }
  auto prepare = [&](const char* sql, sqlite3_stmt** out) {
    if (sqlite3_prepare_v2(db_, sql, -1, out, nullptr) != SQLITE_OK)
      fail(sqlite3_errmsg(db_));
  };
  prepare("INSERT OR REPLACE INTO rows(tbl, key, value) VALUES(?1, ?2, ?3)", &put_);
  prepare("SELECT value FROM rows WHERE tbl = ?1 AND key = ?2", &get_);
  prepare("DELETE FROM rows WHERE tbl = ?1 AND key = ?2", &erase_);
  prepare("SELECT key, value FROM rows WHERE tbl = ?1 ORDER BY key", &scan_);
  try {
    tables_ = std::make_unique<sqlite_tables>(
      db_, [this](const std::string& m, bool error) { report_text(m, error); });
  } catch (const std::exception& e) {
    for (auto* s : {put_, get_, erase_, scan_})
      sqlite3_finalize(s);
    fail(e.what());
  }
}

sqlite_store::~sqlite_store() {
  tables_.reset();
  for (auto* s : {put_, get_, erase_, scan_})
    sqlite3_finalize(s);
  sqlite3_close(db_);
}

void sqlite_store::report(const char* what) const {
  ++errors_;
  std::string msg = std::string("store ") + file_ + ": " + what + " failed: " + sqlite3_errmsg(db_);
  if (log_)
    log_(msg);
  else
    std::fprintf(stderr, "%s\n", msg.c_str());
}

void sqlite_store::report_text(const std::string& msg, bool error) const {
  if (error)
    ++errors_;
  std::string line = "store " + file_ + ": " + msg;
  if (log_)
    log_(line);
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

void sqlite_store::declare(const table_schema& s) {
  std::lock_guard lock(mu_);
  enter_write();
  tables_->declare(s);
}

bool sqlite_store::put(const table_schema& s, const row& r) {
  std::lock_guard lock(mu_);
  enter_write();
  return tables_->put(s, r);
}

std::optional<row> sqlite_store::get(const table_schema& s, const key& k) const {
  std::lock_guard lock(mu_);
  return tables_->get(s, k);
}

void sqlite_store::erase(const table_schema& s, const key& k) {
  std::lock_guard lock(mu_);
  enter_write();
  tables_->erase(s, k);
}

void sqlite_store::scan(const table_schema& s, const key& prefix,
                        const std::function<void(const row&)>& f) const {
  std::vector<row> rows;
  {
    std::lock_guard lock(mu_);
    rows = tables_->scan(s, prefix);
  }
  for (auto& r : rows)
    f(r);
}

std::size_t sqlite_store::count(const table_schema& s) const {
  std::lock_guard lock(mu_);
  return tables_->count(s);
}

void sqlite_store::put(std::string_view table, std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  enter_write();
  stmt_reset r{put_};
  bind_text(put_, 1, table);
  bind_text(put_, 2, key);
  bind_blob(put_, 3, value);
  if (sqlite3_step(put_) != SQLITE_DONE)
    report("put");
}

std::optional<std::string> sqlite_store::get(std::string_view table, std::string_view key) const {
  std::lock_guard lock(mu_);
  stmt_reset r{get_};
  bind_text(get_, 1, table);
  bind_text(get_, 2, key);
  int rc = sqlite3_step(get_);
  if (rc == SQLITE_ROW) {
    auto* p = static_cast<const char*>(sqlite3_column_blob(get_, 0));
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(get_, 0));
    return std::string(p ? p : "", n);
  }
  if (rc != SQLITE_DONE)
    report("get");
  return std::nullopt;
}

void sqlite_store::erase(std::string_view table, std::string_view key) {
  std::lock_guard lock(mu_);
  enter_write();
  stmt_reset r{erase_};
  bind_text(erase_, 1, table);
  bind_text(erase_, 2, key);
  if (sqlite3_step(erase_) != SQLITE_DONE)
    report("erase");
}

void sqlite_store::scan(
  std::string_view table,
  const std::function<void(std::string_view key, std::string_view value)>& f) const {
  // Rows are copied out first so that `f` may call back into the store.
  std::vector<std::pair<std::string, std::string>> rows;
  {
    std::lock_guard lock(mu_);
    stmt_reset r{scan_};
    bind_text(scan_, 1, table);
    int rc;
    while ((rc = sqlite3_step(scan_)) == SQLITE_ROW) {
      auto* k = reinterpret_cast<const char*>(sqlite3_column_text(scan_, 0));
      auto kn = static_cast<std::size_t>(sqlite3_column_bytes(scan_, 0));
      auto* v = static_cast<const char*>(sqlite3_column_blob(scan_, 1));
      auto vn = static_cast<std::size_t>(sqlite3_column_bytes(scan_, 1));
      rows.emplace_back(std::string(k ? k : "", kn), std::string(v ? v : "", vn));
    }
    if (rc != SQLITE_DONE)
      report("scan");
  }
  for (auto& [k, v] : rows)
    f(k, v);
}

void sqlite_store::begin_atomic() { ++atomic_groups[this].depth; }

void sqlite_store::enter_write() {
  auto it = atomic_groups.find(this);
  if (it == atomic_groups.end() || it->second.begun)
    return;
  mu_.lock(); // held until end_atomic: no other thread's write joins this transaction
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    report("begin");
    mu_.unlock(); // the writes of this group then commit one by one, as outside a group
    atomic_groups.erase(it);
    return;
  }
  it->second.begun = true;
}

void sqlite_store::end_atomic(bool commit) {
  auto it = atomic_groups.find(this);
  if (it == atomic_groups.end() || --it->second.depth > 0)
    return;
  bool begun = it->second.begun;
  atomic_groups.erase(it);
  if (!begun)
    return;
  if (sqlite3_exec(db_, commit ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
    report(commit ? "commit" : "rollback");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); // never leave it open
  }
  mu_.unlock();
}

std::uint64_t sqlite_store::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

} // namespace peerlab::net
