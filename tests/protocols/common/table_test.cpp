#include "protocols/common/memory_store.hpp"
#include "protocols/common/table.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

namespace {

const table_schema& transfers() {
  static const table_schema s{"Transfers",
                              {{"peer", column_type::integer},
                               {"file", column_type::blob, 32},
                               {"name", column_type::text},
                               {"ratio", column_type::real}},
                              2,
                              1,
                              3};
  return s;
}

bytes hash_of(std::uint8_t b) { return bytes(32, b); }

std::vector<row> all(const table_store& s, const key& prefix = {}) {
  std::vector<row> out;
  s.scan(transfers(), prefix, [&](const row& r) { out.push_back(r); });
  return out;
}

} // namespace

TEST_CASE("memory tables: put, replace, get, erase and prefix scans in key order", "[table]") {
  memory_store s;
  REQUIRE(s.put(transfers(), {std::int64_t{7}, hash_of(2), "b", 0.5}));
  REQUIRE(s.put(transfers(), {std::int64_t{7}, hash_of(1), "a", 0.25}));
  REQUIRE(s.put(transfers(), {std::int64_t{3}, hash_of(9), "c", 1.0}));
  REQUIRE(s.put(transfers(), {std::int64_t{7}, hash_of(2), "b2", 0.75})); // replaces
  REQUIRE(s.count(transfers()) == 3);

  auto r = s.get(transfers(), {std::int64_t{7}, hash_of(2)});
  REQUIRE(r);
  CHECK(r->text(2) == "b2");
  CHECK(r->real(3) == 0.75);
  CHECK(r->hash(1) == digest{[] {
          digest d{};
          d.fill(2);
          return d;
        }()});

  auto rows = all(s);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].integer(0) == 3);
  CHECK(rows[1].blob(1) == hash_of(1));
  CHECK(rows[2].blob(1) == hash_of(2));
  auto sevens = all(s, {std::int64_t{7}});
  REQUIRE(sevens.size() == 2);
  CHECK(sevens[0].text(2) == "a");
  CHECK(all(s, {std::int64_t{5}}).empty());

  s.erase(transfers(), {std::int64_t{7}, hash_of(1)});
  CHECK_FALSE(s.get(transfers(), {std::int64_t{7}, hash_of(1)}));
  CHECK(s.count(transfers()) == 2);
}

TEST_CASE("memory tables: keys sort as SQLite sorts them", "[table]") {
  // Signed integers (an unsigned id above 2^63 sorts first), text by bytes.
  table_schema s{"Order", {{"id", column_type::integer}, {"v", column_type::text}}, 1, 1, 100};
  memory_store m;
  for (std::uint64_t id : {5ull, 1ull << 63, 0ull, ~0ull})
    m.put(s, {cell_u64(id), std::to_string(id)});
  std::vector<std::uint64_t> order;
  m.scan(s, {}, [&](const row& r) { order.push_back(r.u64(0)); });
  CHECK(order == std::vector<std::uint64_t>{1ull << 63, ~0ull, 0, 5});

  table_schema t{"Names", {{"n", column_type::text}}, 1, 1, 100};
  for (const char* n : {"b", "\xc3\xa9", "B", "a", "ab"})
    m.put(t, {std::string(n)});
  std::vector<std::string> names;
  m.scan(t, {}, [&](const row& r) { names.push_back(r.text(0)); });
  CHECK(names == std::vector<std::string>{"B", "a", "ab", "b", "\xc3\xa9"});
}

TEST_CASE("memory tables: a row that does not fit its schema is an error naming it", "[table]") {
  memory_store s;
  CHECK_THROWS_WITH(s.put(transfers(), {std::int64_t{1}, hash_of(1), "x"}),
                    "table Transfers: row has 3 values, wants 4");
  CHECK_THROWS_WITH(s.put(transfers(), {"1", hash_of(1), "x", 0.0}),
                    "table Transfers: column peer wants INTEGER, got TEXT");
  CHECK_THROWS_WITH(s.put(transfers(), {std::int64_t{1}, bytes(5), "x", 0.0}),
                    "table Transfers: column file wants 32 bytes, got 5");
  CHECK_THROWS_WITH(s.get(transfers(), {std::int64_t{1}}),
                    "table Transfers: key has 1 values, wants 2");
  CHECK_THROWS_WITH(s.scan(transfers(), {std::int64_t{1}, hash_of(1), "x"}, [](const row&) {}),
                    "table Transfers: key has 3 values, wants at most 2");
  CHECK(s.count(transfers()) == 0);
}

TEST_CASE("memory tables: a full table refuses new keys and keeps what it holds", "[table]") {
  memory_store s;
  for (std::uint8_t i = 0; i < 3; ++i)
    REQUIRE(s.put(transfers(), {std::int64_t{1}, hash_of(i), "r", 0.0}));
  CHECK_FALSE(s.put(transfers(), {std::int64_t{1}, hash_of(9), "new", 0.0}));
  CHECK(s.put(transfers(), {std::int64_t{1}, hash_of(0), "replaced", 0.0}));
  CHECK(s.count(transfers()) == 3);
  CHECK(s.get(transfers(), {std::int64_t{1}, hash_of(0)})->text(2) == "replaced");
  CHECK_FALSE(s.get(transfers(), {std::int64_t{1}, hash_of(9)}));
}

TEST_CASE("memory tables: a scan callback may write to the table", "[table]") {
  memory_store s;
  for (std::uint8_t i = 0; i < 3; ++i)
    s.put(transfers(), {std::int64_t{1}, hash_of(i), "r", 0.0});
  int seen = 0;
  s.scan(transfers(), {}, [&](const row& r) {
    ++seen;
    s.erase(transfers(), key_of(transfers(), r));
  });
  CHECK(seen == 3);
  CHECK(s.count(transfers()) == 0);
}

TEST_CASE("describe prints keys for error messages", "[table]") {
  CHECK(describe({std::int64_t{-3}, std::string("ab"), bytes{0xde, 0xad}}) ==
        "(-3, 'ab', x'dead')");
}
