// A live node's SQLite file holds every table its roles declare, with their
// columns, so a user can query them (sqlite3 node.db 'select * from ...'),
// and an old node.db's generic rows move into them on first start.
#include "raw_db.hpp"
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"

#include "protocols/registry.hpp"
#include "protocols/kad/tables.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sqlite3.h>

using namespace peerlab;
using namespace peerlab::net;
using nlohmann::json;

namespace {

// Every role that keeps rows, with the parameters it needs.
json storing_roles() {
  return json::parse(R"([
    "kad", "ledger", "fileset",
    {"role": "droplog", "peers": [12345], "key": "0123456789abcdef0123456789abcdef"},
    {"role": "provider", "payment": {"policy": "pay_after"}},
    {"role": "payment_verifier", "ledger": 1, "ledger_address": "127.0.0.1:9"},
    "downloader",
    {"role": "payer", "ledger": 1, "ledger_address": "127.0.0.1:9"},
    {"role": "proxy_provider", "ledger": 1, "ledger_address": "127.0.0.1:9"},
    {"role": "proxy_client", "ledger": 1, "ledger_address": "127.0.0.1:9"}
  ])");
}

void run_node(const std::filesystem::path& dir, const json& roles,
              std::vector<std::string>* log = nullptr) {
  live_options o;
  o.name = "tables-test";
  o.listen = "127.0.0.1:0";
  o.roles = make_roles(roles, "roles", "");
  o.store = std::make_unique<sqlite_store>(
    dir / "node.db", [log](const std::string& m) { log ? log->push_back(m) : void(); });
  o.content = std::make_unique<disk_content>(dir, [](const std::string&) {});
  o.on_log = [](const std::string&) {};
  live_runtime rt(std::move(o));
  rt.start();
  rt.stop();
}

using test::raw_db;

} // namespace

TEST_CASE("live node: every declared table exists in node.db with its columns", "[net][tables]") {
  test::temp_dir dir("live-tables");
  run_node(dir.path(), storing_roles());
  raw_db db(dir.path() / "node.db");
  std::set<std::string> tables; // roles of one node may share a table (Payments)
  for (auto& r : make_roles(storing_roles(), "roles", ""))
    for (auto* t : r->tables()) {
      tables.insert(t->name);
      INFO("table " << t->name);
      std::vector<std::string> want;
      for (std::size_t i = 0; i < t->columns.size(); ++i)
        want.push_back(t->columns[i].name + "|" + sql_type(t->columns[i].type) + "|" +
                       std::to_string(i < t->key_columns ? i + 1 : 0));
      CHECK(db.lines("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid", t->name) ==
            want);
      CHECK(db.lines("SELECT version FROM schema_versions WHERE tbl = ?1", t->name) ==
            std::vector<std::string>{std::to_string(t->version)});
    }
  // kad 1, ledger 3, fileset 3, droplog 3 (sessions, entries, unanswered
  // requests), market 10, filexfer 1, proxy 4 (docs/tables.md)
  CHECK(tables.size() == 25);
  CHECK(tables.count("DropLogUnanswered") == 1);
  CHECK(tables.count("PartialDownloads") == 1);
}

TEST_CASE("live node: an old node.db's rows migrate into the typed tables on first start",
          "[net][tables]") {
  test::temp_dir dir("live-tables");
  auto key = sha256::of(bytes{1, 2, 3});
  {
    raw_db db(dir.path() / "node.db");
    REQUIRE(sqlite3_exec(db.db,
                         ("CREATE TABLE rows(tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT "
                          "NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID;"
                          "INSERT INTO rows VALUES('kad_provided', '" +
                          to_hex(key) + "', '1');")
                           .c_str(),
                         nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  std::vector<std::string> log;
  run_node(dir.path(), json::parse(R"(["kad"])"), &log);
  raw_db db(dir.path() / "node.db");
  CHECK(db.lines("SELECT hex(key) FROM DhtProvidedKeys") == std::vector<std::string>{[&] {
          auto h = to_hex(key);
          for (auto& c : h)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          return h;
        }()});
  CHECK(db.lines("SELECT COUNT(*) FROM rows WHERE tbl = 'kad_provided'") ==
        std::vector<std::string>{"0"});
  REQUIRE_FALSE(log.empty());
  CHECK_THAT(log.front(), Catch::Matchers::Contains("table DhtProvidedKeys: migrated 1 of 1 rows"));
  // The restarted role reads the key back: it provides it again.
  sqlite_store s(dir.path() / "node.db");
  std::size_t n = 0;
  s.scan(kad::provided_keys_table(), {}, [&](const row& r) { n += r.hash(0) == key; });
  CHECK(n == 1);
}
