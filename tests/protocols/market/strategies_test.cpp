// The verifier, the payer and the ledger on a small network: what each
// cheating strategy gets, and that honest payments are recognised.
#include "protocols/ledger/ledger_role.hpp"
#include "protocols/market/gate.hpp"
#include "protocols/market/payer.hpp"
#include "protocols/market/tables.hpp"
#include "protocols/market/verifier.hpp"
#include "tests/protocols/market/market_support.hpp"
#include "protocols/filexfer/commands.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::market;

namespace {

constexpr peer_id ledger_node = 1, provider_node = 10;

struct market_net {
  mkt::network net;
  ledger::config lc;
  verifier_config vc;
  gate_config gc;
  std::shared_ptr<gate> g;

  market_net() {
    lc.block_interval = 1 * us_per_s;
    lc.confirmations = 2;
    vc.ledger = ledger_node;
    vc.poll_interval = 500 * us_per_ms;
    vc.unknown_grace = 3 * us_per_s;
    vc.confirm_deadline = 30 * us_per_s;
    gc.kind = policy::pay_after;
    gc.payment_deadline = 10 * us_per_s;
    gc.max_open_purchases = 16;
    g = std::make_shared<gate>(gc);
    net.add(ledger_node, {ledger::make_ledger(lc)});
    net.add(provider_node, {make_verifier(vc)});
  }
  payer_config payer_cfg(strategy s) {
    payer_config p;
    p.ledger = ledger_node;
    p.cheat = s;
    p.late_delay = 20 * us_per_s;
    p.resend_interval = 2 * us_per_s;
    return p;
  }
  void add_payer(peer_id id, strategy s, std::uint64_t funds = 1'000'000) {
    net.add(id, {make_payer(payer_cfg(s))});
    net.start(id);
    net.command(ledger_node, ports::ledger,
                text_command_of(1, "fund", {std::to_string(id), std::to_string(funds)}));
  }
  void start() {
    net.start(ledger_node);
    net.start(provider_node);
    net.act(provider_node, ports::file_provider, [&](context& c, effects& fx) { g->start(c, fx); });
  }
  /// Sells a whole file to `peer` (the gate bills it at the end under pay_after).
  void sell(peer_id peer, std::uint8_t tag, std::uint64_t price = 1000,
            std::uint64_t size = 256 * 1024) {
    file_info f;
    f.hash[0] = tag;
    f.hash[1] = static_cast<std::uint8_t>(peer);
    f.name = "file";
    f.size = size;
    f.price = price;
    // What the peer's downloader tells its payer: it ordered the file and got all of it.
    filexfer::purchase_report r{tag,  provider_node,          f.hash, price,
                                size, filexfer::no_max_price, 0,      size};
    net.command(peer, ports::payer,
                peerlab::command(local_command_id(ports::file_downloader, tag),
                                 filexfer::purchase_reports{r}));
    net.act(provider_node, ports::file_provider, [&](context& c, effects& fx) {
      auto a = g->admit(c, peer, f, fx);
      REQUIRE_FALSE(a.refused);
      for (std::uint64_t off = 0; off < f.size; off += 64 * 1024) {
        REQUIRE(g->may_send(c, peer, f, off, 64 * 1024, fx) ==
                filexfer::payment_gate::verdict::send);
        g->sent(c, peer, f, off, 64 * 1024, fx);
      }
    });
  }
  std::vector<event> provider_events(const std::string& kind, peer_id peer) {
    std::vector<event> out;
    for (auto& s : net.events)
      if (s.node == provider_node && s.e.kind == kind && *s.e.field("peer") == std::to_string(peer))
        out.push_back(s.e);
    return out;
  }
  bool blacklisted(peer_id p) {
    return net.at(provider_node).kv.get(tables::blacklist(), peer_key(p)).has_value();
  }
  std::uint64_t balance(peer_id p) {
    auto* l = dynamic_cast<ledger::ledger_role*>(net.at(ledger_node).roles.at(ports::ledger).get());
    return l->state().balance(p).balance;
  }
};

std::string reason_of(const std::vector<event>& evs) {
  return evs.empty() ? "" : *evs[0].field("reason");
}

} // namespace

TEST_CASE("an honest payer's payment is verified, recognised and moves the money") {
  market_net m;
  m.start();
  m.add_payer(20, strategy::honest);
  m.sell(20, 1, 1000);
  m.net.run_for(20 * us_per_s);
  auto ok = m.provider_events("payment_verified", 20);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].value("amount") == 1000);
  CHECK(ok[0].value("bytes") == 256 * 1024);
  CHECK(m.net.of_kind("payment_recognised").size() == 1);
  CHECK_FALSE(m.blacklisted(20));
  CHECK(m.balance(provider_node) == 1000);
  CHECK(m.balance(20) == 1'000'000 - 1000 - 1); // the fee went to the block producer
  CHECK(
    m.net.at(20).kv.get(tables::payments(), payment_key("out", *ok[0].field("ref"))).has_value());
  // Its bill is settled; the verifier holds nothing open.
  auto* v = dynamic_cast<verifier*>(m.net.at(provider_node).roles.at(ports::payment).get());
  CHECK(v->open_count() == 0);
}

TEST_CASE(
  "cheating strategies fail verification with the reason of their cheat and are blacklisted") {
  struct expectation {
    strategy s;
    std::string reason;
  };
  std::vector<expectation> cases = {
    {strategy::never_pays, "not paid within the payment deadline"},
    {strategy::underpays, "underpaid: 500 of 1000"},
    {strategy::fake_tx_id, "the ledger knows no such transaction"},
    {strategy::double_spends, "the transaction was replaced by a conflicting one (double spend)"},
    {strategy::pays_late, "not paid within the payment deadline"},
    {strategy::impersonates, "not paid within the payment deadline"},
  };
  for (auto& c : cases) {
    DYNAMIC_SECTION(strategy_name(c.s)) {
      market_net m;
      m.start();
      m.add_payer(30, c.s);
      m.sell(30, 1, 1000);
      m.net.run_for(40 * us_per_s);
      auto failed = m.provider_events("payment_failed", 30);
      REQUIRE(failed.size() == 1);
      CHECK(reason_of(failed) == c.reason);
      // A late payer is cleared once its payment arrives (below); the others stay.
      CHECK(m.blacklisted(30) == (c.s != strategy::pays_late));
      CHECK(m.provider_events("payment_verified", 30).empty());
      CHECK(m.provider_events("peer_blacklisted", 30).size() == 1);
      if (c.s == strategy::double_spends) {
        CHECK(m.balance(provider_node) == 0);
        CHECK(m.net.counter("ledger.replacements") == 1);
      }
      if (c.s == strategy::impersonates) {
        // The transfer in the provider's name moved nothing: the ledger checks the sender.
        CHECK(m.net.counter("ledger.impostor_transfers_rejected") == 1);
        CHECK(m.balance(provider_node) == 0);
        CHECK(m.balance(30) == 1'000'000); // nor was anything taken from it
      }
      if (c.s == strategy::pays_late) {
        // The late money is recognised in the books and clears the peer.
        auto late = m.provider_events("payment_late_paid", 30);
        CHECK(m.provider_events("peer_cleared", 30).size() == 1);
        REQUIRE(late.size() == 1);
        CHECK(m.balance(provider_node) == 1000);
        auto r = load(m.net.at(provider_node).kv, tables::payments(),
                      payment_key("in", *late[0].field("ref")));
        CHECK(r->str("status") == "late_paid");
      }
    }
  }
}

TEST_CASE("reuses_tx_id: the first bill is paid, reporting that transaction again is caught") {
  market_net m;
  m.start();
  m.add_payer(40, strategy::reuses_tx_id);
  m.sell(40, 1, 1000);
  m.net.run_for(10 * us_per_s);
  REQUIRE(m.provider_events("payment_verified", 40).size() == 1);
  m.sell(40, 2, 1000);
  m.net.run_for(10 * us_per_s);
  auto failed = m.provider_events("payment_failed", 40);
  REQUIRE(failed.size() == 1);
  CHECK(reason_of(failed).find("already paid reference") != std::string::npos);
  CHECK(m.net.counter("market.reused_tx_detected") == 1);
  CHECK(m.blacklisted(40));
  CHECK(m.balance(provider_node) == 1000);
}

TEST_CASE("reporting another peer's transaction fails: it was not paid by the notifying peer") {
  market_net m;
  m.start();
  m.add_payer(20, strategy::honest);
  m.add_payer(50, strategy::never_pays);
  m.sell(50, 1, 1000); // bill for the cheater, which it will not pay
  m.sell(20, 2, 1000); // the honest peer pays the same amount
  m.net.run_for(1 * us_per_s);
  auto sent = m.net.of_kind("payment_sent");
  REQUIRE(sent.size() == 1);
  auto honest_tx =
    load(m.net.at(20).kv, tables::payments(), payment_key("out", *sent[0].field("ref")));
  REQUIRE(honest_tx);
  auto tx = digest_from_hex(honest_tx->str("tx"));
  REQUIRE(tx);
  // The cheater claims the honest payer's transaction for its own bill, and
  // does so before the honest notification arrives.
  std::string ref_text;
  m.net.at(provider_node)
    .kv.scan(tables::payments(), {std::string("in")}, [&](const peerlab::row& r) {
      if (market::row::of(tables::payments(), r).u64("peer") == 50)
        ref_text = market::row::of(tables::payments(), r).str("ref");
    });
  auto cheater_bill =
    load(m.net.at(provider_node).kv, tables::payments(), payment_key("in", ref_text));
  REQUIRE(cheater_bill);
  auto ref_bytes = bytes_from_hex(ref_text).value();
  payment_ref ref{};
  std::copy(ref_bytes.begin(), ref_bytes.end(), ref.begin());
  m.net.deliver_now(50, provider_node, encode(payment_notify{ref, *tx}));
  m.net.run_for(20 * us_per_s);
  CHECK(m.blacklisted(50));
  CHECK_FALSE(m.blacklisted(20));
  CHECK(m.provider_events("payment_verified", 20).size() == 1);
}

TEST_CASE("notifications for unknown or foreign references change nothing") {
  market_net m;
  m.start();
  m.add_payer(20, strategy::honest);
  m.add_payer(21, strategy::never_pays);
  m.sell(21, 1, 1000);
  payment_ref unknown{};
  unknown[0] = 0xee;
  m.net.deliver_now(20, provider_node, encode(payment_notify{unknown, tx_id{}}));
  m.net.run_for(100 * us_per_ms);
  CHECK(m.net.counter("market.notify_unknown_ref") == 1);
  std::string ref_text;
  m.net.at(provider_node)
    .kv.scan(tables::payments(), {std::string("in")}, [&](const peerlab::row& r) {
      ref_text = market::row::of(tables::payments(), r).str("ref");
    });
  auto rb = bytes_from_hex(ref_text).value();
  payment_ref ref{};
  std::copy(rb.begin(), rb.end(), ref.begin());
  m.net.deliver_now(20, provider_node,
                    encode(payment_notify{ref, tx_id{}})); // peer 20 claims 21's bill
  m.net.run_for(100 * us_per_ms);
  CHECK(m.net.counter("market.notify_wrong_peer") == 1);
  auto r = load(m.net.at(provider_node).kv, tables::payments(), payment_key("in", ref_text));
  CHECK(r->str("status") == "requested");
  CHECK_FALSE(m.blacklisted(20));
}

TEST_CASE("a lost bill, notification or status is sent again until the payment is recognised") {
  market_net m;
  m.net.loss = 0.3;
  m.start();
  m.add_payer(20, strategy::honest);
  for (std::uint8_t f = 1; f <= 10; ++f)
    m.sell(20, f, 1000);
  m.net.run_for(60 * us_per_s);
  CHECK(m.provider_events("payment_verified", 20).size() == 10);
  CHECK(m.provider_events("payment_failed", 20).empty());
  CHECK(m.balance(provider_node) == 10000);
}

TEST_CASE("a restarted verifier and payer finish the payments under way") {
  market_net m;
  m.start();
  m.add_payer(20, strategy::honest);
  m.sell(20, 1, 1000);
  m.sell(20, 2, 2000);
  m.net.run_for(1200 * us_per_ms); // notified, not yet confirmed
  CHECK(m.provider_events("payment_verified", 20).empty());
  m.net.restart(provider_node, {make_verifier(m.vc)});
  m.net.restart(20, {make_payer(m.payer_cfg(strategy::honest))});
  m.net.run_for(20 * us_per_s);
  CHECK(m.provider_events("payment_verified", 20).size() == 2);
  CHECK(m.balance(provider_node) == 3000);
  auto* v = dynamic_cast<verifier*>(m.net.at(provider_node).roles.at(ports::payment).get());
  CHECK(v->open_count() == 0);
  CHECK(m.net.at(provider_node).kv.count(tables::open()) == 0);
}

TEST_CASE("a restarted provider still fails a peer that never paid") {
  market_net m;
  m.start();
  m.add_payer(30, strategy::never_pays);
  m.sell(30, 1, 1000);
  m.net.run_for(2 * us_per_s);
  m.net.restart(provider_node, {make_verifier(m.vc)});
  m.net.run_for(20 * us_per_s);
  CHECK(m.blacklisted(30));
  CHECK(reason_of(m.provider_events("payment_failed", 30)) ==
        "not paid within the payment deadline");
}

TEST_CASE("a provider whose UsedTx could fill refuses new purchases before any payer pays") {
  market_net m;
  // Room for every open payment plus one more transaction.
  m.net.at(provider_node).kv.cap_rows("UsedTx", bounds::open_payments_max + 1);
  m.start();
  m.add_payer(40, strategy::honest);
  m.sell(40, 1, 1000);
  m.net.run_for(10 * us_per_s);
  REQUIRE(m.provider_events("payment_verified", 40).size() == 1);
  REQUIRE(m.net.at(provider_node).kv.count(tables::used_tx()) == 1);
  file_info f;
  f.hash[0] = 2;
  f.name = "file";
  f.size = 1024;
  f.price = 1000;
  m.net.act(provider_node, ports::file_provider, [&](context& c, effects& fx) {
    auto a = m.g->admit(c, 40, f, fx);
    CHECK(a.refused);
    CHECK(a.reason.find("cannot record more payments") != std::string::npos);
    f.price = 0; // free files need no payment record
    CHECK_FALSE(m.g->admit(c, 40, f, fx).refused);
  });
  CHECK(m.net.counter("market.refused_payments_full") == 1);
  CHECK(m.balance(provider_node) == 1000); // only the first sale was paid
  CHECK_FALSE(m.blacklisted(40));
}

namespace {
// The pays_late payer's bill missed its deadline (20 s late_delay, 10 s deadline).
market_net& blacklisted_late_payer(market_net& m) {
  m.start();
  m.add_payer(30, strategy::pays_late);
  m.sell(30, 1, 1000);
  m.net.run_for(12 * us_per_s);
  REQUIRE(m.blacklisted(30));
  REQUIRE(m.provider_events("payment_late_paid", 30).empty());
  return m;
}
} // namespace

TEST_CASE("a peer that paid late is cleared when the payment arrives") {
  market_net m;
  blacklisted_late_payer(m);
  m.net.run_for(30 * us_per_s);
  REQUIRE(m.provider_events("payment_late_paid", 30).size() == 1);
  CHECK_FALSE(m.blacklisted(30));
  CHECK(m.net.counter(provider_node, "market.peers_cleared") == 1);
  // The gate counts the late bill as paid: the peer may buy again.
  m.sell(30, 2, 1000);
  m.net.run_for(40 * us_per_s);
  CHECK(m.provider_events("payment_late_paid", 30).size() == 2);
  CHECK(m.balance(provider_node) == 2000);
}

TEST_CASE("a late payment does not clear a peer that still owes another bill or cheated") {
  SECTION("another bill missed its deadline and is still unpaid") {
    market_net m;
    blacklisted_late_payer(m);
    market::row other;
    other.set("peer", "30");
    other.set("amount", 1000);
    other.set("status", "failed");
    other.set("reason", "not paid within the payment deadline");
    payment_ref ref{};
    ref[0] = 0xee;
    save(m.net.at(provider_node).kv, tables::payments(), payment_key("in", ref), other);
    m.net.run_for(30 * us_per_s);
    REQUIRE(m.provider_events("payment_late_paid", 30).size() == 1);
    CHECK(m.blacklisted(30));
    CHECK(m.provider_events("peer_cleared", 30).empty());
  }
  SECTION("the blacklist names a cheat, not a missed deadline") {
    market_net m;
    blacklisted_late_payer(m);
    m.net.at(provider_node).kv.put(tables::blacklist(), {cell_u64(30), "underpaid: 500 of 1000"});
    m.net.run_for(30 * us_per_s);
    REQUIRE(m.provider_events("payment_late_paid", 30).size() == 1);
    CHECK(m.blacklisted(30));
  }
}

TEST_CASE("a payment the provider heard of only after its deadline is verified late and clears "
          "the payer") {
  market_net m;
  m.start();
  m.add_payer(20, strategy::honest);
  m.sell(20, 1, 1000);
  m.net.crash(provider_node); // down before the notification arrives, past the 10 s deadline
  m.net.run_for(15 * us_per_s);
  m.net.restart(provider_node, {make_verifier(m.vc)});
  m.net.run_for(30 * us_per_s);
  auto failed = m.provider_events("payment_failed", 20);
  REQUIRE(failed.size() == 1);
  CHECK(reason_of(failed) == "not paid within the payment deadline");
  CHECK(m.provider_events("payment_late_paid", 20).size() == 1);
  CHECK_FALSE(m.blacklisted(20));
  CHECK(m.net.counter(20, "market.late_renotifications") >= 1);
  CHECK(m.net.of_kind("payment_recognised").size() == 1);
  CHECK(m.net.of_kind("payment_rejected").empty());
  CHECK(m.balance(provider_node) == 1000);
}
