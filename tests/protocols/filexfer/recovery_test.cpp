// Loss recovery of the downloader: missing ranges re-requested on CONTENT_END,
// gap and lost-request detection, the RTT-based timeout with backoff, and how
// much is asked again. Latency is 1 ms each way (RTT 2 ms) unless told.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "download_world.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>

using namespace peerlab;
using namespace peerlab::filexfer;
using fxtest::client;
using fxtest::world;

namespace {

constexpr std::uint64_t chunk = 16 << 10;
constexpr std::uint64_t window_bytes = 128 << 10; // 8 chunks

// Small windows as in the other tests, but the production timeouts:
// request_timeout 5 s, initial 1 s, RTT floor 200 ms.
downloader_config production_timeouts() {
  downloader_config c;
  c.chunk_bytes = chunk;
  c.window_bytes = window_bytes;
  c.windows_in_flight = 4;
  c.max_attempts = 8;
  return c;
}

struct range {
  std::uint64_t offset, length;
  bool operator==(const range& o) const { return offset == o.offset && length == o.length; }
};

std::ostream& operator<<(std::ostream& os, const range& r) {
  return os << "[" << r.offset << ", +" << r.length << ")";
}

// Drops selected frames in transit and records every CONTENT_REQ the client sends.
struct network_tap {
  std::vector<range> requests;
  std::function<bool(const message&)> drop; // true: lose this frame

  void attach(test_kit::network& loop) {
    loop.tamper = [this](peer_id from, peer_id, bytes& f) {
      auto d = decode(f);
      if (!d.ok())
        return true;
      if (auto* r = std::get_if<content_req>(&d.msg); r && from == client)
        requests.push_back({r->offset, r->length});
      return !(drop && drop(d.msg));
    };
  }
};

bool is_chunk_at(const message& m, std::uint64_t offset) {
  auto* c = std::get_if<content_chunk>(&m);
  return c && c->offset == offset;
}

time_us duration_of(world& w) {
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  return static_cast<time_us>(e.value("duration_us"));
}

// Downloads through `tap`, requires a verified copy and returns how long it took.
time_us verified_download(world& w, network_tap& tap) {
  tap.attach(w.loop);
  w.download();
  time_us took = duration_of(w);
  w.require_verified_copy();
  return took;
}

} // namespace

TEST_CASE("filexfer with 1 % loss the median download stays within twice the RTT-based timeout") {
  // 2 MiB in 128 chunks: about three downloads in four lose at least one frame.
  // Before fast recovery each of those waited request_timeout (5 s), so the
  // median was above 5 s.
  auto cfg = production_timeouts();
  const time_us rtt_bound = std::max<time_us>(4 * 2 * us_per_ms, cfg.min_timeout);
  std::vector<time_us> durations;
  std::size_t lossy = 0;
  double fast = 0;
  for (std::uint64_t seed = 1; seed <= 31; ++seed) {
    fxtest::net_model net;
    net.loss = 0.01;
    world w({provider_strategy::honest}, 2 << 20, cfg, net, seed);
    w.download();
    INFO("seed " << seed);
    durations.push_back(duration_of(w));
    w.require_verified_copy();
    lossy += w.loop.frames_dropped > 0;
    fast += w.counter("filexfer.end_rerequests") + w.counter("filexfer.gap_rerequests") +
            w.counter("filexfer.stall_rerequests");
  }
  std::sort(durations.begin(), durations.end());
  CHECK(lossy > durations.size() / 2); // the median download did lose frames
  CHECK(fast > 0);
  CHECK(durations[durations.size() / 2] < 2 * rtt_bound);
  // No download waited a full request_timeout.
  CHECK(durations.back() < cfg.request_timeout);
}

TEST_CASE("filexfer a CONTENT_END with missing bytes re-requests exactly the missing ranges") {
  world w({provider_strategy::honest}, 300000, production_timeouts());
  network_tap tap;
  // Chunks 5 and 7 of the first window: too close to its end for gap
  // detection (3 chunks of slack), so the CONTENT_END is the signal.
  int dropped = 0;
  tap.drop = [&](const message& m) {
    if ((is_chunk_at(m, 5 * chunk) || is_chunk_at(m, 7 * chunk)) && dropped < 2) {
      ++dropped;
      return true;
    }
    return false;
  };
  time_us took = verified_download(w, tap);
  CHECK(dropped == 2);
  CHECK(w.counter("filexfer.end_rerequests") == 1);
  CHECK(w.counter("filexfer.gap_rerequests") == 0);
  CHECK(w.counter("filexfer.rerequested_bytes") == 2 * chunk);
  CHECK(w.counter("filexfer.timeouts") == 0);
  // Three windows cover the file; then exactly the two lost chunks.
  std::vector<range> expected = {{0, window_bytes},
                                 {window_bytes, window_bytes},
                                 {2 * window_bytes, 300000 - 2 * window_bytes},
                                 {5 * chunk, chunk},
                                 {7 * chunk, chunk}};
  CHECK(tap.requests == expected);
  // One extra round trip, no timeout.
  CHECK(took < 10 * us_per_ms);
  // The provider sent each byte once, plus the two lost chunks again.
  CHECK(w.loop.counter(10, "filexfer.bytes_sent") == 300000 + 2 * chunk);
}

TEST_CASE("filexfer holes past max_ranges_per_rerequest go into one last request") {
  // The provider sends 1 KiB chunks; every other one of the window's last
  // 48 KiB (the gap-detection slack of 3 requested chunks) is lost: 24 holes
  // known only at CONTENT_END.
  constexpr std::uint64_t kib = 1024;
  world w({provider_strategy::honest}, window_bytes, production_timeouts(), {}, 1, kib);
  network_tap tap;
  std::set<std::uint64_t> lost;
  tap.drop = [&](const message& m) {
    auto* c = std::get_if<content_chunk>(&m);
    if (!c || c->offset < 80 * kib || (c->offset / kib) % 2 == 0 || !lost.insert(c->offset).second)
      return false;
    return true;
  };
  verified_download(w, tap);
  CHECK(lost.size() == 24);
  CHECK(bounds::ranges_per_rerequest_max == 8);
  std::vector<range> expected = {{0, window_bytes}};
  for (std::uint64_t k = 81; k <= 93; k += 2)
    expected.push_back({k * kib, kib});
  expected.push_back({95 * kib, window_bytes - 95 * kib}); // holes 95..127 KiB in one
  CHECK(tap.requests == expected);
  CHECK(w.counter("filexfer.end_rerequests") == 1);
  CHECK(w.counter("filexfer.rerequested_bytes") == 7 * kib + (window_bytes - 95 * kib));
  CHECK(w.counter("filexfer.timeouts") == 0);
}

TEST_CASE("filexfer gap detection re-requests a hole before its window ends") {
  world w({provider_strategy::honest}, 300000, production_timeouts());
  network_tap tap;
  bool dropped = false;
  tap.drop = [&](const message& m) {
    if (!dropped && is_chunk_at(m, window_bytes + 2 * chunk)) // third chunk of window 2
      return dropped = true;
    return false;
  };
  verified_download(w, tap);
  CHECK(w.counter("filexfer.gap_rerequests") == 1);
  CHECK(w.counter("filexfer.end_rerequests") == 0);
  CHECK(w.counter("filexfer.timeouts") == 0);
  REQUIRE(tap.requests.size() == 4);
  CHECK(tap.requests[3] == range{window_bytes + 2 * chunk, chunk});
}

TEST_CASE("filexfer a lost request is re-requested once a newer window overtakes it") {
  world w({provider_strategy::honest}, 600000, production_timeouts());
  network_tap tap;
  bool dropped = false;
  tap.drop = [&](const message& m) {
    auto* r = std::get_if<content_req>(&m);
    if (!dropped && r && r->offset == window_bytes) // the second window's request
      return dropped = true;
    return false;
  };
  time_us took = verified_download(w, tap);
  CHECK(w.counter("filexfer.stall_rerequests") == 1);
  CHECK(w.counter("filexfer.timeouts") == 0);
  auto again =
    std::count(tap.requests.begin(), tap.requests.end(), range{window_bytes, window_bytes});
  CHECK(again == 2); // the lost one and its re-request, nothing else twice
  CHECK(took < 20 * us_per_ms);
}

TEST_CASE("filexfer a lost last chunk and its CONTENT_END recover via the RTT-based timeout") {
  const std::size_t size = 300000;
  const std::uint64_t last = (size - 1) / chunk * chunk; // offset of the file's last chunk
  auto cfg = production_timeouts();
  world w({provider_strategy::honest}, size, cfg);
  network_tap tap;
  int dropped = 0;
  tap.drop = [&](const message& m) {
    if (dropped < 2 && (is_chunk_at(m, last) || std::holds_alternative<content_end>(m))) {
      // The last chunk, and the CONTENT_END right behind it.
      if (is_chunk_at(m, last) || dropped == 1)
        return ++dropped, true;
    }
    return false;
  };
  time_us took = verified_download(w, tap);
  CHECK(dropped == 2);
  CHECK(w.counter("filexfer.timeouts") == 1);
  CHECK(w.counter("filexfer.retries") == 1);
  // RTT 2 ms, so the timeout is its floor (200 ms), not request_timeout (5 s).
  CHECK(took >= cfg.min_timeout);
  CHECK(took < cfg.min_timeout + 20 * us_per_ms);
  // The re-request covers the missing chunk only, and nothing was sent twice
  // apart from it.
  REQUIRE(!tap.requests.empty());
  CHECK(tap.requests.back() == range{last, size - last});
  CHECK(w.loop.counter(10, "filexfer.bytes_sent") == size + (size - last));
}

TEST_CASE("filexfer fast re-requests are bounded, then the timeout takes over") {
  auto cfg = production_timeouts();
  world w({provider_strategy::honest}, 300000, cfg);
  network_tap tap;
  int dropped = 0;
  // The chunk at 5 x chunk is lost three times: in its window and in both fast re-requests.
  tap.drop = [&](const message& m) {
    if (dropped < 3 && is_chunk_at(m, 5 * chunk))
      return ++dropped, true;
    return false;
  };
  time_us took = verified_download(w, tap);
  CHECK(dropped == 3);
  CHECK(cfg.fast_retries == 2);
  CHECK(w.counter("filexfer.end_rerequests") == 2);
  CHECK(w.counter("filexfer.timeouts") == 1);
  CHECK(std::count(tap.requests.begin(), tap.requests.end(), range{5 * chunk, chunk}) == 3);
  CHECK(took >= cfg.min_timeout);
  CHECK(took < cfg.min_timeout + 20 * us_per_ms);
}

TEST_CASE("filexfer a lost metadata request waits the initial timeout") {
  auto cfg = production_timeouts();
  world w({provider_strategy::honest}, 100000, cfg);
  network_tap tap;
  bool dropped = false;
  tap.drop = [&](const message& m) {
    if (!dropped && std::holds_alternative<meta_req>(m))
      return dropped = true;
    return false;
  };
  tap.attach(w.loop);
  w.download();
  time_us took = duration_of(w);
  CHECK(w.counter("filexfer.timeouts") == 1);
  // No round trip measured yet: initial_timeout (1 s), not request_timeout (5 s).
  CHECK(took >= cfg.initial_timeout);
  CHECK(took < cfg.initial_timeout + 20 * us_per_ms);
}

TEST_CASE("filexfer timeouts back off from the measured RTT up to request_timeout") {
  // Three silent providers, max_attempts 3: the first gets two attempts
  // (200 ms, then 400 ms: doubled), the second one (200 ms after its META_OK).
  auto cfg = production_timeouts();
  cfg.max_attempts = 3;
  world w({provider_strategy::silent, provider_strategy::silent, provider_strategy::silent}, 100000,
          cfg);
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_failed");
  CHECK(e.value("attempts") == 3);
  CHECK(w.counter("filexfer.timeouts") == 3);
  // META_OK at 2 ms; timeouts at 202, 602 (switch), META_OK at 604, timeout at 804.
  CHECK(e.value("duration_us") == 804 * us_per_ms);

  // The doubling stops at request_timeout.
  cfg.request_timeout = 300 * us_per_ms;
  world capped({provider_strategy::silent, provider_strategy::silent, provider_strategy::silent},
               100000, cfg);
  capped.download();
  CHECK(capped.outcome().value("duration_us") == (2 + 200 + 300 + 2 + 200) * us_per_ms);
}

TEST_CASE("filexfer open windows stay bounded under heavy loss") {
  auto cfg = production_timeouts();
  cfg.window_bytes = chunk; // one chunk per window: the most requests per byte
  cfg.windows_in_flight = 64;
  cfg.max_attempts = 100;
  cfg.attempts_per_provider = 100;
  fxtest::net_model net;
  net.loss = 0.3;
  world w({provider_strategy::honest}, 2 << 20, cfg, net, 3);
  w.loop.command(client, text_command_of(1, "download", w.args()));
  auto& d = w.client_role();
  std::size_t most = 0;
  for (time_us t = 0; t < fxtest::run_limit && d.active_downloads() > 0; t += us_per_ms) {
    w.loop.run_until(t);
    most = std::max(most, d.open_windows());
  }
  CHECK(duration_of(w) > 0);
  w.require_verified_copy();
  CHECK(most > cfg.windows_in_flight); // re-requests ride on top of the pipeline
  CHECK(most <= bounds::open_windows_max);
  CHECK(d.open_windows() == 0);
}

TEST_CASE("filexfer on a reordering network spurious re-requests never corrupt the result") {
  fxtest::net_model net;
  net.jitter = 20 * us_per_ms; // chunks overtake each other and CONTENT_END
  double rerequests = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    world w({provider_strategy::honest}, 900001, production_timeouts(), net, seed);
    w.download();
    INFO("seed " << seed);
    CHECK(duration_of(w) > 0);
    w.require_verified_copy();
    rerequests += w.counter("filexfer.end_rerequests") + w.counter("filexfer.gap_rerequests");
  }
  CHECK(rerequests > 0); // reordering looked like loss, and was harmless
}

TEST_CASE("filexfer a window whose tail and CONTENT_END were lost is asked again once a newer "
          "window overtakes it") {
  // Window 1's last chunk and its CONTENT_END are lost; windows 2..4 keep
  // streaming. The first window requested after window 1 shows it stalled.
  world w({provider_strategy::honest}, 700000, production_timeouts());
  network_tap tap;
  int dropped = 0;
  tap.drop = [&](const message& m) {
    if (dropped == 0 && is_chunk_at(m, 7 * chunk))
      return ++dropped, true;
    auto* e = std::get_if<content_end>(&m);
    if (dropped == 1 && e)
      return ++dropped, true; // sent right after window 1's last chunk
    return false;
  };
  time_us took = verified_download(w, tap);
  CHECK(dropped == 2);
  CHECK(w.counter("filexfer.stall_rerequests") == 1);
  CHECK(w.counter("filexfer.timeouts") == 0);
  CHECK(std::count(tap.requests.begin(), tap.requests.end(), range{7 * chunk, chunk}) == 1);
  CHECK(w.counter("filexfer.rerequested_bytes") == chunk);
  CHECK(took < 20 * us_per_ms);
}

TEST_CASE(
  "filexfer a spurious timeout is recognised, gives its attempt back and lengthens the next") {
  // No loss, 12 windows. The path of windows 5..8 stalls after their first
  // chunk: the rest of them (and CONTENT_ENDs sent from 3 ms on) take 500 ms
  // longer; for windows 9..12 it is 700 ms (ENDs from 400 ms on). The first
  // chunks keep the measured RTT at 2 ms, so the 200 ms timeout fires while
  // windows 5..8 are on their way: their late arrival shows it was spurious.
  // The timeout then adapts to the gap and outlasts the 700 ms stall; without
  // that a second timeout would fire.
  auto cfg = production_timeouts();
  world w({provider_strategy::honest}, 12 * window_bytes, cfg);
  w.loop.extra_delay = [&](peer_id from, peer_id, const bytes& f) -> time_us {
    if (from != 10)
      return 0;
    auto d = decode(f);
    time_us stall = w.loop.now() < 400 * us_per_ms ? 500 * us_per_ms : 700 * us_per_ms;
    if (std::holds_alternative<content_end>(d.msg))
      return w.loop.now() < 3 * us_per_ms ? 0 : stall;
    auto* c = std::get_if<content_chunk>(&d.msg);
    if (!c || c->offset < 4 * window_bytes || c->offset % window_bytes == 0)
      return 0;
    return c->offset < 8 * window_bytes ? 500 * us_per_ms : 700 * us_per_ms;
  };
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  w.require_verified_copy();
  CHECK(w.loop.frames_dropped == 0);
  CHECK(w.counter("filexfer.timeouts") == 1);
  CHECK(w.counter("filexfer.spurious_timeouts") == 1);
  CHECK(e.value("attempts") == 1); // given back
  CHECK(e.value("duration_us") > 1200 * us_per_ms);
}
