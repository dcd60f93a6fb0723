#include "net/sqlite_store.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

namespace {
std::vector<std::pair<std::string, std::string>> rows(const kv_store& s, std::string_view t) {
  std::vector<std::pair<std::string, std::string>> out;
  s.scan(t, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}
} // namespace

TEST_CASE("sqlite_store: put, get, erase and ordered scan", "[net][store]") {
  test::temp_dir dir("store");
  net::sqlite_store s(dir.path() / "node.db");
  s.put("peers", "b", "2");
  s.put("peers", "a", "1");
  s.put("peers", "c", "3");
  s.put("other", "a", "x");
  s.put("peers", "b", "22"); // replaces
  REQUIRE(s.get("peers", "b") == std::optional<std::string>("22"));
  REQUIRE_FALSE(s.get("peers", "zz"));
  s.erase("peers", "c");
  using row = std::pair<std::string, std::string>;
  REQUIRE(rows(s, "peers") == std::vector<row>{{"a", "1"}, {"b", "22"}});
  REQUIRE(rows(s, "other") == std::vector<row>{{"a", "x"}});
  REQUIRE(rows(s, "none").empty());
  REQUIRE(s.errors() == 0);
}

TEST_CASE("sqlite_store: binary and empty values are kept exactly", "[net][store]") {
  test::temp_dir dir("store");
  net::sqlite_store s(dir.path() / "node.db");
  std::string bin("a\0b\xff", 4);
  s.put("t", "bin", bin);
  s.put("t", "empty", "");
  REQUIRE(s.get("t", "bin") == std::optional<std::string>(bin));
  REQUIRE(s.get("t", "empty") == std::optional<std::string>(""));
}

TEST_CASE("sqlite_store: rows survive closing and reopening the file", "[net][store]") {
  test::temp_dir dir("store");
  auto file = dir.path() / "node.db";
  {
    net::sqlite_store s(file);
    for (int i = 0; i < 100; ++i)
      s.put("ledger", "k" + std::to_string(1000 + i), "v" + std::to_string(i));
    s.erase("ledger", "k1050");
  }
  net::sqlite_store again(file);
  auto r = rows(again, "ledger");
  REQUIRE(r.size() == 99);
  REQUIRE(r.front() == std::pair<std::string, std::string>{"k1000", "v0"});
  REQUIRE(r.back() == std::pair<std::string, std::string>{"k1099", "v99"});
  REQUIRE_FALSE(again.get("ledger", "k1050"));
  REQUIRE(again.get("ledger", "k1051") == std::optional<std::string>("v51"));
}

TEST_CASE("sqlite_store: an unusable path is a clear error", "[net][store]") {
  test::temp_dir dir("store");
  auto file = dir.path() / "missing-folder" / "node.db";
  REQUIRE_THROWS_WITH(net::sqlite_store(file),
                      Catch::Matchers::StartsWith("cannot open the store " + file.string()));
}
