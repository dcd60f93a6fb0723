#include "protocols/ledger/codec.hpp"
#include "protocols/ledger/ledger_role.hpp"
#include "tests/protocols/ledger/ledger_support.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::ledger;

namespace {

struct harness {
  ledgertest::memory_kv kv;
  ledgertest::no_content content;
  rng random{3};
  std::shared_ptr<ledger_role> role;
  effects fx;
  time_us now = 0;
  std::uint64_t timer = 0;

  explicit harness(config c = {}) : role(std::make_shared<ledger_role>(c)) { restart(); }
  context ctx() { return context{now, 1000, random, kv, content, {}}; }
  void restart() {
    fx.clear();
    auto c = ctx();
    role = std::make_shared<ledger_role>(role->state().cfg());
    role->start(c, fx);
    timer = fx.timers.at(0).token;
    fx.clear();
  }
  void block() {
    now += role->state().cfg().block_interval;
    auto c = ctx();
    role->timer(c, timer, fx);
    timer = fx.timers.back().token;
  }
  message ask(peer_id from, const message& m) {
    fx.clear();
    auto c = ctx();
    role->frame(c, from, encode(m), fx);
    REQUIRE(fx.frames.size() == 1);
    CHECK(fx.frames[0].to == from);
    auto d = decode(fx.frames[0].data);
    REQUIRE(d.ok());
    return d.msg;
  }
  void command(std::string verb, std::vector<std::string> args) {
    fx.clear();
    auto c = ctx();
    deliver_command(*role, c, text_command_of(1, std::move(verb), std::move(args)), fx);
  }
};

} // namespace

TEST_CASE("ledger role: fund, transfer, status and balance over the wire") {
  harness h;
  h.command("fund", {"7", "1000"});
  REQUIRE(h.fx.events.size() == 1);
  CHECK(h.fx.events[0].kind == "ledger_funded");
  auto ok = std::get<transfer_ok>(h.ask(7, transfer{5, ports::payment, 7, 8, 400, 2, 1}));
  CHECK(ok.port == ports::payment);
  CHECK(ok.req_id == 5);
  CHECK(ok.id == make_tx_id(7, 8, 400, 2, 1));
  auto st = std::get<tx_status_reply>(h.ask(8, tx_status_req{6, 9, ok.id}));
  CHECK(st.port == 9);
  CHECK(st.status == tx_status::pending);
  h.block();
  h.block();
  st = std::get<tx_status_reply>(h.ask(8, tx_status_req{6, 9, ok.id}));
  CHECK(st.status == tx_status::confirmed);
  CHECK(st.to == 8);
  CHECK(st.amount == 400);
  CHECK(st.depth == 2);
  auto bal = std::get<balance_reply>(h.ask(8, balance_req{7, 9, 8}));
  CHECK(bal.balance == 400);
  CHECK(bal.tip == 2);
}

TEST_CASE("ledger role: only the owner of an account can spend from it") {
  harness h;
  h.command("fund", {"7", "1000"});
  auto err = std::get<transfer_err>(h.ask(9, transfer{5, ports::payment, 7, 9, 400, 0, 1}));
  CHECK(err.code == error_code::not_owner);
  CHECK(h.role->state().pending_count() == 0);
}

TEST_CASE("ledger role: double spends and overdrafts get errors and are counted") {
  harness h;
  h.command("fund", {"7", "1000"});
  h.ask(7, transfer{1, ports::payment, 7, 8, 900, 0, 1});
  auto over = std::get<transfer_err>(h.ask(7, transfer{2, ports::payment, 7, 8, 200, 0, 2}));
  CHECK(over.code == error_code::overdraft);
  h.block();
  auto ds = std::get<transfer_err>(h.ask(7, transfer{3, ports::payment, 7, 7, 50, 5, 1}));
  CHECK(ds.code == error_code::double_spend);
  CHECK(h.role->state().check_invariants() == "");
}

TEST_CASE("ledger role: a restarted ledger keeps balances, transactions and spent nonces") {
  harness h;
  h.command("fund", {"7", "1000"});
  auto a = std::get<transfer_ok>(h.ask(7, transfer{1, ports::payment, 7, 8, 100, 1, 1}));
  h.block();
  auto b = std::get<transfer_ok>(h.ask(7, transfer{2, ports::payment, 7, 8, 50, 1, 2}));
  h.restart();
  CHECK(h.role->state().tip() == 1);
  CHECK(h.role->state().balance(8).balance == 100);
  CHECK(h.role->state().status(b.id).status == tx_status::pending);
  h.block();
  CHECK(h.role->state().balance(8).balance == 150);
  CHECK(h.role->state().status(a.id).status == tx_status::confirmed);
  auto again = std::get<transfer_err>(h.ask(7, transfer{3, ports::payment, 7, 9, 10, 9, 1}));
  CHECK(again.code == error_code::double_spend);
  CHECK(h.role->state().check_invariants() == "");
}

TEST_CASE("ledger role: malformed frames and bad commands are rejected without effect") {
  harness h;
  auto c = h.ctx();
  h.fx.clear();
  h.role->frame(c, 3, bytes{ports::ledger}, h.fx);
  h.role->frame(c, 3, bytes{ports::ledger, 1, 2, 3}, h.fx);
  CHECK(h.fx.frames.empty());
  REQUIRE(h.fx.metrics.size() == 2);
  CHECK(std::string(h.fx.metrics[0].name) == "frames_rejected");
  h.command("fund", {"x", "1"});
  CHECK(h.fx.events.at(0).kind == "command_failed");
  h.command("fund", {"1", "-5"});
  CHECK(h.fx.events.at(0).kind == "command_failed");
  h.command("mint", {"1"});
  CHECK(h.fx.events.at(0).kind == "command_failed");
  CHECK(h.role->state().balance(1).balance == 0);
}

TEST_CASE("ledger role: stale block timers are ignored") {
  harness h;
  auto c = h.ctx();
  h.fx.clear();
  h.role->timer(c, h.timer ^ 2, h.fx);
  CHECK(h.fx.empty());
  CHECK(h.role->state().tip() == 0);
}
