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

  explicit world(policy p, std::uint64_t window = 256 * 1024) {
    gc.kind = p;
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
  void add_downloader(peer_id id, strategy s) {
    filexfer::downloader_config dc;
    dc.request_timeout = 20 * us_per_s;
    dc.initial_timeout = 20 * us_per_s;
    dc.min_timeout = 20 * us_per_s;
    payer_config pc;
    pc.ledger = ledger_node;
    pc.cheat = s;
    net.add(id, {filexfer::make_downloader(dc), make_payer(pc)});
    net.start(id);
    net.command(ledger_node, ports::ledger,
                text_command_of(1, "fund", {std::to_string(id), "10000000"}));
  }
  void download(peer_id id) {
    net.command(id, ports::file_downloader,
                text_command_of(7, "download", {to_hex(file), std::to_string(provider_node)}));
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
