#include "net/sqlite_store.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

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

namespace {
// Runs `body` in a child process that then dies of SIGKILL, as a node killed
// with kill -9: no destructor, no commit, no close of the SQLite file.
void in_killed_child(const std::function<void()>& body) {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    body();
    raise(SIGKILL);
    _exit(3); // not reached
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
}
} // namespace

TEST_CASE("sqlite_store: an atomic group killed before its end leaves none of its rows",
          "[net][store]") {
  test::temp_dir dir("store");
  auto file = dir.path() / "node.db";
  {
    net::sqlite_store s(file);
    s.put("credit", "a", "old");
  }
  in_killed_child([&] {
    auto& s = *new net::sqlite_store(file); // never closed: the process dies with it open
    s.put("credit", "before", "1");         // outside a group: on its own
    s.begin_atomic();
    s.erase("credit", "a"); // a rewrite: erase, then put again
    s.put("credit", "b", "new");
  });
  net::sqlite_store after(file);
  REQUIRE(after.get("credit", "before") == std::optional<std::string>("1"));
  REQUIRE(after.get("credit", "a") == std::optional<std::string>("old"));
  REQUIRE_FALSE(after.get("credit", "b"));
  REQUIRE(after.errors() == 0);
}

TEST_CASE("sqlite_store: an ended atomic group keeps its rows across kill -9", "[net][store]") {
  test::temp_dir dir("store");
  auto file = dir.path() / "node.db";
  in_killed_child([&] {
    auto& s = *new net::sqlite_store(file); // never closed: the process dies with it open
    {
      atomic_rows outer{s};
      s.put("credit", "a", "1");
      {
        atomic_rows inner{s}; // nested: the outer group decides
        s.put("credit", "b", "2");
      }
      s.put("credit", "c", "3");
    } // committed here; the kill follows at once
  });
  net::sqlite_store after(file);
  REQUIRE(rows(after, "credit") ==
          std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}, {"c", "3"}});
}

TEST_CASE("sqlite_store: a group left by an exception is rolled back", "[net][store]") {
  test::temp_dir dir("store");
  net::sqlite_store s(dir.path() / "node.db");
  s.put("t", "kept", "1");
  try {
    atomic_rows batch{s};
    s.put("t", "dropped", "2");
    s.erase("t", "kept");
    throw std::runtime_error("handler failed");
  } catch (const std::runtime_error&) {
  }
  REQUIRE(s.get("t", "kept") == std::optional<std::string>("1"));
  REQUIRE_FALSE(s.get("t", "dropped"));
  s.put("t", "after", "3"); // the connection is usable again
  REQUIRE(s.get("t", "after") == std::optional<std::string>("3"));
  REQUIRE(s.errors() == 0);
}

TEST_CASE("sqlite_store: another thread's write waits for an open group and is kept",
          "[net][store]") {
  test::temp_dir dir("store");
  net::sqlite_store s(dir.path() / "node.db");
  std::atomic<bool> written{false};
  std::thread other;
  {
    atomic_rows batch{s};
    s.put("t", "mine", "1"); // the group's transaction begins here
    other = std::thread([&] {
      s.put("t", "theirs", "2"); // blocks until the group ends
      written = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE_FALSE(written.load());
    s.erase("t", "mine");
  }
  other.join();
  REQUIRE(written.load());
  REQUIRE_FALSE(s.get("t", "mine"));
  REQUIRE(s.get("t", "theirs") == std::optional<std::string>("2"));
  REQUIRE(s.errors() == 0);
}

TEST_CASE("sqlite_store: a group that only reads holds nothing", "[net][store]") {
  test::temp_dir dir("store");
  net::sqlite_store s(dir.path() / "node.db");
  s.put("t", "a", "1");
  atomic_rows batch{s};
  REQUIRE(s.get("t", "a") == std::optional<std::string>("1"));
  std::thread other([&] { s.put("t", "b", "2"); }); // would block if the read had begun it
  other.join();
  REQUIRE(s.get("t", "b") == std::optional<std::string>("2"));
}
