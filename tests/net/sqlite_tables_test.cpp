// Typed tables in a live node's SQLite file: real SQL tables, versions,
// migrations from the old rows(tbl, key, value) table, bad rows on disk.
#include "raw_db.hpp"
#include "net/sqlite_store.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

using namespace peerlab;

namespace {

table_schema files_v(std::uint32_t version) {
  std::vector<column> cols{
    {"hash", column_type::blob, 32}, {"name", column_type::text}, {"size", column_type::integer}};
  if (version >= 2)
    cols.push_back({"price", column_type::real});
  table_schema s{"Files", cols, 1, version, 100};
  s.legacy_table = "files";
  // Old rows: key = hex hash, value = "name|size".
  s.from_legacy = [version](std::string_view k, std::string_view v) -> std::optional<row> {
    auto h = digest_from_hex(k);
    auto bar = v.find('|');
    if (!h || bar == std::string_view::npos)
      return std::nullopt;
    row r{cell_digest(*h), std::string(v.substr(0, bar)),
          std::int64_t{std::stoll(std::string(v.substr(bar + 1)))}};
    if (version >= 2)
      r.cells.push_back(0.0);
    return r;
  };
  return s;
}

bytes h(std::uint8_t b) { return bytes(32, b); }

using test::raw_db;

std::vector<row> all(const table_store& s, const table_schema& t) {
  std::vector<row> out;
  s.scan(t, {}, [&](const row& r) { out.push_back(r); });
  return out;
}

} // namespace

TEST_CASE("sqlite tables: a declared table is a real SQL table with its columns", "[net][tables]") {
  test::temp_dir dir("tables");
  auto file = dir.path() / "node.db";
  auto s1 = files_v(1);
  {
    net::sqlite_store s(file);
    s.declare(s1);
    REQUIRE(s.put(s1, {h(2), "b.txt", std::int64_t{20}}));
    REQUIRE(s.put(s1, {h(1), "a.txt", std::int64_t{10}}));
    REQUIRE(s.put(s1, {h(1), "a2.txt", std::int64_t{11}})); // replaces
    REQUIRE(s.count(s1) == 2);
    REQUIRE(s.errors() == 0);
  }
  raw_db db(file);
  CHECK(db.lines("SELECT name, type, pk FROM pragma_table_info('Files')") ==
        std::vector<std::string>{"hash|BLOB|1", "name|TEXT|0", "size|INTEGER|0"});
  CHECK(db.lines("SELECT name, size FROM Files ORDER BY hash") ==
        std::vector<std::string>{"a2.txt|11", "b.txt|20"});
  CHECK(db.lines("SELECT version FROM schema_versions WHERE tbl = 'Files'") ==
        std::vector<std::string>{"1"});

  net::sqlite_store again(file);
  auto rows = all(again, s1);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == row{h(1), "a2.txt", std::int64_t{11}});
  CHECK(again.get(s1, {h(2)})->text(1) == "b.txt");
  again.erase(s1, {h(2)});
  CHECK_FALSE(again.get(s1, {h(2)}));
  CHECK(again.count(s1) == 1);
}

TEST_CASE("sqlite tables: a full table refuses new keys and keeps its rows", "[net][tables]") {
  test::temp_dir dir("tables");
  auto small = files_v(1);
  small.max_rows = 2;
  std::vector<std::string> log;
  net::sqlite_store s(dir.path() / "node.db", [&log](const std::string& m) { log.push_back(m); });
  REQUIRE(s.put(small, {h(1), "a", std::int64_t{1}}));
  REQUIRE(s.put(small, {h(2), "b", std::int64_t{2}}));
  CHECK_FALSE(s.put(small, {h(3), "c", std::int64_t{3}}));
  CHECK_FALSE(s.put(small, {h(5), "e", std::int64_t{5}}));
  // Said once, naming the table and its bound, not once per refused row.
  REQUIRE(log.size() == 1);
  CHECK(log[0].find("table Files is full (2 rows)") != std::string::npos);
  CHECK(s.put(small, {h(2), "b2", std::int64_t{2}}));
  CHECK(all(s, small).size() == 2);
  CHECK_THROWS_WITH(s.put(small, {h(4), std::int64_t{1}, std::int64_t{1}}),
                    "table Files: column name wants TEXT, got INTEGER");
}

TEST_CASE("sqlite tables: an old node.db's rows table migrates into typed tables on first start",
          "[net][tables]") {
  test::temp_dir dir("tables");
  auto file = dir.path() / "node.db";
  {
    // What a node of the previous version left behind.
    raw_db db(file);
    db.exec("CREATE TABLE rows(tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
            " PRIMARY KEY(tbl, key)) WITHOUT ROWID");
    db.exec("INSERT INTO rows VALUES('files', '" + to_hex(byte_view{h(1)}) + "', 'a.txt|10')");
    db.exec("INSERT INTO rows VALUES('files', '" + to_hex(byte_view{h(2)}) + "', 'b.txt|20')");
    db.exec("INSERT INTO rows VALUES('files', 'not-a-hash', 'c.txt|30')");
    db.exec("INSERT INTO rows VALUES('other', 'k', 'v')");
  }
  std::vector<std::string> log;
  {
    net::sqlite_store s(file, [&](const std::string& m) { log.push_back(m); });
    s.declare(files_v(1));
    auto rows = all(s, files_v(1));
    REQUIRE(rows.size() == 2);
    CHECK(rows[1] == row{h(2), "b.txt", std::int64_t{20}});
    CHECK(s.errors() == 1); // the unreadable row, reported and kept
  }
  REQUIRE(log.size() == 2);
  CHECK_THAT(log[0], Catch::Matchers::Contains("table Files: old row files/'not-a-hash' not "
                                               "migrated"));
  CHECK_THAT(log[1], Catch::Matchers::Contains("table Files: migrated 2 of 3 rows"));
  raw_db db(file);
  CHECK(db.lines("SELECT tbl, key FROM rows ORDER BY tbl") ==
        std::vector<std::string>{"files|not-a-hash", "other|k"});

  // A second start finds nothing more to migrate and keeps the rows.
  log.clear();
  net::sqlite_store s(file, [&](const std::string& m) { log.push_back(m); });
  CHECK(all(s, files_v(1)).size() == 2);
}

TEST_CASE("sqlite tables: a newer schema version adds its columns, keeping rows", "[net][tables]") {
  test::temp_dir dir("tables");
  auto file = dir.path() / "node.db";
  {
    net::sqlite_store s(file);
    s.put(files_v(1), {h(1), "a", std::int64_t{1}});
  }
  {
    net::sqlite_store s(file);
    auto v2 = files_v(2);
    CHECK(all(s, v2) == std::vector<row>{{h(1), "a", std::int64_t{1}, 0.0}});
    s.put(v2, {h(2), "b", std::int64_t{2}, 1.5});
  }
  raw_db db(file);
  CHECK(db.lines("SELECT version FROM schema_versions WHERE tbl = 'Files'") ==
        std::vector<std::string>{"2"});
  CHECK(db.lines("SELECT name, price FROM Files ORDER BY hash") ==
        std::vector<std::string>{"a|0.0", "b|1.5"});

  // An older build refuses the newer file instead of misreading it.
  net::sqlite_store s(file);
  CHECK_THROWS_WITH(s.declare(files_v(1)),
                    "table Files is at version 2 in the file, newer than this build's version 1");
  // Different columns at the same name are refused, naming the table.
  table_schema other{"Files", {{"hash", column_type::text}, {"n", column_type::integer}}, 1, 2, 10};
  CHECK_THROWS_WITH(s.declare(other), Catch::Matchers::StartsWith(
                                        "table Files in the file does not match version 2"));
}

TEST_CASE("sqlite tables: bad rows on disk are reported by table and key, others are kept",
          "[net][tables]") {
  test::temp_dir dir("tables");
  auto file = dir.path() / "node.db";
  auto s1 = files_v(1);
  {
    net::sqlite_store s(file);
    for (std::uint8_t i = 1; i <= 4; ++i)
      s.put(s1, {h(i), "f" + std::to_string(i), std::int64_t{i}});
  }
  {
    raw_db db(file);
    // A user edits the file: text in an INTEGER column, a truncated digest.
    db.exec("UPDATE Files SET size = 'lots' WHERE name = 'f2'");
    db.exec("UPDATE Files SET hash = x'0303' WHERE name = 'f3'");
  }
  std::vector<std::string> log;
  net::sqlite_store s(file, [&](const std::string& m) { log.push_back(m); });
  auto rows = all(s, s1);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].text(1) == "f1");
  CHECK(rows[1].text(1) == "f4");
  REQUIRE(log.size() == 2);
  CHECK_THAT(log[0], Catch::Matchers::Contains("bad row in table Files at key (x'" +
                                               to_hex(byte_view{h(2)}) +
                                               "'): column size wants INTEGER, got TEXT"));
  CHECK_THAT(log[1], Catch::Matchers::Contains("bad row in table Files at key (x'0303'): column "
                                               "hash wants 32 bytes, got 2"));
  CHECK(s.errors() == 2);
  CHECK_FALSE(s.get(s1, {h(2)}));
  CHECK(s.errors() == 3);
  CHECK(s.get(s1, {h(4)})->integer(2) == 4);
  // The bad rows are still on disk for the user to repair.
  raw_db db(file);
  CHECK(db.lines("SELECT COUNT(*) FROM Files") == std::vector<std::string>{"4"});
}
