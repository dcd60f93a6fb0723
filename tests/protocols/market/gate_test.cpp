// The payment gate driven directly: each policy's decisions and bills, the
// exposure bound, blacklisting, idle billing and restart from the rows.
#include "protocols/market/codec.hpp"
#include "protocols/market/gate.hpp"
#include "protocols/market/tables.hpp"
#include "tests/protocols/market/market_support.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::market;
using verdict = filexfer::payment_gate::verdict;

namespace {

constexpr std::size_t chunk = 64 * 1024;

struct bench {
  mkt::node n;
  std::shared_ptr<gate> g;
  time_us now = 0;
  std::vector<payment_request> bills;
  std::vector<peer_id> to; // where each bill went
  std::vector<event> events;

  explicit bench(gate_config c) : g(std::make_shared<gate>(c)) {
    n.id = 100;
    effects fx;
    auto ctx = n.ctx(now);
    g->start(ctx, fx);
  }
  void collect(effects& fx) {
    for (auto& f : fx.frames) {
      auto d = decode(f.data);
      REQUIRE(d.ok());
      bills.push_back(std::get<payment_request>(d.msg));
      to.push_back(f.to);
    }
    for (auto& e : fx.events)
      events.push_back(e);
    fx.clear();
  }
  filexfer::payment_gate::admission admit(const file_info& f, peer_id p = 7) {
    effects fx;
    auto ctx = n.ctx(now);
    auto a = g->admit(ctx, p, f, fx);
    collect(fx);
    return a;
  }
  /// Serves the file from `offset` in chunks while the gate allows; returns bytes sent.
  std::uint64_t serve(const file_info& f, std::uint64_t offset, std::uint64_t until, peer_id p = 7,
                      verdict* last = nullptr) {
    std::uint64_t sent = 0;
    while (offset < until) {
      std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, until - offset));
      effects fx;
      auto ctx = n.ctx(now);
      auto v = g->may_send(ctx, p, f, offset, len, fx);
      if (last)
        *last = v;
      if (v != verdict::send) {
        collect(fx);
        break;
      }
      g->sent(ctx, p, f, offset, len, fx);
      collect(fx);
      offset += len;
      sent += len;
    }
    return sent;
  }
  void settle(const payment_request& b, const char* status) {
    auto key = payment_key("in", b.ref);
    auto r = load(n.kv, tables::payments(), key).value();
    r.set("status", status);
    save(n.kv, tables::payments(), key, r);
  }
  void restart() {
    g = std::make_shared<gate>(g->config());
    effects fx;
    auto ctx = n.ctx(now);
    g->start(ctx, fx);
  }
};

file_info file(std::uint64_t size, std::uint64_t price, std::uint8_t tag = 1) {
  file_info f;
  f.hash[0] = tag;
  f.name = "f" + std::to_string(tag);
  f.size = size;
  f.price = price;
  return f;
}

} // namespace

TEST_CASE("due_for splits a price over byte ranges exactly") {
  CHECK(due_for(1000, 3, 1) == 333);
  CHECK(due_for(1000, 3, 2) == 666);
  CHECK(due_for(1000, 3, 3) == 1000);
  CHECK(due_for(1000, 3, 9) == 1000);
  CHECK(due_for(UINT64_MAX, 1ull << 40, 1ull << 39) == UINT64_MAX / 2);
}

TEST_CASE("prepay: the whole price is billed at once and nothing goes out before it is verified") {
  gate_config c;
  c.kind = policy::prepay;
  bench b(c);
  auto f = file(1 << 20, 5000);
  auto a = b.admit(f);
  CHECK_FALSE(a.refused);
  REQUIRE(b.bills.size() == 1);
  CHECK(b.bills[0].amount == 5000);
  CHECK(b.bills[0].ref == a.ref); // the first bill carries the content's reference
  CHECK(b.bills[0].from == 0);
  CHECK(b.bills[0].to == f.size);
  CHECK(b.bills[0].recipient == 100);
  CHECK(b.to[0] == 7);
  verdict v{};
  CHECK(b.serve(f, 0, f.size, 7, &v) == 0);
  CHECK(v == verdict::hold);
  b.settle(b.bills[0], "notified");
  CHECK(b.serve(f, 0, f.size) == 0);
  b.settle(b.bills[0], "verified");
  CHECK(b.serve(f, 0, f.size) == f.size);
  CHECK(b.g->exposure(7) == 0);
  CHECK(b.bills.size() == 1);
  // Closed: counted as a paid sale, and the peer owes nothing.
  CHECK(load(b.n.kv, tables::provided_files(), {cell_digest(f.hash)})->u64("paid_sales") == 1);
  CHECK(mkt::count_rows(b.n.kv, tables::credit(), peer_key(7)) == 0);
  CHECK(mkt::count_rows(b.n.kv, tables::credit_bills(), peer_key(7)) == 0);
}

TEST_CASE("pay_per_window: unpaid bytes never exceed the window, bills go out every half window") {
  gate_config c;
  c.kind = policy::pay_per_window;
  c.window_bytes = 256 * 1024;
  bench b(c);
  auto f = file(1 << 20, 1 << 20); // one unit per byte
  b.admit(f);
  CHECK(b.bills.empty());
  verdict v{};
  std::uint64_t off = b.serve(f, 0, f.size, 7, &v);
  CHECK(off == c.window_bytes);
  CHECK(v == verdict::hold);
  CHECK(b.g->exposure(7) == c.window_bytes);
  REQUIRE(b.bills.size() == 2);
  CHECK(b.bills[0].from == 0);
  CHECK(b.bills[0].to == 128 * 1024);
  CHECK(b.bills[0].amount == 128 * 1024);
  CHECK(b.bills[1].from == 128 * 1024);
  // Paying the first half window lets exactly half a window more out.
  b.settle(b.bills[0], "verified");
  auto more = b.serve(f, off, f.size, 7, &v);
  CHECK(more == 128 * 1024);
  off += more;
  CHECK(b.g->exposure(7) == c.window_bytes);
  std::uint64_t total_billed = 0;
  for (auto& bill : b.bills) {
    b.settle(bill, "verified");
  }
  while (off < f.size) {
    auto s = b.serve(f, off, f.size);
    off += s;
    CHECK(b.g->exposure(7) <= c.window_bytes);
    for (auto& bill : b.bills)
      b.settle(bill, "verified");
    REQUIRE(s > 0);
  }
  for (auto& bill : b.bills)
    total_billed += bill.amount;
  CHECK(total_billed == f.price);
  CHECK(b.bills.back().to == f.size);
}

TEST_CASE("pay_per_window: the window is per peer, across files") {
  gate_config c;
  c.kind = policy::pay_per_window;
  c.window_bytes = 128 * 1024;
  bench b(c);
  auto f1 = file(1 << 20, 1000, 1), f2 = file(1 << 20, 1000, 2);
  b.admit(f1);
  b.admit(f2);
  CHECK(b.serve(f1, 0, f1.size) == 128 * 1024);
  CHECK(b.serve(f2, 0, f2.size) == 0);
  CHECK(b.g->exposure(7) == 128 * 1024);
  // Another peer has its own window.
  b.admit(f2, 8);
  CHECK(b.serve(f2, 0, f2.size, 8) == 128 * 1024);
}

TEST_CASE("pay_after: the file is served whole, billed at its end, and a second file waits") {
  gate_config c;
  c.kind = policy::pay_after;
  c.max_open_purchases = 1;
  bench b(c);
  auto f1 = file(512 * 1024, 700, 1), f2 = file(256 * 1024, 300, 2);
  b.admit(f1);
  CHECK(b.serve(f1, 0, f1.size) == f1.size);
  REQUIRE(b.bills.size() == 1);
  CHECK(b.bills[0].amount == 700);
  CHECK(b.bills[0].to == f1.size);
  CHECK(b.g->exposure(7) == f1.size);
  b.admit(f2);
  verdict v{};
  CHECK(b.serve(f2, 0, f2.size, 7, &v) == 0);
  CHECK(v == verdict::hold);
  CHECK(b.g->exposure(7) <= c.exposure_bound(f1.size));
  b.settle(b.bills[0], "verified");
  CHECK(b.serve(f2, 0, f2.size) == f2.size);
  CHECK(b.g->exposure(7) == f2.size);
}

TEST_CASE("a blacklisted peer is refused at admission and mid-stream") {
  gate_config c;
  c.kind = policy::pay_per_window;
  c.window_bytes = 128 * 1024;
  bench b(c);
  auto f = file(1 << 20, 1000);
  b.admit(f);
  CHECK(b.serve(f, 0, f.size) == 128 * 1024);
  b.n.kv.put(tables::blacklist(), {cell_u64(7), std::string("underpaid: 1 of 2")});
  verdict v{};
  b.serve(f, 128 * 1024, f.size, 7, &v);
  CHECK(v == verdict::refuse);
  auto a = b.admit(file(1000, 10, 3));
  CHECK(a.refused);
  CHECK(a.reason == "payment refused: underpaid: 1 of 2");
  // Free files too: a blacklisted peer gets nothing.
  CHECK(b.admit(file(1000, 0, 4)).refused);
}

TEST_CASE("free files are served without bills") {
  bench b(gate_config{});
  auto f = file(1 << 20, 0);
  CHECK_FALSE(b.admit(f).refused);
  CHECK(b.serve(f, 0, f.size) == f.size);
  CHECK(b.bills.empty());
  CHECK(b.events.empty());
}

TEST_CASE("an idle purchase is billed for what was sent") {
  gate_config c;
  c.kind = policy::pay_after;
  c.idle_bill_after = 10 * us_per_s;
  bench b(c);
  auto f1 = file(1 << 20, 1 << 20, 1), f2 = file(1 << 20, 100, 2);
  b.admit(f1);
  CHECK(b.serve(f1, 0, 300 * 1024) == 300 * 1024); // the peer went elsewhere
  CHECK(b.bills.empty());
  b.now += 11 * us_per_s;
  b.admit(f2); // the peer comes back for another file
  REQUIRE(b.bills.size() == 1);
  CHECK(b.bills[0].to == 300 * 1024);
  CHECK(b.bills[0].amount == 300 * 1024);
}

TEST_CASE("a restarted gate still knows who owes what") {
  gate_config c;
  c.kind = policy::pay_per_window;
  c.window_bytes = 256 * 1024;
  bench b(c);
  auto f = file(1 << 20, 1000);
  b.admit(f);
  CHECK(b.serve(f, 0, f.size) == 256 * 1024);
  REQUIRE(b.bills.size() == 2);
  b.restart();
  CHECK(b.g->exposure(7) == 0); // not loaded until the peer shows up
  b.admit(f);
  CHECK(b.g->exposure(7) == 256 * 1024);
  CHECK(b.serve(f, 256 * 1024, f.size) == 0); // still over its window
  b.settle(b.bills[0], "verified");
  b.restart();
  b.admit(f);
  CHECK(b.serve(f, 256 * 1024, f.size) == 128 * 1024);
  // The bills are rows the verifier picks up: in Payments and in the inbox.
  CHECK(b.n.kv.count(tables::inbox()) == b.bills.size());
  CHECK(load(b.n.kv, tables::payments(), payment_key("in", b.bills[1].ref))->str("status") ==
        "requested");
}
