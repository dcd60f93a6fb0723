#pragma once
// A node's SQLite file opened with the plain SQLite API, as a user's sqlite3
// would: the table tests check what a user sees, not what the store says.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

namespace peerlab::test {

struct raw_db {
  explicit raw_db(const std::filesystem::path& f) {
    REQUIRE(sqlite3_open(f.string().c_str(), &db) == SQLITE_OK);
  }
  ~raw_db() { sqlite3_close(db); }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    INFO(sql << ": " << (err ? err : ""));
    sqlite3_free(err);
    REQUIRE(rc == SQLITE_OK);
  }

  /// Each result row as "a|b|c" (NULL for nulls); `arg`, if given, binds ?1.
  std::vector<std::string> lines(const std::string& sql, const std::string& arg = "") {
    std::vector<std::string> out;
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    if (!arg.empty())
      sqlite3_bind_text(s, 1, arg.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string line;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
        line += (i ? "|" : "") + std::string(t ? t : "NULL");
      }
      out.push_back(line);
    }
    sqlite3_finalize(s);
    return out;
  }

  sqlite3* db = nullptr;
};

} // namespace peerlab::test
