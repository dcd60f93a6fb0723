// Provider (with a payment gate), downloader, payer, payment_verifier and
// ledger together: every policy with honest payers, and what a payer that
// never pays gets under each policy.
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/ledger/ledger_role.hpp"
#include "protocols/market/gate.hpp"
#include "protocols/market/market.hpp"
#include "protocols/market/tables.hpp"
#include "tests/protocols/market/market_support.hpp"
#include "protocols/ledger/ledger.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::market;

namespace {

constexpr peer_id ledger_node = 1, provider_node = 10;
constexpr std::size_t file_bytes = 1 << 20;

struct world {
  mkt::network net{3, 20 * us_per_ms};
  gate_config gc;
  verifier_config vc;
  std::shared_ptr<gate> g;
  digest file{};

  explicit world(policy p, std::uint64_t window = 256 * 1024, biller b = biller::honest) {
    gc.kind = p;
    gc.cheat = b;
    gc.window_bytes = window;
    gc.payment_deadline = 10 * us_per_s;
    gc.recheck = 200 * us_per_ms;
    vc.ledger = ledger_node;
    vc.poll_interval = 500 * us_per_ms;
    ledger::config lc;
    lc.block_interval = 1 * us_per_s;
    lc.confirmations = 2;
    net.add(ledger_node, {ledger::make_ledger(lc)});
    build_provider(false);
    file =
      net.at(provider_node).content.add_file("song.bin", mkt::make_file(9, file_bytes), 100'000);
    net.start(ledger_node);
    net.start(provider_node);
  }
  void build_provider(bool restart) {
    g = std::make_shared<gate>(gc);
    filexfer::provider_config pc;
    pc.gate = g;
    std::vector<std::shared_ptr<role>> roles{filexfer::make_provider(pc), make_verifier(vc)};
    if (restart)
      net.restart(provider_node, roles);
    else
      net.add(provider_node, roles);
  }
  void add_downloader(peer_id id, strategy s, bool check_bills = true) {
    filexfer::downloader_config dc;
    dc.request_timeout = 20 * us_per_s;
    dc.initial_timeout = 20 * us_per_s;
    dc.min_timeout = 20 * us_per_s;
    payer_config pc;
    pc.ledger = ledger_node;
    pc.cheat = s;
    pc.check_bills = check_bills;
    net.add(id, {filexfer::make_downloader(dc), make_payer(pc)});
    net.start(id);
    net.command(ledger_node, ports::ledger,
                text_command_of(1, "fund", {std::to_string(id), "10000000"}));
  }
  void download(peer_id id, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{to_hex(file), std::to_string(provider_node)};
    args.insert(args.end(), extra.begin(), extra.end());
    net.command(id, ports::file_downloader, text_command_of(7, "download", args));
  }
  std::uint64_t balance(peer_id p) {
    auto* l = dynamic_cast<ledger::ledger_role*>(net.at(ledger_node).roles.at(ports::ledger).get());
    return l->state().balance(p).balance;
  }
  std::size_t count(peer_id node, const std::string& kind) {
    std::size_t n = 0;
    for (auto& s : net.events)
      n += s.node == node && s.e.kind == kind;
    return n;
  }
  double served_to(peer_id peer) {
    double b = 0;
    for (auto& s : net.events)
      if (s.node == provider_node && s.e.kind == "market_served" &&
          *s.e.field("peer") == std::to_string(peer))
        b += s.e.value("bytes");
    return b;
  }
};

} // namespace

TEST_CASE("every policy: an honest download completes, verifies and pays the price exactly") {
  for (auto p : {policy::pay_after, policy::pay_per_window, policy::prepay}) {
    DYNAMIC_SECTION(policy_name(p)) {
      world w(p);
      w.add_downloader(20, strategy::honest);
      w.download(20);
      w.net.run_for(120 * us_per_s);
      REQUIRE(w.count(20, "download_done") == 1);
      CHECK(w.net.at(20).content.committed.count(w.file) == 1);
      // The download history row of the downloader.
      auto h = load(w.net.at(20).kv, tables::download_files(), {cell_digest(w.file)});
      REQUIRE(h);
      CHECK(h->u64("provider") == provider_node);
      CHECK(h->u64("price") == 100'000);
      CHECK(h->u64("size") == file_bytes);
      CHECK(h->str("name") == "song.bin");
      CHECK(w.balance(provider_node) == 100'000);
      CHECK(w.count(provider_node, "payment_failed") == 0);
      CHECK(w.count(20, "payment_recognised") == w.count(provider_node, "payment_verified"));
      auto bills = w.count(provider_node, "payment_requested");
      if (p == policy::pay_per_window)
        CHECK(bills == file_bytes / (128 * 1024)); // one per half window
      else
        CHECK(bills == 1);
      // The purchase is closed: nothing owed, one paid sale on the books.
      CHECK(mkt::count_rows(w.net.at(provider_node).kv, tables::credit(), peer_key(20)) == 0);
      CHECK(load(w.net.at(provider_node).kv, tables::provided_files(), {cell_digest(w.file)})
              ->u64("paid_sales") == 1);
    }
  }
}

TEST_CASE("a payer that never pays gets at most its policy's bound, then is refused") {
  struct expect {
    policy p;
    double max_served;
  };
  for (auto e : {expect{policy::prepay, 0}, expect{policy::pay_per_window, 256 * 1024},
                 expect{policy::pay_after, file_bytes}}) {
    DYNAMIC_SECTION(policy_name(e.p)) {
      world w(e.p);
      w.add_downloader(30, strategy::never_pays);
      w.download(30);
      w.net.run_for(60 * us_per_s);
      CHECK(w.served_to(30) == e.max_served);
      CHECK(w.net.at(provider_node).kv.get(tables::blacklist(), peer_key(30)).has_value());
      CHECK(w.balance(provider_node) == 0);
      if (e.p != policy::pay_after)
        CHECK(w.count(30, "download_failed") == 1);
      // A second attempt is refused at once.
      w.net.at(30).content.committed.clear();
      w.download(30);
      w.net.run_for(30 * us_per_s);
      CHECK(w.served_to(30) == e.max_served);
    }
  }
}

TEST_CASE("a restarted provider keeps holding a peer that owes its window") {
  world w(policy::pay_per_window);
  w.add_downloader(30, strategy::never_pays);
  w.download(30);
  w.net.run_for(3 * us_per_s);
  REQUIRE(w.served_to(30) == 256 * 1024);
  w.build_provider(true); // crash: gate and verifier state gone, rows kept
  w.net.run_for(60 * us_per_s);
  CHECK(w.served_to(30) == 256 * 1024); // nothing more after the restart
  CHECK(w.net.at(provider_node).kv.get(tables::blacklist(), peer_key(30)).has_value());
}

namespace {
constexpr std::uint64_t funds = 10'000'000, price = 100'000, fee = 1;
}

TEST_CASE("cheating billers: an honest payer pays the price once, a naive payer pays more") {
  struct expect {
    biller b;
    const char* refused; // the payer's reason counter
    std::uint64_t checked_pays, naive_pays;
  };
  for (auto e : {expect{biller::inflated_bills, "over_price", 0, 2 * price + fee},
                 expect{biller::wrong_hash_bills, "wrong_hash", 0, price + fee},
                 expect{biller::double_bills, "double", price + fee, 2 * (price + fee)}}) {
    DYNAMIC_SECTION(biller_name(e.b)) {
      world w(policy::pay_after, 256 * 1024, e.b);
      w.add_downloader(20, strategy::honest);
      w.add_downloader(22, strategy::honest, false); // the payer before bills were judged
      w.download(20);
      w.download(22);
      w.net.run_for(60 * us_per_s);
      REQUIRE(w.count(20, "download_done") == 1);
      REQUIRE(w.count(22, "download_done") == 1);
      CHECK(funds - w.balance(20) == e.checked_pays);
      CHECK(funds - w.balance(22) == e.naive_pays);
      CHECK(w.net.counter(20, std::string("market.bills_refused.") + e.refused) >= 1);
      CHECK(w.net.counter(20, "market.bills_refused") >= 1);
      CHECK(w.net.counter(22, "market.bills_refused") == 0);
    }
  }
}

TEST_CASE("unsolicited bills: a node that bought nothing pays nothing") {
  world w(policy::pay_after, 256 * 1024, biller::unsolicited_bills);
  w.add_downloader(20, strategy::honest);
  w.add_downloader(21, strategy::honest); // the victim: the buyer's id + 1, buys nothing
  w.download(20);
  w.net.run_for(60 * us_per_s);
  REQUIRE(w.count(20, "download_done") == 1);
  CHECK(funds - w.balance(20) == price + fee); // the buyer pays its own bill once
  CHECK(w.balance(21) == funds);
  CHECK(w.net.counter(21, "market.bills_refused.unsolicited") >= 1);
  auto refused = w.net.of_kind("bill_refused");
  REQUIRE_FALSE(refused.empty());
  CHECK(*refused[0].field("reason") == "unsolicited");
  CHECK(*refused[0].field("provider") == std::to_string(provider_node));
}

TEST_CASE("unsolicited bills drain a naive payer") {
  world w(policy::pay_after, 256 * 1024, biller::unsolicited_bills);
  w.add_downloader(20, strategy::honest);
  w.add_downloader(21, strategy::honest, false);
  w.download(20);
  w.net.run_for(60 * us_per_s);
  CHECK(funds - w.balance(21) == price + fee);
}

TEST_CASE("a stranger's bill moves no money, and no peer can bill on another's behalf") {
  world w(policy::pay_after);
  w.add_downloader(20, strategy::honest);
  w.net.run_for(3 * us_per_s); // funded
  payment_request r;
  r.ref[0] = 1;
  r.hash = w.file;
  r.amount = funds - 1000;
  r.recipient = 66;
  r.from = 0;
  r.to = file_bytes;
  r.due_ms = 10'000;
  w.net.deliver_now(66, 20, encode(r));
  r.ref[0] = 2;
  r.recipient = provider_node; // pay someone else than the sender
  w.net.deliver_now(66, 20, encode(r));
  w.net.run_for(20 * us_per_s);
  CHECK(w.balance(20) == funds);
  CHECK(w.net.counter(20, "market.bills_refused.unsolicited") == 2);
  CHECK(w.net.counter(20, "market.transfers_sent") == 0);
}

TEST_CASE(
  "a bill for bytes that have not arrived waits, and max_price bounds what a download pays") {
  SECTION("max_price below the announced price: the provider is skipped, nothing is paid") {
    world w(policy::pay_after);
    w.add_downloader(20, strategy::honest);
    w.download(20, {"max_price=" + std::to_string(price - 1)});
    w.net.run_for(30 * us_per_s);
    CHECK(w.count(20, "download_failed") == 1);
    CHECK(w.balance(20) == funds);
    CHECK(w.served_to(20) == 0);
  }
  SECTION("max_price at the price: paid in full") {
    world w(policy::pay_per_window);
    w.add_downloader(20, strategy::honest);
    w.download(20, {"max_price=" + std::to_string(price)});
    w.net.run_for(120 * us_per_s);
    CHECK(w.count(20, "download_done") == 1);
    CHECK(w.balance(provider_node) == price);
  }
}
