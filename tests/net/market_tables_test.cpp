// The paid file market's tables in a live node's SQLite file: rows an older
// node kept as "k=v;k=v" text in rows(tbl, key, value) move into the typed
// tables on first start, and a row a user broke is reported by table and key
// while the others stay readable.
#include "raw_db.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/market/tables.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

using namespace peerlab;

namespace {

using test::raw_db;

std::string hex_of(std::size_t n, std::uint8_t b) { return to_hex(byte_view{bytes(n, b)}); }
std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<const table_schema*> market_tables() { return market::tables::all(); }

} // namespace

TEST_CASE("market tables: an old node.db's market rows migrate into typed tables",
          "[net][tables][market]") {
  test::temp_dir dir("market-tables");
  auto file = dir.path() / "node.db";
  const auto ref = hex_of(16, 0xab), tx = hex_of(32, 0xcd), file_hash = hex_of(32, 0x11);
  {
    // What a node of the previous version left behind.
    raw_db db(file);
    db.exec("CREATE TABLE rows(tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
            " PRIMARY KEY(tbl, key)) WITHOUT ROWID");
    auto ins = [&](const std::string& t, const std::string& k, const std::string& v) {
      db.exec("INSERT INTO rows VALUES('" + t + "', '" + k + "', '" + v + "')");
    };
    ins("Payments", "in:" + ref,
        "cat=bill;status=notified;peer=20;hash=" + file_hash +
          ";amount=700;from=0;to=65536;requested_at=5000;deadline=-1;policy=pay_after;tx=" + tx);
    ins("Payments", "out:" + ref, "status=sent;provider=7;amount=700;nonce=99;strategy=honest");
    ins("Payments", "sideways:" + ref, "status=sent");
    ins("PaymentsInbox", ref, "");
    ins("PaymentsOpen", ref, "");
    ins("UsedTx", tx, ref);
    ins("Blacklist", "0000000000000032", "reused a transaction");
    ins("ProvidedFiles", file_hash, "name=song.ogg;size=307217;price=700;sales=3;paid_sales=2");
    ins("DownloadFiles", file_hash,
        "name=song.ogg;size=307217;price=700;provider=7;payment_ref=" + ref +
          ";finished_at=123;duration_us=456");
    ins("ProvidedPaths", file_hash,
        R"({"path":"/srv/song.ogg","name":"song.ogg","price":700,"size":307217,"mtime_ns":17})");
  }
  std::vector<std::string> log;
  {
    net::sqlite_store s(file, [&](const std::string& m) { log.push_back(m); });
    for (auto* t : market_tables())
      s.declare(*t);
    auto in = market::load(s, market::tables::payments(), market::payment_key("in", ref));
    REQUIRE(in);
    CHECK(in->str("status") == "notified");
    CHECK(in->u64("peer") == 20);
    CHECK(in->u64("amount") == 700);
    CHECK(in->u64("to") == 65536);
    CHECK(in->i64("deadline") == -1);
    CHECK(in->str("tx") == tx);
    auto out = market::load(s, market::tables::payments(), market::payment_key("out", ref));
    REQUIRE(out);
    CHECK(out->u64("nonce") == 99);
    CHECK(out->str("strategy") == "honest");
    CHECK(s.count(market::tables::payments()) == 2);
    CHECK(s.errors() == 1); // the payment with an unknown direction, reported and kept
  }
  bool reported = false, counted = false;
  for (auto& m : log) {
    reported =
      reported || m.find("table Payments: old row Payments/'sideways:") != std::string::npos;
    counted = counted || m.find("table Payments: migrated 2 of 3 rows") != std::string::npos;
  }
  CHECK(reported);
  CHECK(counted);

  // Each table is plain SQL for a user's sqlite3.
  raw_db db(file);
  CHECK(db.lines("SELECT direction, hex(ref), status, amount FROM Payments ORDER BY direction") ==
        std::vector<std::string>{"in|" + upper(ref) + "|notified|700",
                                 "out|" + upper(ref) + "|sent|700"});
  CHECK(db.lines("SELECT hex(ref) FROM PaymentsInbox") == std::vector<std::string>{upper(ref)});
  CHECK(db.lines("SELECT hex(ref) FROM PaymentsOpen") == std::vector<std::string>{upper(ref)});
  CHECK(db.lines("SELECT hex(tx), hex(ref) FROM UsedTx") ==
        std::vector<std::string>{upper(tx) + "|" + upper(ref)});
  CHECK(db.lines("SELECT peer, reason FROM Blacklist") ==
        std::vector<std::string>{"50|reused a transaction"});
  CHECK(db.lines("SELECT name, size, price, sales, paid_sales FROM ProvidedFiles") ==
        std::vector<std::string>{"song.ogg|307217|700|3|2"});
  CHECK(db.lines("SELECT name, provider, hex(payment_ref), finished_at, duration_us FROM "
                 "DownloadFiles") ==
        std::vector<std::string>{"song.ogg|7|" + upper(ref) + "|123|456"});
  CHECK(db.lines("SELECT path, name, price, size, mtime_ns FROM ProvidedPaths") ==
        std::vector<std::string>{"/srv/song.ogg|song.ogg|700|307217|17"});
  // Only the row that could not be converted is left in the old table.
  CHECK(db.lines("SELECT tbl, key FROM rows") ==
        std::vector<std::string>{"Payments|sideways:" + ref});
}

TEST_CASE("market tables: a broken row on disk is reported by table and key, the rest is read",
          "[net][tables][market]") {
  test::temp_dir dir("market-tables");
  auto file = dir.path() / "node.db";
  const auto a = hex_of(16, 0x01), b = hex_of(16, 0x02);
  {
    net::sqlite_store s(file);
    for (auto* t : market_tables())
      s.declare(*t);
    for (auto& ref : {a, b}) {
      market::row r;
      r.set("status", std::string("requested"));
      r.set("amount", std::uint64_t{100});
      market::save(s, market::tables::payments(), market::payment_key("in", ref), r);
    }
  }
  raw_db(file).exec("UPDATE Payments SET amount = 'lots' WHERE ref = x'" + a + "'");
  std::vector<std::string> log;
  net::sqlite_store s(file, [&](const std::string& m) { log.push_back(m); });
  std::vector<std::string> seen;
  s.scan(market::tables::payments(), {}, [&](const row& r) {
    seen.push_back(market::row::of(market::tables::payments(), r).str("ref"));
  });
  CHECK(seen == std::vector<std::string>{b});
  CHECK_FALSE(market::load(s, market::tables::payments(), market::payment_key("in", a)));
  const auto want =
    "bad row in table Payments at key ('in', x'" + a + "'): column amount wants INTEGER";
  bool reported = false;
  for (auto& m : log)
    reported = reported || m.find(want) != std::string::npos;
  INFO("log: " << (log.empty() ? std::string() : log.front()));
  CHECK(reported);
  CHECK(s.errors() == 2);
  // The store keeps working: the good row still updates.
  auto r = market::load(s, market::tables::payments(), market::payment_key("in", b));
  REQUIRE(r);
  r->set("status", std::string("verified"));
  market::save(s, market::tables::payments(), market::payment_key("in", b), *r);
  CHECK(market::load(s, market::tables::payments(), market::payment_key("in", b))->str("status") ==
        "verified");
}
