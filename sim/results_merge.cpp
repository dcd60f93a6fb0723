#include "sim/results_merge.hpp"

#include "sim/results.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <tuple>

namespace peerlab::sim {

namespace {

struct db_closer {
  void operator()(sqlite3* d) const { sqlite3_close(d); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

struct query {
  sqlite3* db;
  sqlite3_stmt* s = nullptr;
  query(sqlite3* d, const std::string& sql) : db(d) {
    if (sqlite3_prepare_v2(d, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(d));
  }
  ~query() { sqlite3_finalize(s); }
  query& bind(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  query& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  bool row() {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
      return true;
    if (rc != SQLITE_DONE)
      throw std::runtime_error(sqlite3_errmsg(db));
    return false;
  }
  std::string text(int i) const {
    auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return t ? t : "";
  }
  std::int64_t i64(int i) const { return sqlite3_column_int64(s, i); }
};

void exec(sqlite3* db, const std::string& sql, const std::string& what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(what + ": " + msg);
  }
}

std::string sql_name(const std::string& name) {
  std::string q = "\"";
  for (char c : name)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Tables of schema `schema` ("main", "src") with their columns in order.
std::map<std::string, std::vector<std::string>> tables_of(sqlite3* db, const std::string& schema) {
  std::map<std::string, std::vector<std::string>> out;
  std::vector<std::string> names;
  query t(db, "SELECT name FROM " + schema +
                ".sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'");
  while (t.row())
    names.push_back(t.text(0));
  for (auto& n : names) {
    query c(db, "PRAGMA " + schema + ".table_info(" + sql_name(n) + ")");
    while (c.row())
      out[n].push_back(c.text(1));
  }
  return out;
}

db_ptr open_read_only(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK)
    throw std::runtime_error(
      path + ": cannot open results file: " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

// Throws unless schema `schema` of `db` is a peerlab results file.
void require_ours(sqlite3* db, const std::string& schema, const std::string& path) {
  std::set<std::string> names;
  try {
    query t(db, "SELECT name FROM " + schema + ".sqlite_master WHERE type='table'");
    while (t.row())
      names.insert(t.text(0));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(
      path + ": not a peerlab results file (not a SQLite database: " + e.what() + ")");
  }
  if (!names.count("peerlab_meta") || !names.count("runs"))
    throw std::runtime_error(path +
                             ": not a peerlab results file (no peerlab_meta and runs tables)");
}

using run_key = std::tuple<std::string, std::string, std::int64_t, std::string, std::string>;

// The world column where the file has it; files before schema 3 hold only simulated runs.
std::string world_expr(sqlite3* db, const std::string& schema) {
  query c(db, "PRAGMA " + schema + ".table_info(runs)");
  while (c.row())
    if (c.text(1) == "world")
      return "world";
  return "'sim'";
}

} // namespace

std::vector<stored_run> read_runs(const std::string& path, const std::string& scenario_name) {
  std::vector<stored_run> out;
  if (!std::filesystem::exists(path))
    return out;
  auto db = open_read_only(path);
  {
    query any(db.get(), "SELECT COUNT(*) FROM sqlite_master");
    if (any.row() && any.i64(0) == 0)
      return out; // an empty SQLite file: results_db would take it as a new results file
  }
  require_ours(db.get(), "main", path);
  query q(db.get(), "SELECT run_id, seed, parameters, status, fingerprint, summary, " +
                      world_expr(db.get(), "main") +
                      " FROM runs WHERE scenario_name = ? ORDER BY run_id");
  q.bind(1, scenario_name);
  while (q.row()) {
    stored_run r;
    r.run_id = q.i64(0);
    r.seed = static_cast<std::uint64_t>(q.i64(1));
    r.parameters = nlohmann::json::parse(q.text(2), nullptr, false);
    r.status = q.text(3);
    r.fingerprint = q.text(4);
    r.summary = nlohmann::json::parse(q.text(5), nullptr, false);
    r.world = q.text(6);
    out.push_back(std::move(r));
  }
  return out;
}

merge_report merge_results(const std::string& out, const std::vector<std::string>& shards) {
  namespace fs = std::filesystem;
  // Shards are checked before the output is created or touched.
  for (auto& s : shards) {
    if (!fs::exists(s))
      throw std::runtime_error(s + ": no such file");
    auto db = open_read_only(s);
    require_ours(db.get(), "main", s);
    std::error_code ec;
    if (fs::exists(out) && fs::equivalent(s, out, ec))
      throw std::runtime_error(s + ": is the output file itself");
  }
  { results_db create(out); } // creates or migrates the schema; refuses a foreign file
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(out.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    db_ptr closer(raw);
    throw std::runtime_error(out + ": cannot open results file");
  }
  db_ptr db(raw);
  sqlite3_busy_timeout(raw, 5000);
  auto main_tables = tables_of(raw, "main");

  std::set<run_key> have;
  {
    query q(raw, "SELECT scenario_name, parameters, seed, fingerprint, " + world_expr(raw, "main") +
                   " FROM main.runs");
    while (q.row())
      have.emplace(q.text(0), q.text(1), q.i64(2), q.text(3), q.text(4));
  }
  merge_report rep;
  for (auto& s : shards) {
    query att(raw, "ATTACH DATABASE ? AS src");
    att.bind(1, s);
    att.row();
    try {
      require_ours(raw, "src", s);
      auto src_tables = tables_of(raw, "src");
      // Every table of the shard that refers to runs, and every column of it,
      // must exist in the output: nothing is dropped silently.
      std::vector<std::string> children;
      for (auto& [t, cols] : src_tables) {
        bool has_run_id = false;
        for (auto& c : cols)
          has_run_id = has_run_id || c == "run_id";
        if (t == "peerlab_meta" || (!has_run_id && t != "runs"))
          continue;
        auto it = main_tables.find(t);
        if (it == main_tables.end())
          throw std::runtime_error(s + ": has table " + t + " that " + out +
                                   " lacks (written by a newer peerlab?)");
        for (auto& c : cols)
          if (std::find(it->second.begin(), it->second.end(), c) == it->second.end())
            throw std::runtime_error(s + ": has column " + t + "." + c + " that " + out +
                                     " lacks (written by a newer peerlab?)");
        if (t != "runs" && has_run_id)
          children.push_back(t);
      }
      exec(raw, "BEGIN IMMEDIATE", out);
      try {
        exec(raw, "CREATE TEMP TABLE IF NOT EXISTS idmap(old INTEGER PRIMARY KEY, new INTEGER)",
             out);
        exec(raw, "DELETE FROM temp.idmap", out);
        std::string run_cols;
        for (auto& c : src_tables["runs"])
          if (c != "run_id")
            run_cols += (run_cols.empty() ? "" : ", ") + sql_name(c);
        query runs(raw, "SELECT run_id, scenario_name, parameters, seed, fingerprint, " +
                          world_expr(raw, "src") + " FROM src.runs ORDER BY run_id");
        query copy(raw, "INSERT INTO main.runs(" + run_cols + ") SELECT " + run_cols +
                          " FROM src.runs WHERE run_id = ?");
        query map(raw, "INSERT INTO temp.idmap VALUES(?, ?)");
        while (runs.row()) {
          run_key k{runs.text(1), runs.text(2), runs.i64(3), runs.text(4), runs.text(5)};
          if (!have.insert(k).second) {
            ++rep.duplicates;
            continue;
          }
          sqlite3_reset(copy.s);
          copy.bind(1, runs.i64(0));
          copy.row();
          sqlite3_reset(map.s);
          map.bind(1, runs.i64(0))
            .bind(2, static_cast<std::int64_t>(sqlite3_last_insert_rowid(raw)));
          map.row();
          ++rep.added;
        }
        for (auto& t : children) {
          std::string cols, sel;
          for (auto& c : src_tables[t]) {
            cols += (cols.empty() ? "" : ", ") + sql_name(c);
            sel +=
              std::string(sel.empty() ? "" : ", ") + (c == "run_id" ? "m.new" : "s." + sql_name(c));
          }
          exec(raw,
               "INSERT INTO main." + sql_name(t) + "(" + cols + ") SELECT " + sel + " FROM src." +
                 sql_name(t) + " s JOIN temp.idmap m ON s.run_id = m.old ORDER BY s.rowid",
               out);
        }
        exec(raw, "COMMIT", out);
      } catch (...) {
        sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    } catch (...) {
      sqlite3_exec(raw, "DETACH DATABASE src", nullptr, nullptr, nullptr);
      throw;
    }
    exec(raw, "DETACH DATABASE src", out);
  }
  return rep;
}

} // namespace peerlab::sim
