// A restarted live node draws other random numbers than its last run did:
// payment references and nonces drawn again after a kill -9 would name the
// bills and payments of the run before (found by tests/scripts/live_kill9_market.sh:
// a provider's new bill reused a paid bill's reference and was never paid).
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <vector>

using namespace peerlab;
using namespace peerlab::net;

namespace {

// The first draws of a node built on `dir` (one start of it).
std::vector<std::uint64_t> first_draws(const std::filesystem::path& dir, std::uint64_t seed) {
  live_options o;
  o.name = "restart-seed-test";
  o.seed = seed;
  o.store = std::make_unique<sqlite_store>(dir / "node.db");
  o.content = std::make_unique<disk_content>(dir, [](const std::string&) {});
  o.on_log = [](const std::string&) {};
  live_runtime rt(std::move(o));
  std::vector<std::uint64_t> out;
  for (int i = 0; i < 4; ++i)
    out.push_back(rt.random(rt.id()).next());
  return out;
}

} // namespace

TEST_CASE("live node: each start of a data_dir draws new random numbers", "[net][restart]") {
  test::temp_dir a("seed-a"), b("seed-b");
  auto first = first_draws(a.path(), 42);
  auto second = first_draws(a.path(), 42);
  auto third = first_draws(a.path(), 42);
  CHECK(first != second);
  CHECK(second != third);
  CHECK(first != third);
  // Reproducible: the same seed and the same number of starts draw the same.
  CHECK(first_draws(b.path(), 42) == first);
  CHECK(first_draws(b.path(), 42) == second);
}

TEST_CASE("live node: the start count is a row of the node's store", "[net][restart]") {
  test::temp_dir d("seed-rows");
  sqlite_store s(d.path() / "node.db");
  CHECK(live_runtime::count_start(s) == 1);
  CHECK(live_runtime::count_start(s) == 2);
  CHECK(*s.get("node", "starts") == "2");
  s.put("node", "starts", "garbage");
  CHECK(live_runtime::count_start(s) == 1); // counted anew
}

TEST_CASE("live node: a started node ignores SIGPIPE", "[net][restart]") {
  // A peer killed while this node wrote to it must cost a connection, not the
  // process (OpenSSL writes with write(2), which raises SIGPIPE on a reset
  // connection; found by tests/scripts/live_kill9_market.sh).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  test::temp_dir d("sigpipe");
  live_options o;
  o.name = "sigpipe-test";
  o.store = std::make_unique<sqlite_store>(d.path() / "node.db");
  o.content = std::make_unique<disk_content>(d.path(), [](const std::string&) {});
  o.on_log = [](const std::string&) {};
  live_runtime rt(std::move(o));
  rt.start();
  struct sigaction now {};
  ::sigaction(SIGPIPE, nullptr, &now);
  CHECK(now.sa_handler == SIG_IGN);
  rt.stop();
}
