#include "protocols/ledger/chain.hpp"
#include "protocols/ledger/tables.hpp"
#include "tests/protocols/ledger/ledger_support.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace peerlab;
using namespace peerlab::ledger;

namespace {

config small_cfg(bool rbf = true) {
  config c;
  c.supply = 1'000'000;
  c.confirmations = 2;
  c.replace_by_fee = rbf;
  return c;
}

} // namespace

TEST_CASE("chain: funding moves value out of the treasury and a transfer settles in a block") {
  chain ch(small_cfg());
  REQUIRE(ch.fund(1, 1000).ok);
  CHECK(ch.balance(1).balance == 1000);
  CHECK(ch.balance(treasury).balance == 999'000);
  auto r = ch.submit(1, 2, 300, 5, 1);
  REQUIRE(r.ok);
  CHECK(r.id == make_tx_id(1, 2, 300, 5, 1));
  CHECK(ch.status(r.id).status == tx_status::pending);
  CHECK(ch.balance(1).pending_out == 305);
  CHECK(ch.balance(2).balance == 0);
  auto in = ch.make_block();
  REQUIRE(in.size() == 1);
  auto s = ch.status(r.id);
  CHECK(s.status == tx_status::in_block);
  CHECK(s.height == 1);
  CHECK(s.depth == 1);
  CHECK(ch.balance(1).balance == 695);
  CHECK(ch.balance(1).pending_out == 0);
  CHECK(ch.balance(2).balance == 300);
  CHECK(ch.balance(fee_sink).balance == 5);
  ch.make_block();
  s = ch.status(r.id);
  CHECK(s.status == tx_status::confirmed);
  CHECK(s.depth == 2);
  CHECK(s.tip == 2);
  CHECK(ch.check_invariants() == "");
}

TEST_CASE("chain: overdrafts are rejected, counting pending spends") {
  chain ch(small_cfg());
  ch.fund(1, 100);
  auto a = ch.submit(1, 2, 60, 0, 1);
  REQUIRE(a.ok);
  auto b = ch.submit(1, 3, 50, 0, 2); // 60 + 50 > 100
  CHECK_FALSE(b.ok);
  CHECK(b.code == error_code::overdraft);
  CHECK(ch.submit(1, 3, 40, 0, 2).ok); // exactly the rest
  CHECK_FALSE(ch.submit(1, 3, 1, 0, 3).ok);
  CHECK(ch.submit(7, 1, 1, 0, 1).code == error_code::overdraft); // an empty account
  ch.make_block();
  CHECK(ch.balance(1).balance == 0);
  CHECK(ch.check_invariants() == "");
}

TEST_CASE("chain: a nonce spent in a block can never be spent again") {
  chain ch(small_cfg());
  ch.fund(1, 1000);
  auto a = ch.submit(1, 2, 100, 1, 5);
  ch.make_block();
  auto again = ch.submit(1, 3, 100, 50, 5); // same nonce, higher fee: too late
  CHECK_FALSE(again.ok);
  CHECK(again.code == error_code::double_spend);
  CHECK(ch.status(a.id).status == tx_status::in_block);
  CHECK(ch.balance(3).balance == 0);
}

TEST_CASE("chain: a conflicting pending transaction replaces the first only with a higher fee") {
  chain ch(small_cfg(true));
  ch.fund(1, 1000);
  auto pay = ch.submit(1, 2, 500, 1, 9);
  REQUIRE(pay.ok);
  auto same_fee = ch.submit(1, 1, 500, 1, 9);
  CHECK(same_fee.code == error_code::conflict);
  auto steal = ch.submit(1, 1, 500, 2, 9); // back to itself, higher fee
  REQUIRE(steal.ok);
  CHECK(steal.replaced_other);
  CHECK(steal.replaced == pay.id);
  CHECK(ch.status(pay.id).status == tx_status::replaced);
  CHECK(ch.balance(1).pending_out == 502);
  // Resending the replaced one is a conflict, not a revival.
  CHECK(ch.submit(1, 2, 500, 1, 9).code == error_code::conflict);
  ch.make_block();
  ch.make_block();
  CHECK(ch.status(pay.id).status == tx_status::replaced);
  CHECK(ch.status(steal.id).status == tx_status::confirmed);
  CHECK(ch.balance(2).balance == 0);
  CHECK(ch.balance(1).balance == 998);
  CHECK(ch.check_invariants() == "");
}

TEST_CASE("chain: without replace-by-fee the first seen transaction keeps the nonce") {
  chain ch(small_cfg(false));
  ch.fund(1, 1000);
  auto pay = ch.submit(1, 2, 500, 1, 9);
  CHECK(ch.submit(1, 1, 500, 100, 9).code == error_code::conflict);
  ch.make_block();
  CHECK(ch.status(pay.id).status == tx_status::in_block);
  CHECK(ch.balance(2).balance == 500);
}

TEST_CASE("chain: the same transfer twice is one transaction") {
  chain ch(small_cfg());
  ch.fund(1, 1000);
  auto a = ch.submit(1, 2, 100, 1, 1);
  auto b = ch.submit(1, 2, 100, 1, 1);
  REQUIRE(b.ok);
  CHECK(b.duplicate);
  CHECK(a.id == b.id);
  CHECK(ch.pending_count() == 1);
  CHECK(ch.balance(1).pending_out == 101);
}

TEST_CASE("chain: bad amounts and reserved accounts are rejected") {
  chain ch(small_cfg());
  ch.fund(1, 1000);
  CHECK(ch.submit(1, 2, 0, 0, 1).code == error_code::bad_amount);
  CHECK(ch.submit(1, 2, UINT64_MAX, 1, 1).code == error_code::bad_amount);
  CHECK(ch.submit(1, treasury, 1, 0, 1).code == error_code::bad_amount);
  CHECK(ch.submit(treasury, 1, 1, 0, 1).code == error_code::not_owner);
  CHECK(ch.submit(fee_sink, 1, 1, 0, 1).code == error_code::not_owner);
  CHECK_FALSE(ch.fund(1, 2'000'000).ok); // more than the treasury holds
  CHECK_FALSE(ch.fund(2, 0).ok);
}

TEST_CASE("chain: blocks hold at most max_block_txs, in arrival order") {
  auto c = small_cfg();
  c.max_block_txs = 3;
  chain ch(c);
  ch.fund(1, 1000);
  std::vector<tx_id> ids;
  for (std::uint64_t n = 0; n < 7; ++n)
    ids.push_back(ch.submit(1, 2, 10, 0, n).id);
  auto b1 = ch.make_block();
  CHECK(b1 == std::vector<tx_id>{ids[0], ids[1], ids[2]});
  CHECK(ch.make_block().size() == 3);
  CHECK(ch.make_block().size() == 1);
  CHECK(ch.make_block().empty());
  CHECK(ch.tip() == 4);
}

TEST_CASE("chain: random transfers, double spends and replacements conserve value and spend each "
          "nonce once") {
  for (bool rbf : {true, false}) {
    chain ch(small_cfg(rbf));
    rng r(rbf ? 11 : 12);
    for (account_id a = 1; a <= 20; ++a)
      REQUIRE(ch.fund(a, 5000).ok);
    std::vector<tx_id> accepted;
    for (int step = 0; step < 20000; ++step) {
      if (r.chance(0.05)) {
        ch.make_block();
        continue;
      }
      account_id from = 1 + r.below(20), to = 1 + r.below(20);
      auto res = ch.submit(from, to, 1 + r.below(800), r.below(5), r.below(60));
      if (res.ok)
        accepted.push_back(res.id);
      if (step % 500 == 0)
        REQUIRE(ch.check_invariants() == "");
    }
    for (int i = 0; i < 200 && ch.pending_count() > 0; ++i)
      ch.make_block();
    CHECK(ch.pending_count() == 0);
    REQUIRE(ch.check_invariants() == "");
    // Each (payer, nonce) settled at most once; every settled tx is accounted.
    std::set<std::pair<account_id, std::uint64_t>> spent;
    std::uint64_t total = 0;
    for (account_id a = 1; a <= 20; ++a)
      total += ch.balance(a).balance;
    total += ch.balance(fee_sink).balance + ch.balance(treasury).balance;
    CHECK(total == ch.supply());
    for (auto& id : accepted) {
      auto s = ch.status(id);
      if (s.status == tx_status::in_block || s.status == tx_status::confirmed)
        CHECK(spent.insert({s.from, s.nonce}).second);
      else
        CHECK(s.status == tx_status::replaced);
    }
    CHECK(spent.size() > 100);
  }
}

TEST_CASE("chain: rows reload into the same state") {
  ledgertest::memory_kv kv;
  chain a(small_cfg());
  a.fund(1, 1000);
  auto t1 = a.submit(1, 2, 100, 1, 1);
  a.make_block();
  auto t2 = a.submit(1, 3, 50, 1, 2); // still pending
  for (auto& id : {t1.id, t2.id})
    a.save_tx(kv, id);
  for (account_id x : {account_id{1}, account_id{2}, account_id{3}, fee_sink, treasury})
    a.save_account(kv, x);
  // The fund transaction too (the role saves it when it funds).
  chain b(small_cfg());
  a.save_meta(kv);
  b.load(kv);
  CHECK(b.tip() == 1);
  CHECK(b.balance(1).balance == 899);
  CHECK(b.balance(1).pending_out == 51);
  CHECK(b.status(t2.id).status == tx_status::pending);
  CHECK(b.check_invariants() == "");
  b.make_block();
  CHECK(b.balance(3).balance == 50);
  // Its nonce 1 is still spent after the reload.
  CHECK(b.submit(1, 5, 10, 9, 1).code == error_code::double_spend);
}

TEST_CASE("chain: rows of older node files convert into the typed tables") {
  // The generic rows(tbl, key, value) of the previous version, as a live
  // node's migration hands them to each table's from_legacy.
  chain a(small_cfg());
  a.fund(1, 1000);
  auto t1 = a.submit(1, 2, 100, 1, 1);
  a.make_block();
  ledgertest::memory_kv kv;
  auto put_old = [&](const table_schema& t, std::string k, std::string v) {
    auto r = t.from_legacy(k, v);
    REQUIRE(r);
    REQUIRE(kv.put(t, *r));
  };
  auto& r1 = *a.find(t1.id);
  put_old(meta_table(), "state", "1 2 1 " + std::to_string(small_cfg().supply));
  put_old(accounts_table(), "0000000000000001", "899");
  put_old(accounts_table(), "0000000000000002", "100");
  put_old(accounts_table(), "fffffffffffffffe", "1");
  put_old(accounts_table(), "ffffffffffffffff", std::to_string(small_cfg().supply - 1000));
  put_old(txs_table(), to_hex(t1.id),
          "1 2 100 1 1 " + std::to_string(static_cast<unsigned>(r1.status)) + " 1 1");
  CHECK_FALSE(txs_table().from_legacy(to_hex(t1.id), "1 2 100"));
  CHECK_FALSE(accounts_table().from_legacy("zz", "1"));
  chain b(small_cfg());
  b.load(kv);
  CHECK(b.tip() == 1);
  CHECK(b.balance(1).balance == 899);
  CHECK(b.balance(fee_sink).balance == 1);
  CHECK(b.status(t1.id).status == a.status(t1.id).status);
  CHECK(b.check_invariants() == "");
}
