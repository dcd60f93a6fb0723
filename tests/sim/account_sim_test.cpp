// The account role in the simulator: scenario `command` items ask buyers'
// account roles for their payments, balances and served files, the same
// commands a live node's market API sends, answered by the same code.
#include "sim_helpers.hpp"

#include "protocols/common/command.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

using namespace peerlab;

// A cell of a list answer's row, by column name.
inline const peerlab::cell& col(const peerlab::event& e, std::size_t i, std::string_view name) {
  REQUIRE(e.rows_schema);
  return e.rows.at(i).cells.at(e.rows_schema->column_index(name));
}
inline std::string text_of(const peerlab::event& e, std::size_t i, std::string_view name) {
  return std::get<std::string>(col(e, i, name));
}
inline std::int64_t int_of(const peerlab::event& e, std::size_t i, std::string_view name) {
  return std::get<std::int64_t>(col(e, i, name));
}

namespace {

constexpr std::uint64_t funded = 1'000'000;

nlohmann::json account_world() {
  auto j = nlohmann::json::parse(R"({
    "name": "account_sim", "seed": 8, "duration": "90s",
    "groups": [
      {"name": "ledger", "count": 1, "roles": [{"role": "ledger", "block_interval": "1s", "confirmations": 1}]},
      {"name": "seeders", "count": 2, "roles": [
        {"role": "provider", "payment": {"policy": "pay_after", "payment_deadline": "20s"}},
        {"role": "payment_verifier", "ledger": 0, "poll_interval": "500ms"}]},
      {"name": "buyers", "count": 2, "roles": [
        "downloader", {"role": "payer", "ledger": 0},
        {"role": "account", "ledger": 0, "ledger_timeout": "3s", "max_list": 50}]},
      {"name": "unledgered", "count": 1, "roles": ["account"]}
    ],
    "network": {"latency": {"model": "uniform", "min": "10ms", "max": "30ms"},
                "bandwidth": {"up": "20Mbit/s", "down": "50Mbit/s"}},
    "workload": [
      {"kind": "files", "name": "f", "count": 3, "size": "64KiB", "price": 1000,
       "providers": ["seeders"], "replicas": 2},
      {"kind": "market", "ledger": "ledger", "fund": 1000000, "grace": "10s"},
      {"kind": "downloads", "group": "buyers", "files": "f", "start": "3s", "stop": "20s",
       "interval": {"dist": "exponential", "mean": "3s"}, "max_per_node": 2}
    ]
  })");
  auto cmd = [&](const char* at, const char* group, const char* verb,
                 std::vector<std::string> args) {
    j["workload"].push_back({{"kind", "command"},
                             {"at", at},
                             {"group", group},
                             {"role", "account"},
                             {"verb", verb},
                             {"args", args}});
  };
  cmd("60s", "buyers", "payments", {});
  cmd("61s", "buyers", "balance", {});
  cmd("62s", "buyers", "provided", {});
  cmd("63s", "buyers", "provide", {"/data/x.bin", "x", "1", std::string(64, 'a'), "1", "1"});
  cmd("64s", "buyers", "unprovide", {std::string(64, 'b')});
  cmd("65s", "unledgered", "balance", {});
  cmd("66s", "unledgered", "provided", {});
  return j;
}

struct account_run {
  std::string fingerprint;
  std::map<std::uint32_t, std::vector<event>> replies; // by node, in order
};

account_run run_account(sim::engine eng) {
  account_run out;
  sim::sim_options o;
  o.eng = eng;
  o.on_event = [&](std::uint32_t node, time_us, const event& e) {
    bool answer = e.kind.starts_with("api_") || e.kind == "command_failed";
    if (e.command_id != 0 && issuer_port(e.command_id) == 0 && answer)
      out.replies[node].push_back(e);
  };
  sim::simulator s(test::parse(account_world()), o);
  s.run();
  out.fingerprint = s.chain().hex();
  return out;
}

} // namespace

TEST_CASE("account: scenario commands list a buyer's payments and ask the ledger for its balance",
          "[sim][account]") {
  auto a = run_account(sim::engine::actors);
  // Nodes: 0 ledger, 1-2 seeders, 3-4 buyers, 5 unledgered.
  for (std::uint32_t buyer : {3u, 4u}) {
    INFO("buyer " << buyer);
    auto& r = a.replies[buyer];
    REQUIRE(r.size() == 5);

    REQUIRE(r[0].kind == "api_list");
    CHECK(*r[0].field("table") == "payments");
    auto& payments = r[0];
    REQUIRE(payments.rows.size() >= 1);
    CHECK(r[0].value("count") == static_cast<double>(payments.rows.size()));
    std::uint64_t spent = 0;
    for (std::size_t i = 0; i < payments.rows.size(); ++i) {
      CHECK(text_of(payments, i, "direction") == "out");
      CHECK(int_of(payments, i, "amount") == 1000);
      spent += static_cast<std::uint64_t>(int_of(payments, i, "amount")) + 1; // the default fee
    }

    // Every payment was confirmed long before: the balance shows all of them.
    REQUIRE(r[1].kind == "api_balance");
    CHECK(*r[1].field("account") == std::to_string(buyer));
    CHECK(r[1].value("balance") == static_cast<double>(funded - spent));
    CHECK(r[1].value("pending_out") == 0);

    // What it downloaded, it serves (the simulator's files have no path).
    REQUIRE(r[2].kind == "api_list");
    auto& provided = r[2];
    CHECK(provided.rows.size() == payments.rows.size());
    for (std::size_t i = 0; i < provided.rows.size(); ++i) {
      CHECK(text_of(provided, i, "source") == "download");
      CHECK(text_of(provided, i, "path") == "");
      CHECK(int_of(provided, i, "price") == 1000);
    }

    // No files at paths in the simulator; nothing to unprovide.
    REQUIRE(r[3].kind == "command_failed");
    CHECK(r[3].value("code") == 409);
    CHECK(r[3].field("reason")->find("synthetic files") != std::string::npos);
    REQUIRE(r[4].kind == "command_failed");
    CHECK(r[4].value("code") == 404);
  }
  auto& lone = a.replies[5];
  REQUIRE(lone.size() == 2);
  CHECK(lone[0].kind == "command_failed");
  CHECK(lone[0].value("code") == 409);
  CHECK(lone[1].kind == "api_list");
  CHECK(lone[1].value("total") == 0);

  auto b = run_account(sim::engine::actors);
  auto d = run_account(sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.fingerprint == d.fingerprint);
}
