#include "net/sqlite_tables.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>

namespace peerlab::net {

namespace {

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

// Resets a statement when the scope ends, whatever path it takes.
struct stmt_reset {
  sqlite3_stmt* s;
  ~stmt_reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

// A null pointer would bind SQL NULL, so empty text and blobs get "".
void bind_cell(sqlite3_stmt* s, int i, const cell& c) {
  static const char empty[1] = {0};
  if (auto* v = std::get_if<std::int64_t>(&c))
    sqlite3_bind_int64(s, i, *v);
  else if (auto* d = std::get_if<double>(&c))
    sqlite3_bind_double(s, i, *d);
  else if (auto* t = std::get_if<std::string>(&c))
    sqlite3_bind_text(s, i, t->empty() ? empty : t->data(), static_cast<int>(t->size()),
                      SQLITE_TRANSIENT);
  else {
    auto& b = std::get<bytes>(c);
    sqlite3_bind_blob(s, i, b.empty() ? static_cast<const void*>(empty) : b.data(),
                      static_cast<int>(b.size()), SQLITE_TRANSIENT);
  }
}

void bind_key(sqlite3_stmt* s, const key& k) {
  for (std::size_t i = 0; i < k.size(); ++i)
    bind_cell(s, static_cast<int>(i + 1), k[i]);
}

// The value as stored, whatever its type (NULL reads as empty text).
cell raw(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
  case SQLITE_INTEGER:
    return static_cast<std::int64_t>(sqlite3_column_int64(s, i));
  case SQLITE_FLOAT:
    return sqlite3_column_double(s, i);
  case SQLITE_BLOB: {
    auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
    return bytes(p, p + sqlite3_column_bytes(s, i));
  }
  default: {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
  }
  }
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const char* default_of(column_type t) {
  switch (t) {
  case column_type::integer:
    return "0";
  case column_type::real:
    return "0.0";
  case column_type::text:
    return "''";
  case column_type::blob:
    return "x''";
  }
  return "0";
}

std::string column_sql(const column& c) {
  return quoted(c.name) + " " + sql_type(c.type) + " NOT NULL DEFAULT " + default_of(c.type);
}

bool same_columns(const table_schema& s, const std::vector<column>& cols, std::size_t keys) {
  if (cols.size() != s.columns.size() || keys != s.key_columns)
    return false;
  for (std::size_t i = 0; i < cols.size(); ++i)
    if (cols[i].name != s.columns[i].name || cols[i].type != s.columns[i].type ||
        cols[i].exact_size != s.columns[i].exact_size)
      return false;
  return true;
}

struct disk_column {
  std::string name;
  std::string type;
  int pk = 0;
};

} // namespace

sqlite_tables::sqlite_tables(sqlite3* db, report_fn report) : db_(db), report_(std::move(report)) {
  exec("CREATE TABLE IF NOT EXISTS schema_versions(tbl TEXT PRIMARY KEY NOT NULL,"
       " version INTEGER NOT NULL) WITHOUT ROWID");
}

sqlite_tables::~sqlite_tables() {
  for (auto& [name, t] : tables_) {
    for (auto* s : {t.put, t.get, t.erase})
      sqlite3_finalize(s);
    for (auto* s : t.scans)
      sqlite3_finalize(s);
  }
}

void sqlite_tables::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw table_error(why + " (in: " + sql.substr(0, 200) + ")");
  }
}

sqlite3_stmt* sqlite_tables::compile(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw table_error(std::string(sqlite3_errmsg(db_)) + " (in: " + sql.substr(0, 200) + ")");
  return s;
}

void sqlite_tables::declare(const table_schema& s) { ready(s); }

sqlite_tables::table_state& sqlite_tables::ready(const table_schema& s) {
  auto it = tables_.find(s.name);
  if (it != tables_.end()) {
    if (!same_columns(s, it->second.columns, it->second.key_columns) ||
        it->second.version != s.version)
      throw table_error("table " + s.name + " is declared twice with different columns");
    return it->second;
  }
  if (s.columns.empty() || s.key_columns == 0 || s.key_columns > s.columns.size())
    throw table_error("table " + s.name + ": a schema needs columns and 1..columns key columns");
  exec("SAVEPOINT declare_table");
  try {
    create_or_migrate(s);
    import_legacy(s);
    exec("RELEASE declare_table");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK TO declare_table; RELEASE declare_table", nullptr, nullptr,
                 nullptr);
    throw;
  }
  table_state t;
  t.columns = s.columns;
  t.key_columns = s.key_columns;
  t.version = s.version;
  prepare(s, t);
  return tables_.emplace(s.name, std::move(t)).first->second;
}

void sqlite_tables::create_or_migrate(const table_schema& s) {
  std::optional<std::int64_t> stored;
  {
    auto* q = compile("SELECT version FROM schema_versions WHERE tbl = ?1");
    bind_cell(q, 1, s.name);
    if (sqlite3_step(q) == SQLITE_ROW)
      stored = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
  }
  std::vector<disk_column> disk;
  {
    auto* q = compile("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid");
    bind_cell(q, 1, s.name);
    while (sqlite3_step(q) == SQLITE_ROW)
      disk.push_back({reinterpret_cast<const char*>(sqlite3_column_text(q, 0)),
                      upper(reinterpret_cast<const char*>(sqlite3_column_text(q, 1))),
                      sqlite3_column_int(q, 2)});
    sqlite3_finalize(q);
  }
  auto version_text = [&](std::int64_t v) { return "version " + std::to_string(v); };
  if (stored && *stored > s.version)
    throw table_error("table " + s.name + " is at " + version_text(*stored) +
                      " in the file, newer than this build's " + version_text(s.version));
  if (disk.empty()) {
    std::string sql = "CREATE TABLE " + quoted(s.name) + "(";
    for (auto& c : s.columns)
      sql += column_sql(c) + ", ";
    sql += "PRIMARY KEY(";
    for (std::size_t i = 0; i < s.key_columns; ++i)
      sql += (i ? ", " : "") + quoted(s.columns[i].name);
    exec(sql + ")) WITHOUT ROWID");
  } else {
    // What is on disk must be the schema or a prefix of it (an older version
    // with fewer columns): same names, types and primary key, in order.
    auto mismatch = [&](const std::string& why) {
      throw table_error("table " + s.name + " in the file does not match " +
                        version_text(s.version) + " of its schema: " + why);
    };
    if (disk.size() > s.columns.size())
      mismatch("it has " + std::to_string(disk.size()) + " columns, the schema " +
               std::to_string(s.columns.size()));
    if (disk.size() < s.columns.size() && stored && *stored == s.version)
      mismatch("columns are missing at the same version");
    for (std::size_t i = 0; i < disk.size(); ++i) {
      auto& c = s.columns[i];
      int pk = i < s.key_columns ? static_cast<int>(i + 1) : 0;
      if (disk[i].name != c.name || disk[i].type != sql_type(c.type) || disk[i].pk != pk)
        mismatch("column " + std::to_string(i + 1) + " is " + disk[i].name + " " + disk[i].type +
                 ", the schema wants " + c.name + " " + sql_type(c.type) +
                 (pk ? " (primary key)" : ""));
    }
    for (std::size_t i = disk.size(); i < s.columns.size(); ++i) {
      if (i < s.key_columns)
        mismatch("the primary key changed");
      exec("ALTER TABLE " + quoted(s.name) + " ADD COLUMN " + column_sql(s.columns[i]));
    }
  }
  auto* up = compile("INSERT OR REPLACE INTO schema_versions(tbl, version) VALUES(?1, ?2)");
  bind_cell(up, 1, s.name);
  bind_cell(up, 2, static_cast<std::int64_t>(s.version));
  int rc = sqlite3_step(up);
  sqlite3_finalize(up);
  if (rc != SQLITE_DONE)
    throw table_error("table " + s.name + ": cannot record its version: " + sqlite3_errmsg(db_));
}

void sqlite_tables::import_legacy(const table_schema& s) {
  if (!s.from_legacy || s.legacy_table.empty())
    return;
  bool has_rows = false;
  {
    auto* q = compile("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rows'");
    has_rows = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
  }
  if (!has_rows)
    return;
  std::vector<std::pair<std::string, std::string>> old;
  {
    auto* q = compile("SELECT key, value FROM rows WHERE tbl = ?1 ORDER BY key");
    bind_cell(q, 1, s.legacy_table);
    while (sqlite3_step(q) == SQLITE_ROW) {
      auto k = std::get<std::string>(raw(q, 0));
      auto v = raw(q, 1);
      std::string value;
      if (auto* b = std::get_if<bytes>(&v))
        value.assign(b->begin(), b->end());
      else if (auto* t = std::get_if<std::string>(&v))
        value = *t;
      old.emplace_back(std::move(k), std::move(value));
    }
    sqlite3_finalize(q);
  }
  if (old.empty())
    return;
  table_state tmp;
  tmp.columns = s.columns;
  tmp.key_columns = s.key_columns;
  prepare(s, tmp);
  auto* del = compile("DELETE FROM rows WHERE tbl = ?1 AND key = ?2");
  std::size_t moved = 0;
  for (auto& [k, v] : old) {
    auto r = s.from_legacy(k, v);
    std::string why = r ? check_row(s, *r) : "the old value cannot be read";
    if (!why.empty()) {
      report_("table " + s.name + ": old row " + s.legacy_table + "/'" + k.substr(0, 80) +
                "' not migrated (" + why + "); it stays in the rows table",
              true);
      continue;
    }
    {
      stmt_reset reset{tmp.put};
      for (std::size_t i = 0; i < r->cells.size(); ++i)
        bind_cell(tmp.put, static_cast<int>(i + 1), r->cells[i]);
      if (sqlite3_step(tmp.put) != SQLITE_DONE)
        throw table_error("table " + s.name + ": migrating '" + k + "': " + sqlite3_errmsg(db_));
    }
    stmt_reset reset{del};
    bind_cell(del, 1, s.legacy_table);
    bind_cell(del, 2, k);
    if (sqlite3_step(del) != SQLITE_DONE)
      throw table_error("table " + s.name + ": migrating '" + k + "': " + sqlite3_errmsg(db_));
    ++moved;
  }
  sqlite3_finalize(del);
  for (auto* st : {tmp.put, tmp.get, tmp.erase})
    sqlite3_finalize(st);
  for (auto* st : tmp.scans)
    sqlite3_finalize(st);
  report_("table " + s.name + ": migrated " + std::to_string(moved) + " of " +
            std::to_string(old.size()) + " rows from the old rows table",
          false);
}

void sqlite_tables::prepare(const table_schema& s, table_state& t) {
  std::string cols, marks, where, order;
  for (std::size_t i = 0; i < s.columns.size(); ++i) {
    cols += (i ? ", " : "") + quoted(s.columns[i].name);
    marks += (i ? ", ?" : "?") + std::to_string(i + 1);
  }
  auto name = quoted(s.name);
  for (std::size_t i = 0; i < s.key_columns; ++i)
    order += (i ? ", " : "") + quoted(s.columns[i].name);
  auto where_first = [&](std::size_t n) {
    std::string w;
    for (std::size_t i = 0; i < n; ++i)
      w += (i ? " AND " : " WHERE ") + quoted(s.columns[i].name) + " = ?" + std::to_string(i + 1);
    return w;
  };
  t.put = compile("INSERT OR REPLACE INTO " + name + "(" + cols + ") VALUES(" + marks + ")");
  t.get = compile("SELECT " + cols + " FROM " + name + where_first(s.key_columns));
  t.erase = compile("DELETE FROM " + name + where_first(s.key_columns));
  for (std::size_t n = 0; n <= s.key_columns; ++n)
    t.scans.push_back(
      compile("SELECT " + cols + " FROM " + name + where_first(n) + " ORDER BY " + order));
  auto* c = compile("SELECT COUNT(*) FROM " + name);
  if (sqlite3_step(c) == SQLITE_ROW)
    t.rows = static_cast<std::size_t>(sqlite3_column_int64(c, 0));
  sqlite3_finalize(c);
}

std::optional<row> sqlite_tables::read(const table_schema& s, sqlite3_stmt* q) {
  row r;
  for (std::size_t i = 0; i < s.columns.size(); ++i)
    r.cells.push_back(raw(q, static_cast<int>(i)));
  if (auto why = check_row(s, r); !why.empty()) {
    if (auto head = "table " + s.name + ": "; why.starts_with(head))
      why.erase(0, head.size());
    report_("bad row in table " + s.name + " at key " + describe(key_of(s, r)) + ": " + why +
              "; row skipped",
            true);
    return std::nullopt;
  }
  return r;
}

namespace {
void need_full_key(const table_schema& s, const key& k) {
  if (auto e = check_full_key(s, k); !e.empty())
    throw table_error(e);
}
} // namespace

bool sqlite_tables::put(const table_schema& s, const row& r) {
  if (auto e = check_row(s, r); !e.empty())
    throw table_error(e);
  auto& t = ready(s);
  bool exists = false;
  {
    stmt_reset reset{t.get};
    bind_key(t.get, key_of(s, r));
    exists = sqlite3_step(t.get) == SQLITE_ROW;
  }
  if (!exists && t.rows >= s.max_rows) {
    if (!t.reported_full) {
      t.reported_full = true;
      report_("table " + s.name + " is full (" + std::to_string(s.max_rows) +
                " rows): new rows are not stored, starting with " + describe(key_of(s, r)),
              false);
    }
    return false;
  }
  stmt_reset reset{t.put};
  for (std::size_t i = 0; i < r.cells.size(); ++i)
    bind_cell(t.put, static_cast<int>(i + 1), r.cells[i]);
  if (sqlite3_step(t.put) != SQLITE_DONE) {
    report_("table " + s.name + ": put " + describe(key_of(s, r)) +
              " failed: " + sqlite3_errmsg(db_),
            true);
    return false;
  }
  if (!exists)
    ++t.rows;
  return true;
}

std::optional<row> sqlite_tables::get(const table_schema& s, const key& k) {
  need_full_key(s, k);
  auto& t = ready(s);
  stmt_reset reset{t.get};
  bind_key(t.get, k);
  int rc = sqlite3_step(t.get);
  if (rc == SQLITE_ROW)
    return read(s, t.get);
  if (rc != SQLITE_DONE)
    report_("table " + s.name + ": get " + describe(k) + " failed: " + sqlite3_errmsg(db_), true);
  return std::nullopt;
}

void sqlite_tables::erase(const table_schema& s, const key& k) {
  need_full_key(s, k);
  auto& t = ready(s);
  stmt_reset reset{t.erase};
  bind_key(t.erase, k);
  if (sqlite3_step(t.erase) != SQLITE_DONE) {
    report_("table " + s.name + ": erase " + describe(k) + " failed: " + sqlite3_errmsg(db_), true);
    return;
  }
  auto gone = static_cast<std::size_t>(sqlite3_changes(db_));
  t.rows -= std::min(t.rows, gone);
}

std::vector<row> sqlite_tables::scan(const table_schema& s, const key& prefix) {
  if (auto e = check_key(s, prefix); !e.empty())
    throw table_error(e);
  auto& t = ready(s);
  auto* q = t.scans.at(prefix.size());
  stmt_reset reset{q};
  bind_key(q, prefix);
  std::vector<row> out;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    if (auto r = read(s, q))
      out.push_back(std::move(*r));
  if (rc != SQLITE_DONE)
    report_("table " + s.name + ": scan failed: " + sqlite3_errmsg(db_), true);
  return out;
}

std::size_t sqlite_tables::count(const table_schema& s) { return ready(s).rows; }

} // namespace peerlab::net
