// Payment verification with 10,000 pending payments per provider: the cost of one poll of the
// payment_verifier (status queries for the payments due, the ledger's replies to them) with 10,000
// unsettled payments, beside 0, 100,000 and 1,000,000 settled ones in the same store. The per-poll
// cost must not grow with the settled ones.
//   build-*/bench/bench_payments --benchmark_counters_tabular=true
#include "protocols/ledger/codec.hpp"
#include "protocols/market/codec.hpp"
#include "protocols/market/tables.hpp"
#include "protocols/market/verifier.hpp"
#include "protocols/common/memory_store.hpp"
#include "sim/synthetic_content.hpp"

#include <benchmark/benchmark.h>

using namespace peerlab;
using namespace peerlab::market;

namespace {

constexpr peer_id self = 10, ledger_node = 1;

payment_ref ref_of(std::uint64_t i, std::uint8_t kind) {
  payment_ref r{};
  for (int b = 0; b < 8; ++b)
    r[b] = static_cast<std::uint8_t>(i >> (8 * b));
  r[15] = kind;
  return r;
}

tx_id tx_of(std::uint64_t i, std::uint8_t kind) {
  tx_id t{};
  for (int b = 0; b < 8; ++b)
    t[b] = static_cast<std::uint8_t>(i >> (8 * b));
  t[31] = kind;
  return t;
}

struct setup {
  memory_store kv;
  sim::file_catalog catalog;
  sim::sink_budget budget;
  sim::synthetic_content content{&catalog, &budget, 0};
  rng random{5};
  verifier v{[] {
    verifier_config c;
    c.ledger = ledger_node;
    c.poll_interval = us_per_s;
    c.max_queries_per_poll = 20'000;
    c.confirm_deadline = 1'000'000 * us_per_s; // nothing expires during the run
    return c;
  }()};
  effects fx;
  time_us now = 0;
  std::uint64_t token = 0;

  context ctx() { return context{now, self, random, kv, content, {}}; }

  setup(std::uint64_t pending, std::uint64_t settled) {
    // Settled payments: rows the verifier never needs to look at again.
    for (std::uint64_t i = 0; i < settled; ++i) {
      market::row r;
      r.set("cat", "expected");
      r.set("peer", 100 + i % 1000);
      r.set("status", "verified");
      r.set("tx", to_hex(tx_of(i, 1)));
      save(kv, tables::payments(), payment_key("in", ref_of(i, 1)), r);
      auto ref = ref_of(i, 1);
      kv.put(tables::used_tx(), {cell_digest(tx_of(i, 1)), bytes(ref.begin(), ref.end())});
    }
    // Pending payments: bills from the gate, each then notified by its payer.
    for (std::uint64_t i = 0; i < pending; ++i) {
      market::row r;
      r.set("cat", "expected");
      r.set("peer", 100 + i % 1000);
      r.set("amount", 1000);
      r.set("from", 0);
      r.set("to", 65536);
      r.set("status", "requested");
      r.set_i("deadline", 1'000'000 * us_per_s);
      save(kv, tables::payments(), payment_key("in", ref_of(i, 2)), r);
      kv.put(tables::inbox(), peerlab::row(ref_key(ref_of(i, 2))));
    }
    auto c = ctx();
    v.start(c, fx);
    token = fx.timers.at(0).token;
    fx.clear();
    for (std::uint64_t i = 0; i < pending; ++i) {
      auto f = encode(payment_notify{ref_of(i, 2), tx_of(i, 2)});
      v.frame(c, 100 + i % 1000, f, fx);
      fx.clear();
    }
  }

  /// One poll, and the ledger's "still pending" answer to every query it sent.
  std::size_t poll() {
    now += us_per_s;
    auto c = ctx();
    v.timer(c, token, fx);
    std::vector<bytes> replies;
    for (auto& f : fx.frames) {
      auto d = ledger::decode(f.data);
      if (auto* q = std::get_if<ledger::tx_status_req>(&d.msg)) {
        ledger::tx_status_reply s;
        s.port = q->reply_port;
        s.req_id = q->req_id;
        s.id = q->id;
        s.status = ledger::tx_status::pending;
        s.to = self;
        s.amount = 1000;
        std::uint64_t i = 0; // the payment's index is in the id (tx_of)
        for (int b = 0; b < 8; ++b)
          i |= static_cast<std::uint64_t>(q->id[b]) << (8 * b);
        s.from = 100 + i % 1000;
        replies.push_back(ledger::encode(s));
      }
    }
    fx.clear();
    for (auto& r : replies)
      v.frame(c, ledger_node, r, fx);
    fx.clear();
    return replies.size();
  }
};

void BM_verifier_poll(benchmark::State& state) {
  auto pending = static_cast<std::uint64_t>(state.range(0));
  auto settled = static_cast<std::uint64_t>(state.range(1));
  setup s(pending, settled);
  std::size_t queries = 0;
  for (auto _ : state)
    queries += s.poll();
  state.counters["pending"] = static_cast<double>(s.v.open_count());
  state.counters["settled"] = static_cast<double>(settled);
  state.counters["queries_per_poll"] =
    static_cast<double>(queries) / static_cast<double>(state.iterations());
  state.counters["us_per_payment"] =
    benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(pending),
                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

} // namespace

BENCHMARK(BM_verifier_poll)
  ->Args({10'000, 0})
  ->Args({10'000, 100'000})
  ->Args({10'000, 1'000'000})
  ->Args({1'000, 0})
  ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
