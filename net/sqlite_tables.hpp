#pragma once
// Typed tables of a live node's SQLite file: one real SQL table per declared
// table_schema (CREATE TABLE with its columns and primary key), their versions
// in schema_versions(tbl, version), and migrations: columns appended by a newer
// version are added, and rows of the generic rows(tbl, key, value) table that
// older node files kept move into the typed tables on first start.
//
// Rows read back are checked against the schema: a row with a wrong type or a
// corrupt blob is reported (naming table and key) and skipped; the others are
// returned. Not thread-safe: net::sqlite_store serialises calls.
#include "protocols/common/table.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace peerlab::net {

class sqlite_tables {
public:
  /// Receives problems (error = true) and news such as migration summaries.
  using report_fn = std::function<void(const std::string&, bool error)>;
  /// `db` stays owned by the caller and must outlive this object.
  sqlite_tables(sqlite3* db, report_fn report);
  ~sqlite_tables();
  sqlite_tables(const sqlite_tables&) = delete;
  sqlite_tables& operator=(const sqlite_tables&) = delete;

  /// Throws table_error naming the table when the file holds an incompatible
  /// version or different columns.
  void declare(const table_schema&);
  bool put(const table_schema&, const row&);
  std::optional<row> get(const table_schema&, const key&);
  void erase(const table_schema&, const key&);
  std::vector<row> scan(const table_schema&, const key& prefix);
  std::size_t count(const table_schema&);

private:
  struct table_state {
    std::vector<column> columns;
    std::size_t key_columns = 0;
    std::uint32_t version = 0;
    sqlite3_stmt* put = nullptr;
    sqlite3_stmt* get = nullptr;
    sqlite3_stmt* erase = nullptr;
    std::vector<sqlite3_stmt*> scans; // by prefix length
    std::size_t rows = 0;
    bool reported_full = false; // the first refused put is logged, not every one
  };

  table_state& ready(const table_schema&);
  void create_or_migrate(const table_schema&);
  void import_legacy(const table_schema&);
  void prepare(const table_schema&, table_state&);
  std::optional<row> read(const table_schema&, sqlite3_stmt*);
  sqlite3_stmt* compile(const std::string& sql);
  void exec(const std::string& sql);

  sqlite3* db_;
  report_fn report_;
  std::map<std::string, table_state> tables_;
};

} // namespace peerlab::net
