// Long runs over the deterministic in-test channel: exactly-once in-order
// delivery under heavy truncation and bit rot, restarts mid-transfer, RTT
// adaptation, and (tag [.figures]) the goodput table of the report.
#include "channel.hpp"

#include "protocols/droplog/rtt.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

using namespace droplog_test;

namespace {

using peerlab::droplog::testing::design_config;

session_config adaptive(peer_id l, peer_id r) { return design_config("adaptive", l, r); }

/// The original Python design in the same codec: fixed 5 s timeout, no
/// backoff, no packet/time-threshold loss detection, fixed packet size, NACKs x5.
session_config baseline(peer_id l, peer_id r) { return design_config("fixed5s", l, r); }

void require_clean(channel_run& run) {
  INFO(run.first_violation());
  REQUIRE(run.violations() == 0);
  REQUIRE(run.done());
  CHECK(run.side(0).outbox_entries() == 0);
  CHECK(run.side(1).outbox_entries() == 0);
}

} // namespace

TEST_CASE(
  "droplog channel 75 percent truncation and 1e-4 bit rot deliver every message exactly once",
  "[droplog][channel]") {
  channel_params ch;
  ch.truncate = 0.75;
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 1500; // per direction
  channel_run run(adaptive(side_a, side_b), adaptive(side_b, side_a), ch, w, 42);
  REQUIRE(run.run(4 * 3600 * us_per_s));
  require_clean(run);
  CHECK(run.delivered(0) == 1500);
  CHECK(run.delivered(1) == 1500);
  CHECK(run.files_truncated() > run.files() / 2);
  CHECK(run.files_rotten() > 0);
  auto& a = run.side(0);
  CHECK(a.stats().packets_truncated > 0);
  CHECK(a.stats().packets_damaged + a.stats().packets_rejected > 0);
  CHECK(a.stats().nacks_received > 0);
  // Packet sizes shrank from the initial 4 KiB towards the floor.
  CHECK(a.packet_size_target() < 4096);
  CHECK(a.truncation_rate() > 0.5);
}

TEST_CASE("droplog channel loss, duplication, reordering and encryption together",
          "[droplog][channel]") {
  channel_params ch;
  ch.delay_min = 100 * us_per_ms;
  ch.delay_max = 3000 * us_per_ms; // heavy reordering
  ch.loss = 0.1;
  ch.duplicate = 0.2;
  ch.truncate = 0.3;
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 600;
  auto a = adaptive(side_a, side_b), b = adaptive(side_b, side_a);
  a.encrypt = b.encrypt = true;
  a.compress = b.compress = true;
  channel_run run(a, b, ch, w, 7);
  REQUIRE(run.run(4 * 3600 * us_per_s));
  require_clean(run);
  CHECK(run.side(1).stats().packets_duplicate > 0);
  CHECK(run.side(0).stats().packets_lost > 0);
}

TEST_CASE("droplog channel the fixed-timeout baseline is also exactly-once", "[droplog][channel]") {
  channel_params ch;
  ch.truncate = 0.5;
  workload w;
  w.messages = 400;
  channel_run run(baseline(side_a, side_b), baseline(side_b, side_a), ch, w, 3);
  REQUIRE(run.run(4 * 3600 * us_per_s));
  require_clean(run);
  CHECK(run.side(0).packet_size_target() == 16 * 1024);
  CHECK(run.side(0).rtt().timeout() == 5 * us_per_s);
}

TEST_CASE("droplog channel a side restarted mid-transfer loses nothing acknowledged",
          "[droplog][channel][restart]") {
  channel_params ch;
  ch.truncate = 0.5;
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 800;
  channel_run run(adaptive(side_a, side_b), adaptive(side_b, side_a), ch, w, 11);
  // Crash each side in turn every 2.5 simulated seconds while traffic flows.
  const int restarts = run.run_restarting(2500 * us_per_ms, 6, 4 * 3600 * us_per_s);
  CHECK(restarts >= 4);
  require_clean(run);
}

TEST_CASE("droplog channel restart without a store would lose acknowledged state",
          "[droplog][channel][restart]") {
  // The negative control: the same scenario with the receiver's store wiped
  // at restart re-delivers or misses messages, so the restart test can fail.
  memory_kv kv_b;
  session a(small_config(side_a, side_b));
  auto b = std::make_unique<session>(small_config(side_b, side_a), &kv_b);
  std::vector<bytes> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(message_body(i, 50));
    a.submit(view(sent.back()));
  }
  auto p = a.poll(0);
  auto r = b->on_packet(1, view(p.packets.at(0).data));
  REQUIRE(r.delivered.size() == 10);
  CHECK(kv_b.count(sessions_table()) == 1); // only meta: all delivered
  CHECK(kv_b.count(entries_table()) == 0);
  b = std::make_unique<session>(small_config(side_b, side_a), &kv_b);
  CHECK(b->on_packet(2, view(p.packets.at(0).data)).delivered.empty()); // persisted: no re-delivery
  memory_kv empty;
  b = std::make_unique<session>(small_config(side_b, side_a), &empty);
  CHECK(b->on_packet(3, view(p.packets.at(0).data)).delivered.size() ==
        10); // state lost: duplicate
}

TEST_CASE("droplog channel retransmission timeout follows the measured round trip",
          "[droplog][channel][rtt]") {
  auto measure = [](time_us one_way) {
    channel_params ch;
    ch.delay_min = ch.delay_max = one_way;
    workload w;
    w.messages = 100;
    channel_run run(adaptive(side_a, side_b), adaptive(side_b, side_a), ch, w, 5);
    REQUIRE(run.run(3600 * us_per_s));
    require_clean(run);
    return std::pair{run.side(0).rtt().srtt(), run.side(0).rtt().timeout()};
  };
  auto [fast_srtt, fast_rto] = measure(100 * us_per_ms);
  auto [slow_srtt, slow_rto] = measure(4 * us_per_s);
  // The ack may wait up to max_ack_delay (50 ms), which the peer reports and
  // the estimator removes: srtt ends close to the two one-way delays.
  CHECK(fast_srtt >= 200 * us_per_ms);
  CHECK(fast_srtt <= 260 * us_per_ms);
  CHECK(slow_srtt >= 8 * us_per_s);
  CHECK(slow_srtt <= 8100 * us_per_ms);
  CHECK(fast_rto < 1 * us_per_s); // well below the initial 1 s RTT's timeout
  CHECK(slow_rto > 8 * us_per_s); // above the 5 s constant the original used
}

TEST_CASE("droplog rtt estimator follows RFC 6298 and backs off exponentially", "[droplog][rtt]") {
  session_config c = small_config(side_a, side_b);
  c.max_ack_delay = 0;
  c.min_rto = 1;
  rtt_estimator e(c);
  CHECK(e.timeout() == c.initial_rtt + 4 * (c.initial_rtt / 2));
  e.sample(800 * us_per_ms, 0);
  CHECK(e.srtt() == 800 * us_per_ms);
  CHECK(e.rttvar() == 400 * us_per_ms);
  e.sample(400 * us_per_ms, 0);
  CHECK(e.rttvar() == (3 * 400 + 400) * us_per_ms / 4);
  CHECK(e.srtt() == (7 * 800 + 400) * us_per_ms / 8);
  const time_us base = e.srtt() + 4 * e.rttvar();
  CHECK(e.timeout() == base);
  e.on_timeout();
  CHECK(e.timeout() == 2 * base);
  e.on_timeout();
  CHECK(e.timeout() == 4 * base);
  e.on_progress();
  CHECK(e.timeout() == base);
  // Ack delay is subtracted only when the sample stays above min_rtt.
  e.sample(600 * us_per_ms, 100 * us_per_ms);
  CHECK(e.latest() == 600 * us_per_ms);
  c.timeouts = timeout_mode::fixed;
  rtt_estimator f(c);
  f.sample(10 * us_per_ms, 0);
  f.on_timeout();
  CHECK(f.timeout() == 5 * us_per_s);
}

TEST_CASE("droplog figures goodput and latency by truncation rate", "[.figures][droplog]") {
  // The table of docs/protocols/droplog.md; `peerlab droplog-table --update`
  // writes it there. Same channel, workload and seed for every design.
  auto t = peerlab::droplog::testing::run_figure_table(2026, 1000);
  std::printf("\nreference file %.0f B (median file of adaptive, lossless uniform channel)\n%s",
              t.reference_bytes, peerlab::droplog::testing::markdown(t).c_str());
  for (auto& r : t.rows) {
    INFO(r.design << " " << r.channel << " " << r.truncate << ": " << r.first_problem);
    CHECK(r.complete);
    CHECK(r.goodput > 0);
  }
}

TEST_CASE("droplog channel: malformed stored state is an error naming the table and key",
          "[droplog][channel][restart]") {
  memory_kv kv_b;
  auto cfg = small_config(side_b, side_a);
  // An entry whose fragment index is past its count.
  kv_b.put(entries_table(), {cell_u64(side_b), cell_u64(side_a), std::string("rx"), std::int64_t{5},
                             std::int64_t{3}, std::int64_t{2}, std::int64_t{0}, bytes{1, 2}});
  CHECK_THROWS_WITH(session(cfg, &kv_b),
                    Catch::Contains("table DropLogEntries, key (2827, 2570, 'rx', 5)"));
  // Entries without the session's counters.
  kv_b.put(entries_table(), {cell_u64(side_b), cell_u64(side_a), std::string("rx"), std::int64_t{5},
                             std::int64_t{0}, std::int64_t{2}, std::int64_t{0}, bytes{1, 2}});
  CHECK_THROWS_WITH(session(cfg, &kv_b), Catch::Contains("without a meta row"));
  // A replay window cut in the middle of a range.
  kv_b.put(sessions_table(), {cell_u64(side_b), cell_u64(side_a), std::int64_t{0}, std::int64_t{1},
                              std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, bytes(20)});
  CHECK_THROWS_WITH(session(cfg, &kv_b),
                    Catch::Contains("table DropLogSessions, key (2827, 2570): seen holds a "
                                    "partial range"));
}
