#pragma once
// kv_store of a live node: one SQLite file in the node's data_dir, table
// rows(tbl, key, value), WAL journal. Rows survive restarts of the process.
#include "protocols/common/store.hpp"

#include <filesystem>
#include <functional>
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

  // A failed statement is logged and counted (errors()); the seam has no
  // error channel for rows, and a role must keep running.
  void put(std::string_view table, std::string_view key, std::string_view value) override;
  std::optional<std::string> get(std::string_view table, std::string_view key) const override;
  void erase(std::string_view table, std::string_view key) override;
  void
  scan(std::string_view table,
       const std::function<void(std::string_view key, std::string_view value)>&) const override;

  std::uint64_t errors() const;

private:
  void report(const char* what) const;

  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* scan_ = nullptr;
  std::string file_;
  log_fn log_;
  mutable std::mutex mu_; // roles of one node share the store
  mutable std::uint64_t errors_ = 0;
};

} // namespace peerlab::net
