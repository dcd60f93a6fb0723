// The size-aware round trip (rtt_size_model): rtt = a + b x size fitted by
// decayed weighted least squares, the fallback to srtt when the fit is not
// usable, and per-packet timeouts on a channel whose delay grows with size.
#include "channel.hpp"

#include "protocols/droplog/rtt_size_model.hpp"

#include <catch2/catch.hpp>

using namespace droplog_test;

namespace {

constexpr double kib = 1024;

/// a = 200 ms, b = 10 us per KiB, sizes 1..100 MiB, noise uniform +-20 ms.
void feed_line(rtt_size_model& m, rng& r, int n, double a, double b_per_kib) {
  for (int i = 0; i < n; ++i) {
    const std::uint64_t size = (1u << 20) + r.below(99ull << 20);
    const double noise = (r.uniform01() - 0.5) * 40 * us_per_ms;
    m.sample(size, static_cast<time_us>(a + b_per_kib * static_cast<double>(size) / kib + noise));
  }
}

} // namespace

TEST_CASE("droplog rtt size fit recovers intercept and slope from noisy samples",
          "[droplog][rtt][size]") {
  rtt_size_model m;
  rng r(7);
  feed_line(m, r, 200, 200 * us_per_ms, 10);
  REQUIRE(m.fitted());
  CHECK(m.intercept() == Approx(200 * us_per_ms).epsilon(0.05));
  CHECK(m.slope() * kib == Approx(10).epsilon(0.05));
  // 100 MiB: 200 ms + 1 s.
  CHECK(static_cast<double>(m.predict(100u << 20)) == Approx(1200 * us_per_ms).epsilon(0.03));
  // The residuals are the noise (mean |uniform +-20 ms| = 10 ms), not the size's share.
  CHECK(m.deviation() < 25 * us_per_ms);
  CHECK(m.deviation() > 2 * us_per_ms);
}

TEST_CASE("droplog rtt size fit is not used with few samples or sizes that hardly vary",
          "[droplog][rtt][size]") {
  rtt_size_model m;
  rng r(3);
  // Seven samples of a clear line: below the eight the fit needs.
  for (int i = 0; i < 7; ++i)
    m.sample((1u << 20) * (1 + i), 100 * us_per_ms + 50 * us_per_ms * i);
  CHECK_FALSE(m.fitted());
  CHECK(m.slope() == 0);

  // Many samples, every size within 1 % of 8 MiB: the slope would be noise.
  rtt_size_model same;
  for (int i = 0; i < 500; ++i)
    same.sample((8u << 20) + r.below(80000), 400 * us_per_ms + r.below(200 * us_per_ms));
  CHECK_FALSE(same.fitted());
  CHECK(same.slope() == 0);
  // Without a usable fit the sender falls back to the plain srtt rules.
  auto c = small_config(side_a, side_b);
  memory_kv kv;
  session s(c, &kv);
  CHECK_FALSE(s.sender_side().size_rtt().fitted());
  CHECK(s.sender_side().timeout_for(1024) == s.rtt().timeout());
  CHECK(s.sender_side().timeout_for(16 * 1024) == s.rtt().timeout());
  CHECK(s.sender_side().loss_delay_for(16 * 1024) == s.rtt().loss_delay());
}

TEST_CASE("droplog rtt size fit with a falling slope falls back to the mean",
          "[droplog][rtt][size]") {
  rtt_size_model m;
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t size = (1u << 20) * (1 + i % 10);
    m.sample(size, 2 * us_per_s - static_cast<time_us>(size / 8)); // larger is faster
  }
  // b would be clamped to 0: size explains nothing usable, srtt rules apply.
  CHECK_FALSE(m.fitted());
  CHECK(m.slope() == 0);
  // Without the fit the intercept is the weighted mean rtt, between the extremes.
  CHECK(m.intercept() > 2 * us_per_s - (10u << 20) / 8);
  CHECK(m.intercept() < 2 * us_per_s - (1u << 20) / 8);
  CHECK(m.predict(1u << 20) == m.predict(10u << 20));
}

TEST_CASE("droplog rtt size fit is not used when size explains less than the noise",
          "[droplog][rtt][size]") {
  // A real but small slope (1 us per KiB over 1..100 MiB: 0.03 s per
  // standard deviation of the sizes) under +-0.5 s of noise.
  rtt_size_model m;
  rng r(5);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t size = (1u << 20) + r.below(99ull << 20);
    m.sample(size, static_cast<time_us>(1e6 + static_cast<double>(size) / kib +
                                        (r.uniform01() - 0.5) * 1e6));
  }
  CHECK_FALSE(m.fitted());
  CHECK(m.slope() == 0);
}

TEST_CASE("droplog rtt size fit forgets an old regime", "[droplog][rtt][size]") {
  rtt_size_model m; // window 32 samples
  rng r(11);
  feed_line(m, r, 200, 2 * us_per_s, 100); // slow channel: 2 s + 100 us per KiB
  REQUIRE(m.fitted());
  CHECK(m.slope() * kib == Approx(100).epsilon(0.05));
  feed_line(m, r, 300, 200 * us_per_ms, 10); // now fast
  CHECK(m.intercept() == Approx(200 * us_per_ms).epsilon(0.05));
  CHECK(m.slope() * kib == Approx(10).epsilon(0.05));
  // A model that never forgot would still expect about a second more than
  // the fast regime's 210 ms at 1 MiB.
  rtt_size_model slow_to_forget(100000);
  rng r2(11);
  feed_line(slow_to_forget, r2, 200, 2 * us_per_s, 100);
  feed_line(slow_to_forget, r2, 300, 200 * us_per_ms, 10);
  CHECK(m.predict(1u << 20) < 250 * us_per_ms);
  CHECK(slow_to_forget.predict(1u << 20) > 2 * m.predict(1u << 20));
}

TEST_CASE("droplog rtt size model refuses a window its fit could never use",
          "[droplog][rtt][size]") {
  // The decayed weight tends to the window: below 2 x min_samples it would
  // never (or only just) reach the weight the fit needs.
  CHECK_THROWS_AS(rtt_size_model(8), std::invalid_argument);
  CHECK_THROWS_AS(rtt_size_model(32, 1), std::invalid_argument);
  CHECK_THROWS_AS(rtt_size_model(32, 8, 0), std::invalid_argument);
  CHECK_NOTHROW(rtt_size_model(16));
  auto c = small_config(side_a, side_b);
  CHECK(validate(c).empty());
  c.rtt_fit_window = 8;
  CHECK(validate(c).find("rtt_fit_window") != std::string::npos);
  c.rtt_fit_window = 1e7;
  CHECK(validate(c).find("rtt_fit_window") != std::string::npos);
}

namespace {

/// 100..300 ms per file plus 200 us per byte: a 16 KiB file takes 3.3 s
/// longer than an empty one.
channel_params growing_delay_channel() {
  channel_params ch;
  ch.delay_min = 100 * us_per_ms;
  ch.delay_max = 300 * us_per_ms;
  ch.delay_per_byte_us = 200;
  return ch;
}

/// 300 messages each way, a tenth of them large enough to fill the largest packets.
workload large_file_workload() {
  workload w;
  w.messages = 300;
  w.large_share = 0.1;
  w.large_size = 12000;
  return w;
}

/// Runs `run` to the end (at most an hour of virtual time): every message
/// delivered once, no invariant broken.
void require_clean_finish(channel_run& run) {
  REQUIRE(run.run(3600 * us_per_s));
  INFO(run.first_violation());
  REQUIRE(run.violations() == 0);
  REQUIRE(run.finished());
}

} // namespace

TEST_CASE("droplog rtt size channel whose delay grows with size does not time out large files",
          "[droplog][rtt][size][channel]") {
  // 100..300 ms per file plus 200 us per byte: a 16 KiB file takes 3.3 s
  // longer than an empty one. Nothing is lost, cut or rotten, so every packet
  // declared lost is a spurious loss and its entries are resent for nothing.
  const auto ch = growing_delay_channel();
  const auto w = large_file_workload();
  struct outcome {
    std::uint64_t lost = 0, timeouts = 0, retransmitted = 0;
    time_us large_timeout = 0, blind_timeout = 0;
    double slope = 0;
  };
  auto run_with = [&](bool aware) {
    auto a = small_config(side_a, side_b);
    auto b = small_config(side_b, side_a);
    a.size_aware_rtt = b.size_aware_rtt = aware;
    channel_run run(a, b, ch, w, 2);
    require_clean_finish(run);
    outcome o;
    for (int s = 0; s < 2; ++s) {
      auto& st = run.side(s).stats();
      o.lost += st.packets_lost;
      o.timeouts += st.timeouts;
      o.retransmitted += st.entries_retransmitted;
    }
    auto& tx = run.side(0).sender_side();
    if (aware)
      REQUIRE(tx.size_rtt().fitted());
    o.slope = tx.size_rtt().slope();
    o.large_timeout = tx.timeout_for(16 * 1024);
    o.blind_timeout = run.side(0).rtt().timeout();
    return o;
  };
  const auto aware = run_with(true);
  const auto blind = run_with(false);
  // The fit finds the channel's 200 us per byte.
  CHECK(aware.slope == Approx(200).epsilon(0.15));
  // A 16 KiB file needs about 0.2 + 0.2 + 3.3 s before its ack is back: the
  // size-blind timeout (srtt of mostly small files) is shorter, the size's is not.
  const time_us large_rtt = 400 * us_per_ms + 200 * 16 * 1024;
  CHECK(blind.blind_timeout < large_rtt);
  CHECK(aware.large_timeout > large_rtt);
  CHECK(blind.timeouts >= 10);
  CHECK(aware.timeouts * 10 <= blind.timeouts);
  CHECK(aware.lost * 2 < blind.lost);
  CHECK(aware.retransmitted * 2 < blind.retransmitted);
}

TEST_CASE("droplog rtt coded session learns the size fit from NACKs",
          "[droplog][rtt][size][coding][channel]") {
  // As above (200 us per byte), but half the files are cut: a cut file is
  // answered by a NACK, which is a round trip for the size fit as much as an
  // ack, and coded packets a timer declared lost (their records are retired
  // at once) still give one when their late answer comes. Before, one side's
  // fit never qualified here (176 samples, slope 0).
  auto ch = growing_delay_channel();
  ch.truncate = 0.5;
  const auto w = large_file_workload();
  auto a = small_config(side_a, side_b);
  auto b = small_config(side_b, side_a);
  a.erasure_coding = b.erasure_coding = true;
  channel_run run(a, b, ch, w, 3);
  require_clean_finish(run);
  std::uint64_t nacks = 0;
  for (int s = 0; s < 2; ++s) {
    nacks += run.side(s).stats().nacks_received;
    auto& fit = run.side(s).sender_side().size_rtt();
    INFO("side " << s << ": samples " << fit.samples() << ", slope " << fit.slope());
    CHECK(fit.fitted());
    CHECK(fit.slope() == Approx(200).epsilon(0.3));
    CHECK(fit.samples() > 300);
  }
  CHECK(nacks > 100);
}

TEST_CASE("droplog rtt a large coded packet nothing has overtaken waits for the full backoff",
          "[droplog][rtt][size][coding]") {
  // Larger than any round trip seen (none yet) and than min_packet_bytes: it
  // may simply be slow (live, it waits in the write queue behind others), and
  // declaring it lost sends a repair of all it carries. With nothing sent
  // after it answered, the timer backs off instead, and the packet is lost
  // only to the fully backed-off timer (sent + 4 x timeout at max_backoff 2).
  auto cfg = small_config(side_a, side_b);
  cfg.erasure_coding = true;
  session a(cfg);
  for (std::size_t i = 0; i < 12; ++i)
    REQUIRE(a.submit(view(message_body(i, 300))));
  auto first = a.poll(0);
  std::uint64_t largest = 0;
  for (auto& p : first.packets)
    largest = std::max<std::uint64_t>(largest, p.data.size());
  REQUIRE(largest > cfg.min_packet_bytes);
  const time_us timeout = a.sender_side().timeout_for(largest);
  time_us now = 0, lost_at = never;
  std::uint64_t timeouts_before_loss = 0;
  for (time_us wake = first.next_wake; wake != never && now < 20 * timeout;) {
    now = std::max(now + 1, wake);
    auto r = a.poll(now);
    if (a.stats().packets_lost > 0 && lost_at == never) {
      lost_at = now;
      timeouts_before_loss = a.rtt().backoff();
    }
    wake = r.next_wake;
  }
  REQUIRE(lost_at != never);
  INFO("timeout " << timeout << " us, lost at " << lost_at << " us");
  CHECK(lost_at >= 4 * timeout - 1);
  CHECK(timeouts_before_loss >= cfg.max_backoff);
}
