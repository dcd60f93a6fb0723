// Erasure coding: the Reed-Solomon wrapper, the block stream, the block
// decoder's bounds and reports, the encoder's repair accounting, and whole
// coded sessions over the deterministic channel (truncation, bit rot,
// encryption, restarts, small messages alone).
#include "channel.hpp"

#include "protocols/common/link_rules.hpp"
#include "protocols/droplog/block_decoder.hpp"
#include "protocols/droplog/block_encoder.hpp"
#include "protocols/droplog/block_stream.hpp"
#include "protocols/droplog/erasure.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>

using namespace droplog_test;

namespace {

session_config coded(peer_id l, peer_id r) {
  auto c = small_config(l, r);
  c.erasure_coding = true;
  return c;
}

std::vector<bytes> random_symbols(std::uint32_t k, std::size_t len, std::uint64_t seed) {
  std::vector<bytes> out(k, bytes(len));
  std::uint64_t x = seed;
  for (auto& s : out)
    for (auto& b : s) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      b = static_cast<std::uint8_t>(x >> 56);
    }
  return out;
}

message_frame entry(std::uint64_t seq, std::size_t size, std::uint32_t index = 0,
                    std::uint32_t count = 1) {
  message_frame f;
  f.seq = seq;
  f.fragment_index = index;
  f.fragment_count = count;
  f.payload = message_body(seq, size);
  return f;
}

/// `n` entries of `size` bytes, seqs from 0.
std::vector<message_frame> entries_of(std::uint64_t n, std::size_t size) {
  std::vector<message_frame> out;
  for (std::uint64_t s = 0; s < n; ++s)
    out.push_back(entry(s, size));
  return out;
}

double mean_latency_s(const channel_run& run) {
  const auto& l = run.latencies();
  return std::accumulate(l.begin(), l.end(), 0.0) / static_cast<double>(l.size()) / us_per_s;
}

} // namespace

TEST_CASE("droplog erasure any k of the symbols rebuild the data", "[droplog][coding]") {
  const std::uint32_t k = 6;
  auto data = random_symbols(k, 37, 1);
  std::vector<byte_view> src(data.begin(), data.end());
  auto parity = erasure::encode(src, k, 10); // symbols 6..15
  REQUIRE(parity.size() == 10);
  std::vector<bytes> all = data;
  all.insert(all.end(), parity.begin(), parity.end());
  // Several subsets of exactly k symbols: parity only, mixed, data only.
  const std::vector<std::vector<std::uint32_t>> picks = {
    {6, 7, 8, 9, 10, 11}, {0, 2, 7, 9, 13, 15}, {5, 4, 3, 2, 1, 0}, {1, 10, 11, 12, 14, 3}};
  for (auto& pick : picks) {
    std::map<std::uint32_t, bytes> got;
    for (auto i : pick)
      got[i] = all[i];
    auto rebuilt = erasure::decode(k, got);
    REQUIRE(rebuilt);
    CHECK(*rebuilt == data);
  }
  // Parity made later, a few at a time, is the same as made at once.
  CHECK(erasure::encode(src, 12, 2) == std::vector<bytes>{parity[6], parity[7]});
  // Fewer than k, or symbols of different sizes: no answer.
  std::map<std::uint32_t, bytes> short_set{{0, all[0]}, {7, all[7]}};
  CHECK_FALSE(erasure::decode(k, short_set));
  std::map<std::uint32_t, bytes> mixed;
  for (std::uint32_t i = 0; i < k; ++i)
    mixed[i + 6] = all[i + 6];
  mixed[8].pop_back();
  CHECK_FALSE(erasure::decode(k, mixed));
  CHECK_THROWS(erasure::encode(src, 3, 1));   // parity index inside the data range
  CHECK_THROWS(erasure::encode(src, 250, 6)); // beyond 255 symbols
}

TEST_CASE("droplog block stream round trip and malformed streams", "[droplog][coding]") {
  auto a = entry(10, 300), b = entry(11, 0), c = entry(12, 5000, 1, 3);
  bytes stream = serialize_block({&a, &b, &c});
  stream.resize(stream.size() + 77, 0); // padding of the last symbol
  std::string why;
  auto parsed = parse_block(stream, 8192, &why);
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 3);
  CHECK((*parsed)[0] == a);
  CHECK((*parsed)[1] == b);
  CHECK((*parsed)[2] == c);
  CHECK_FALSE(parse_block(byte_view{stream}.first(40), 8192, &why));
  CHECK(why.find("entry 0") != std::string::npos);
  CHECK_FALSE(parse_block(stream, 1024, &why)); // entry 2 above the fragment bound
  CHECK(why.find("entry 2") != std::string::npos);
  bytes bad = stream;
  bad[2] = 9; // count, entry 0's seq, then its fragment index: 9 of 1
  CHECK_FALSE(parse_block(bad, 8192, &why));
  CHECK(why.find("fragment fields") != std::string::npos);
  bytes twice = serialize_block({&a, &a});
  CHECK_FALSE(parse_block(twice, 8192, &why));
  CHECK(why.find("entry 1 seq not increasing") != std::string::npos);
  // Varint headers: a 300-byte entry costs a few bytes more, not 21.
  CHECK(serialize_block({&a}).size() < 300 + 10);
}

TEST_CASE("droplog block decoder rebuilds, reports and stays within its bounds",
          "[droplog][coding]") {
  auto a = entry(0, 200), b = entry(1, 100);
  bytes stream = serialize_block({&a, &b});
  const std::uint32_t k = 3;
  const std::size_t sym = (stream.size() + k - 1) / k;
  stream.resize(sym * k, 0);
  std::vector<bytes> data;
  for (std::uint32_t i = 0; i < k; ++i)
    data.emplace_back(stream.begin() + i * sym, stream.begin() + (i + 1) * sym);
  std::vector<byte_view> src(data.begin(), data.end());
  auto parity = erasure::encode(src, k, 3);
  auto symbol = [&](std::uint64_t block, std::uint32_t index) {
    message_frame f;
    f.seq = block;
    f.fragment_index = index;
    f.fragment_count = k;
    f.flags = message_flags::coded;
    f.payload = index < k ? data[index] : parity[index - k];
    return f;
  };
  block_decoder dec(4096, 4096, 1 << 20, 16);
  std::vector<message_frame> out;
  std::string why;
  CHECK(dec.add(symbol(7, 4), out, &why) == block_decoder::outcome::kept);
  CHECK(dec.add(symbol(7, 4), out, &why) == block_decoder::outcome::ignored); // a copy
  CHECK(dec.add(symbol(7, 1), out, &why) == block_decoder::outcome::kept);
  REQUIRE(dec.reports(8) == std::vector<block_report>{{7, 2}});
  auto wrong_k = symbol(7, 5);
  wrong_k.fragment_count = 4;
  CHECK(dec.add(std::move(wrong_k), out, &why) == block_decoder::outcome::malformed);
  CHECK(why.find("block 7") != std::string::npos);
  CHECK(out.empty());
  CHECK(dec.add(symbol(7, 5), out, &why) == block_decoder::outcome::rebuilt);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == a);
  CHECK(out[1] == b);
  CHECK(dec.open_blocks() == 0);
  CHECK(dec.buffered_bytes() == 0);
  CHECK(dec.add(symbol(7, 0), out, &why) == block_decoder::outcome::ignored); // after rebuild
  CHECK(dec.reports(8) == std::vector<block_report>{{7, block_decoder::rebuilt_mark}});

  // Bounds: two symbols' worth of bytes; a block further from delivery than
  // every open one is refused, a nearer one evicts the furthest.
  block_decoder small(4096, 4096, 2 * sym, 16);
  CHECK(small.add(symbol(20, 0), out, &why) == block_decoder::outcome::kept);
  CHECK(small.add(symbol(21, 0), out, &why) == block_decoder::outcome::kept);
  CHECK(small.add(symbol(22, 0), out, &why) == block_decoder::outcome::ignored);
  CHECK(small.add(symbol(19, 0), out, &why) == block_decoder::outcome::kept);
  CHECK(small.buffered_bytes() <= 2 * sym);
  CHECK(small.reports(8) == std::vector<block_report>{{19, 1}, {20, 1}});
}

TEST_CASE("droplog block encoder repairs exactly what the receiver reports missing",
          "[droplog][coding]") {
  auto cfg = coded(side_a, side_b);
  cfg.coding_repair_share = 1; // aim at the whole deficit (below: a share of it)
  block_encoder enc(cfg);
  survival_model model; // nothing seen: every symbol counts as arriving
  const auto entries = entries_of(8, 200);
  const auto ptrs = droplog_test::ptrs(entries);
  enc.open(1, ptrs, 16384, 1);
  REQUIRE(enc.has_work());
  std::vector<symbol_ref> refs;
  enc.begin_packet();
  auto first = enc.take(200, 16384, 16000, model, refs);
  const auto k = static_cast<std::uint32_t>(first.size());
  REQUIRE(k >= 2);
  CHECK(first.front()->fragment_count == k);
  CHECK(first.back()->fragment_index == k - 1); // data symbols only: no loss expected
  CHECK_FALSE(enc.has_work());
  // The packet was cut after its first symbol and the NACK's control block
  // reports the block: the receiver holds 1. Exactly k - 1 fresh parity
  // symbols follow (every symbol is expected to arrive).
  REQUIRE(refs.size() == 1);
  REQUIRE(refs[0].ends.size() == k);
  enc.set_reported({{1, 1}}, {});
  enc.left_flight(refs, refs[0].ends[0]);
  enc.on_reports({{1, 1}}, {});
  enc.set_reported({}, {});
  REQUIRE(enc.has_work());
  std::vector<symbol_ref> refs2;
  enc.begin_packet();
  auto repair = enc.take(200, 16384, 16000, model, refs2);
  CHECK(repair.size() == k - 1);
  for (auto* f : repair)
    CHECK(f->fragment_index >= k); // fresh parity, never a copy
  CHECK(enc.parity_sent() == k - 1);
  // The receiver says it rebuilt the block: nothing more is sent, and the
  // block closes once its entries are acknowledged.
  enc.left_flight(refs2, 16384);
  enc.on_reports({{1, block_decoder::rebuilt_mark}}, {});
  CHECK_FALSE(enc.has_work());
  enc.retire([](std::uint64_t) { return false; });
  CHECK(enc.open_blocks() == 0);

  // Aiming at half the deficit: a round sends half the missing symbols,
  // rounded up, and the next round the half of what is still missing.
  auto half_cfg = cfg;
  half_cfg.coding_repair_share = 0.5;
  block_encoder half(half_cfg);
  half.open(1, ptrs, 16384, 1);
  std::vector<symbol_ref> r1, r2, r3;
  half.begin_packet();
  REQUIRE(half.take(200, 16384, 16000, model, r1).size() == k);
  half.set_reported({{1, 1}}, {});
  half.left_flight(r1, r1[0].ends[0]);
  half.on_reports({{1, 1}}, {});
  half.set_reported({}, {});
  half.begin_packet();
  const auto first_round = half.take(200, 16384, 16000, model, r2).size();
  CHECK(first_round == (k - 1 + 1) / 2);
  half.left_flight(r2, 0); // that file was lost unseen
  half.begin_packet();
  CHECK(half.take(200, 16384, 16000, model, r3).size() == first_round);
}

TEST_CASE("droplog block encoder counts what a NACK says arrived when no report names the block",
          "[droplog][coding]") {
  auto cfg = coded(side_a, side_b);
  cfg.coding_repair_share = 1;
  survival_model model;
  const auto entries = entries_of(8, 200);
  const auto ptrs = droplog_test::ptrs(entries);
  auto first_packet = [&](block_encoder& enc, std::vector<symbol_ref>& refs) {
    enc.open(1, ptrs, 16384, 1);
    enc.begin_packet();
    return static_cast<std::uint32_t>(enc.take(200, 16384, 16000, model, refs).size());
  };
  auto repair_size = [&](block_encoder& enc) {
    std::vector<symbol_ref> refs;
    enc.begin_packet();
    return enc.take(200, 16384, 16000, model, refs).size();
  };

  // Cut after two symbols, no report: the sender counts the two as held.
  block_encoder enc(cfg);
  std::vector<symbol_ref> refs;
  const auto k = first_packet(enc, refs);
  REQUIRE(k >= 4);
  enc.left_flight(refs, refs[0].ends[1]);
  CHECK(repair_size(enc) == k - 2);

  // Read whole (or with a frame lost to bit rot, which looks the same from
  // here): still one symbol is sent until the receiver says it rebuilt.
  block_encoder whole(cfg);
  std::vector<symbol_ref> refs2;
  first_packet(whole, refs2);
  whole.left_flight(refs2, 16384);
  CHECK(repair_size(whole) == 1);

  // A report in the same control block wins over the estimate.
  block_encoder reported(cfg);
  std::vector<symbol_ref> refs3;
  first_packet(reported, refs3);
  reported.set_reported({{1, 1}}, {});
  reported.left_flight(refs3, refs3[0].ends[2]);
  reported.on_reports({{1, 1}}, {});
  reported.set_reported({}, {});
  CHECK(repair_size(reported) == k - 1);
}

TEST_CASE("droplog block encoder sizes symbols so padding costs under k bytes",
          "[droplog][coding]") {
  auto cfg = coded(side_a, side_b);
  block_encoder enc(cfg);
  for (std::uint64_t stream : {1ull, 63ull, 700ull, 3001ull, 40000ull, 1000003ull}) {
    INFO("stream " << stream);
    const std::uint64_t s = enc.symbol_size(stream, 0);
    const std::uint64_t k = (stream + s - 1) / s;
    CHECK(k >= 1);
    CHECK(k <= cfg.coding_block_entries);
    CHECK(s <= max_symbol_bytes(cfg));
    CHECK(k * s - stream < k); // padding of the last symbol
  }
}

TEST_CASE("droplog survival model judges an untried size by the sizes below it",
          "[droplog][coding][model]") {
  survival_model m;
  // Small files arrive whole; 8 KB files are cut after a tenth.
  for (int i = 0; i < 100; ++i) {
    m.observe(1000, 1000, true);
    m.observe(8000, 800, false);
  }
  // (A class with n samples still gives 8 / (n + 8) weight to its prior.)
  CHECK(m.survive(1000, 1000) > 0.9);
  CHECK(m.survive(4000, 8000) < 0.1);
  // 16 KB files were never sent: judged like the 8 KB ones below them, not
  // like the pool of all sizes (which half arrive whole).
  CHECK(m.samples(16000) == 0);
  CHECK(m.survive(8000, 16000) < 0.1);
  CHECK(m.mean_share(16000) < 0.2);
  // 300 B files: nothing that small was tried, so the pool decides.
  CHECK(m.survive(300, 300) > 0.4);
  CHECK(m.survive(300, 300) < 0.6);
}

TEST_CASE("droplog block encoder parity made in batches is the code's rows in order",
          "[droplog][coding]") {
  auto cfg = coded(side_a, side_b);
  cfg.coding_repair_share = 1; // the whole deficit: k - have symbols per round
  block_encoder enc(cfg);
  survival_model model;
  const auto entries = entries_of(8, 300);
  const auto ptrs = droplog_test::ptrs(entries);
  enc.open(3, ptrs, 16384, 1);
  std::vector<symbol_ref> refs;
  enc.begin_packet();
  std::vector<bytes> data;
  for (auto* f : enc.take(200, 16384, 16000, model, refs))
    data.push_back(f->payload);
  const auto k = static_cast<std::uint32_t>(data.size());
  REQUIRE(k >= 2);
  std::vector<byte_view> src(data.begin(), data.end());
  // Nothing arrived, twice: every fresh parity symbol, whichever batch made
  // it, is the next row of the code (the receiver rebuilds from any k).
  std::uint32_t next = k;
  for (std::uint32_t have : {0u, 1u}) {
    enc.left_flight(refs, 0); // lost unseen: the report says what is held
    enc.on_reports({{3, static_cast<std::uint8_t>(have)}}, {});
    refs.clear();
    enc.begin_packet();
    auto repair = enc.take(200, 16384, 16000, model, refs);
    REQUIRE(repair.size() == k - have);
    auto want = erasure::encode(src, next, k - have);
    for (std::size_t i = 0; i < repair.size(); ++i) {
      CHECK(repair[i]->fragment_index == next + i);
      CHECK(repair[i]->payload == want[i]);
    }
    next += k - have;
  }
  CHECK(enc.parity_sent() == 2 * k - 1);
}

TEST_CASE("droplog block encoder hands entries back when a block runs out of parity",
          "[droplog][coding]") {
  auto cfg = coded(side_a, side_b);
  block_encoder enc(cfg);
  survival_model model;
  auto e = entry(0, 100);
  enc.open(5, {&e}, 4096, 1);
  std::vector<symbol_ref> refs;
  std::size_t sent = 0;
  for (int round = 0; round < 400 && enc.has_work(); ++round) {
    enc.begin_packet();
    refs.clear();
    sent += enc.take(100, 4096, 4000, model, refs).size();
    enc.left_flight(refs, 0);
    enc.on_reports({{5, 0}}, {}); // never anything arrives
  }
  CHECK(sent == erasure::max_symbols);
  CHECK(enc.take_exhausted() == std::vector<std::uint64_t>{0});
  CHECK_FALSE(enc.has_work());
}

TEST_CASE("droplog coded sessions deliver exactly once under 75 percent truncation and bit rot",
          "[droplog][coding][channel]") {
  channel_params ch;
  ch.truncate = 0.75;
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 600;
  auto a = coded(side_a, side_b), b = coded(side_b, side_a);
  a.encrypt = b.encrypt = true;
  a.compress = b.compress = true;
  channel_run run(a, b, ch, w, 42);
  REQUIRE(run.run(4 * 3600 * us_per_s));
  INFO(run.first_violation());
  REQUIRE(run.violations() == 0);
  CHECK(run.delivered(0) == 600);
  CHECK(run.delivered(1) == 600);
  for (int s : {0, 1}) {
    auto& st = run.side(s).stats();
    CHECK(st.parity_symbols_sent > 0);
    CHECK(st.blocks_rebuilt > 0);
    CHECK(st.entries_retransmitted == 0); // lost symbols are replaced by parity, not copies
  }
  // The sender learnt where files get cut.
  CHECK(run.side(0).model().mean_share(4096) < 0.8);
}

TEST_CASE("droplog coded sessions lose nothing acknowledged across restarts",
          "[droplog][coding][restart]") {
  channel_params ch;
  ch.truncate = 0.5;
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 500;
  channel_run run(coded(side_a, side_b), coded(side_b, side_a), ch, w, 5);
  const int restarts = run.run_restarting(2 * us_per_s, 6, 4 * 3600 * us_per_s);
  CHECK(restarts >= 4);
  INFO(run.first_violation());
  CHECK(run.violations() == 0);
  CHECK(run.finished());
}

TEST_CASE("droplog a small message alone goes out in several files and arrives sooner",
          "[droplog][coding]") {
  // One small message every 8 s: each is alone, so coding sends whole copies
  // in separate files once the sender has seen files cut.
  channel_params ch;
  ch.truncate = 0.75;
  workload w;
  w.messages = 60;
  w.min_size = 40;
  w.max_size = 120;
  w.large_share = 0;
  w.spacing = 8 * us_per_s;
  auto run_with = [&](std::uint32_t copies) {
    auto a = coded(side_a, side_b), b = coded(side_b, side_a);
    a.small_copies_max = b.small_copies_max = copies;
    auto run = std::make_unique<channel_run>(a, b, ch, w, 9);
    REQUIRE(run->run(4 * 3600 * us_per_s));
    REQUIRE(run->violations() == 0);
    return run;
  };
  auto one = run_with(1), four = run_with(4);
  INFO("mean latency " << mean_latency_s(*one) << " s with one copy, " << mean_latency_s(*four)
                       << " s with up to four");
  CHECK(mean_latency_s(*four) < 0.7 * mean_latency_s(*one));
}

TEST_CASE("droplog coded sessions finish where only the first kilobytes of a file survive",
          "[droplog][coding][channel]") {
  // Size-dependent truncation cutting a 2 KiB file with 75 % probability:
  // symbols deep in a file almost never arrive. They once were placed there
  // anyway until a block ran out of its 255 symbol indices, and delivery
  // stalled for good.
  auto a = coded(side_a, side_b), b = coded(side_b, side_a);
  for (auto* c : {&a, &b}) {
    c->fragment_bytes = 1024;
    c->min_packet_bytes = 2048;
    c->batch_delay = 200 * us_per_ms;
  }
  channel_params ch;
  ch.bitrot_per_byte = 1e-4;
  ch.truncate_scale = peerlab::link::scale_for(0.75, 2190);
  workload w;
  w.messages = 1000;
  channel_run run(a, b, ch, w, 2026);
  REQUIRE(run.run(1200 * us_per_s));
  INFO(run.first_violation());
  CHECK(run.violations() == 0);
  CHECK(run.finished());
}
