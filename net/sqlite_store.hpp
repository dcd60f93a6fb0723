#pragma once
// Tables of a live node: one SQLite file in the node's data_dir, WAL journal.
// Typed tables are real SQL tables (net/sqlite_tables.hpp); the generic string
// rows live in rows(tbl, key, value). Rows survive restarts of the process.
#include "net/sqlite_tables.hpp"
#include "protocols/common/store.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace peerlab::net {

struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using log_fn = std::function<void(const std::string&)>;

class sqlite_store final : public kv_store {
public:
  /// Opens or creates `file`. Throws store_error naming the file and the reason.
  explicit sqlite_store(const std::filesystem::path& file, log_fn log = {});
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // Typed tables. declare() throws table_error on a schema conflict; bad rows
  // read back are logged, counted in errors() and skipped.
  void declare(const table_schema&) override;
  bool put(const table_schema&, const row&) override;
  std::optional<row> get(const table_schema&, const key&) const override;
  void erase(const table_schema&, const key&) override;
  void scan(const table_schema&, const key& prefix,
            const std::function<void(const row&)>&) const override;
  std::size_t count(const table_schema&) const override;

  // A failed statement is logged and counted (errors()); the seam has no
  // error channel for rows, and a role must keep running.
  void put(std::string_view table, std::string_view key, std::string_view value) override;
  std::optional<std::string> get(std::string_view table, std::string_view key) const override;
  void erase(std::string_view table, std::string_view key) override;
  void
  scan(std::string_view table,
       const std::function<void(std::string_view key, std::string_view value)>&) const override;

  /// Lazily: the transaction begins at the thread's first write in the
  /// group, so a handler that only reads holds nothing. From then until the
  /// group ends the thread owns the connection; other threads' calls wait.
  void begin_atomic() override;
  void end_atomic(bool commit) override;

  std::uint64_t errors() const;

private:
  /// Called (mu_ held) before every write: begins the transaction of this
  /// thread's atomic group if it has one and has not begun it yet.
  void enter_write();
  void report(const char* what) const;
  void report_text(const std::string& msg, bool error) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* scan_ = nullptr;
  std::unique_ptr<sqlite_tables> tables_;
  std::string file_;
  log_fn log_;
  // Roles of one node share the store; recursive because the thread that
  // owns an open transaction keeps it locked across calls.
  mutable std::recursive_mutex mu_;
  mutable std::uint64_t errors_ = 0;
};

} // namespace peerlab::net
