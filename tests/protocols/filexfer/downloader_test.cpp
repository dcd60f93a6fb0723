// Downloader against real providers in the in-test event loop: verification,
// misbehaving providers, timeouts, loss, duplication, reordering, bad commands.
#include "protocols/common/limits.hpp"
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "download_world.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::filexfer;
using fxtest::make_file;

using fxtest::client;
using fxtest::run_limit;
using fxtest::small_config;
using fxtest::world;

TEST_CASE("filexfer honest download completes and verifies") {
  world w({provider_strategy::honest});
  w.download(77);
  auto started = w.loop.events_of("download_started");
  REQUIRE(started.size() == 1);
  CHECK(started[0].e.command_id == 77);
  CHECK(*started[0].e.field("hash") == to_hex(w.hash));
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(e.command_id == 77);
  CHECK(*e.field("hash") == to_hex(w.hash));
  CHECK(*e.field("provider") == "10");
  CHECK(*e.field("name") == "data.bin");
  CHECK(e.value("bytes") == w.file.size());
  CHECK(e.value("attempts") == 1);
  CHECK(e.value("corrupt_detected") == 0);
  CHECK(e.value("duration_us") > 0);
  CHECK(e.field("payment_ref")->size() == 32);
  w.require_verified_copy();
  CHECK(w.counter("filexfer.bytes_received") == w.file.size());
  CHECK(w.counter("filexfer.timeouts") == 0);
  CHECK(w.counter("frames_rejected") == 0);
  // Timers still queued after the end were ignored: no further events. The
  // file is priced, so the order was reported to the node's payer; there is
  // none, and after hearing so once the downloader stops reporting.
  CHECK(w.loop.events_of("purchase_ordered").size() == 1);
  CHECK(w.loop.events_of("command_failed").size() == 1);
  CHECK(w.loop.events.size() == 4);
}

TEST_CASE("filexfer corrupt provider is detected and another provider completes") {
  world w({provider_strategy::corrupt_content, provider_strategy::honest});
  w.download();
  auto corrupt = w.loop.events_of("corrupt_detected");
  REQUIRE(corrupt.size() == 1);
  CHECK(*corrupt[0].e.field("provider") == "10");
  CHECK(*corrupt[0].e.field("hash") == to_hex(w.hash));
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(*e.field("provider") == "11");
  CHECK(e.value("corrupt_detected") == 1);
  CHECK(e.value("attempts") == 2);
  CHECK(w.counter("corrupt_detected") == 1);
  CHECK(w.store().discarded == 1);
  w.require_verified_copy();
}

TEST_CASE("filexfer truncating provider is detected and another provider completes") {
  world w({provider_strategy::truncate_content, provider_strategy::honest});
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(*e.field("provider") == "11");
  CHECK(e.value("attempts") == 2);
  CHECK(w.counter("filexfer.truncated") == 1);
  CHECK(w.loop.events_of("corrupt_detected").empty());
  w.require_verified_copy();
}

TEST_CASE("filexfer silent provider times out and the next provider completes") {
  auto cfg = small_config();
  world w({provider_strategy::silent, provider_strategy::honest}, 200000, cfg);
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(*e.field("provider") == "11");
  // attempts_per_provider = 2 tries on the silent one, then one on the next.
  CHECK(e.value("attempts") == 3);
  CHECK(w.counter("filexfer.timeouts") == 2);
  CHECK(w.counter("filexfer.retries") == 1);
  CHECK(e.value("duration_us") >= 2 * cfg.request_timeout);
  CHECK(e.value("duration_us") < 3 * cfg.request_timeout);
  w.require_verified_copy();
}

TEST_CASE("filexfer provider without the file answers not-a-provider and is skipped") {
  world w({provider_strategy::honest, provider_strategy::honest});
  w.loop.at(10).content.files.clear();
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(*e.field("provider") == "11");
  CHECK(e.value("attempts") == 2);
  CHECK(w.counter("filexfer.timeouts") == 0);
  w.require_verified_copy();
}

TEST_CASE("filexfer all providers bad ends in download_failed") {
  world w({provider_strategy::corrupt_content, provider_strategy::truncate_content,
           provider_strategy::silent},
          300000);
  w.download(5);
  event e = w.outcome();
  REQUIRE(e.kind == "download_failed");
  CHECK(e.command_id == 5);
  CHECK(*e.field("hash") == to_hex(w.hash));
  const std::string& reason = *e.field("reason");
  CHECK(reason.rfind("all 3 providers failed; last: provider 12: no progress for", 0) == 0);
  CHECK(e.value("attempts") == 4); // 1 corrupt + 1 truncated + 2 silent
  CHECK(w.loop.events_of("corrupt_detected").size() == 1);
  CHECK(w.loop.events_of("download_done").empty());
  CHECK(w.store().committed.empty());
  CHECK(w.store().sinks.empty());
  CHECK(w.client_role().active_downloads() == 0);
}

TEST_CASE("filexfer download gives up after max_attempts") {
  auto cfg = small_config();
  cfg.max_attempts = 3;
  world w({provider_strategy::silent, provider_strategy::silent, provider_strategy::silent}, 100000,
          cfg);
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_failed");
  CHECK(e.field("reason")->rfind("gave up after 3 attempts; last: provider 11: no progress", 0) ==
        0);
  CHECK(e.value("attempts") == 3);
  // Three idle timeouts, each counted from the META_OK that arrived one round
  // trip (2 ms) after the attempt began on a new provider.
  CHECK(e.value("duration_us") == 3 * cfg.request_timeout + 2 * 2 * us_per_ms);
}

TEST_CASE("filexfer download completes despite random frame loss") {
  auto cfg = small_config();
  cfg.attempts_per_provider = 3;
  cfg.max_attempts = 30;
  double retries = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    fxtest::net_model net;
    net.loss = 0.05;
    world w({provider_strategy::honest, provider_strategy::honest}, 700000, cfg, net, seed);
    w.download();
    INFO("seed " << seed);
    event e = w.outcome();
    REQUIRE(e.kind == "download_done");
    w.require_verified_copy();
    CHECK(w.loop.frames_dropped > 0);
    retries += w.counter("filexfer.retries");
  }
  CHECK(retries > 0); // losses really forced re-requests
}

TEST_CASE("filexfer download handles duplicated and reordered chunks") {
  fxtest::net_model net;
  net.duplicate = 0.3;
  net.jitter = 20 * us_per_ms; // far more than the gap between chunks: heavy reordering
  std::size_t readbacks = 0;
  double duplicates = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    world w({provider_strategy::honest}, 900001, small_config(), net, seed);
    w.download();
    INFO("seed " << seed);
    event e = w.outcome();
    REQUIRE(e.kind == "download_done");
    CHECK(e.value("attempts") == 1);
    w.require_verified_copy();
    readbacks += w.store().readbacks;
    duplicates += w.counter("filexfer.duplicate_chunks") + w.counter("filexfer.stale_frames");
  }
  CHECK(readbacks > 0);  // out-of-order data was hashed from the sink
  CHECK(duplicates > 0); // duplicates arrived and were ignored
}

TEST_CASE("filexfer chunks outside the requested window are rejected") {
  world w({provider_strategy::honest}, 300000);
  // The network moves the first chunk it sees far away from its window once.
  bool moved = false;
  w.loop.tamper = [&](peer_id, peer_id, bytes& f) {
    if (!moved && f.size() > 1 && f[1] == static_cast<std::uint8_t>(msg_type::content_chunk)) {
      auto d = decode(f);
      auto c = std::get<content_chunk>(d.msg);
      c.offset += 250000;
      f = encode(c);
      moved = true;
    }
    return true;
  };
  w.download();
  CHECK(moved);
  CHECK(w.counter("filexfer.chunks_out_of_window") == 1);
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  // The displaced bytes were asked for again as soon as three later chunks of
  // the window arrived (gap detection), without waiting for a timeout.
  CHECK(w.counter("filexfer.gap_rerequests") == 1);
  CHECK(w.counter("filexfer.rerequested_bytes") == 16 << 10);
  CHECK(w.counter("filexfer.retries") == 0);
  CHECK(w.counter("filexfer.timeouts") == 0);
  w.require_verified_copy();
}

TEST_CASE("filexfer bytes changed in transit never reach a committed file") {
  world w({provider_strategy::honest, provider_strategy::honest}, 200000);
  int flipped = 0;
  w.loop.tamper = [&](peer_id from, peer_id, bytes& f) {
    if (from == 10 && f.size() > 100 &&
        f[1] == static_cast<std::uint8_t>(msg_type::content_chunk) && flipped == 0) {
      f[60] ^= 0x01; // inside the data: the codec cannot notice, only the hash can
      ++flipped;
    }
    return true;
  };
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(*e.field("provider") == "11");
  CHECK(w.loop.events_of("corrupt_detected").size() == 1);
  w.require_verified_copy();
}

TEST_CASE("filexfer empty file downloads and verifies") {
  world w({provider_strategy::honest}, 0);
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_done");
  CHECK(e.value("bytes") == 0);
  w.require_verified_copy();
}

TEST_CASE("filexfer two downloads run side by side") {
  world w({provider_strategy::honest, provider_strategy::honest}, 400000);
  auto second = make_file(77, 250000);
  digest h2 = w.loop.at(11).content.add_file("other.bin", second);
  w.loop.command(client, text_command_of(1, "download", w.args()));
  w.loop.command(client, text_command_of(2, "download", {to_hex(h2), "11"}));
  w.loop.run_until(run_limit);
  auto done = w.loop.events_of("download_done");
  REQUIRE(done.size() == 2);
  CHECK(w.store().committed.at(w.hash) == w.file);
  CHECK(w.store().committed.at(h2) == second);
}

TEST_CASE("filexfer malformed download commands are refused with a clear reason") {
  world w({provider_strategy::honest});
  std::string hex = to_hex(w.hash);
  struct bad_case {
    std::vector<std::string> args;
    std::string reason;
  };
  std::vector<bad_case> cases = {
    {{}, "download needs a 64-hex SHA-256 and at least one provider peer id"},
    {{hex}, "download needs a 64-hex SHA-256 and at least one provider peer id"},
    {{"abc", "10"}, "args[0] is not a 64-hex SHA-256: \"abc\""},
    {{hex.substr(1) + "g", "10"}, "args[0] is not a 64-hex SHA-256: \"" + hex.substr(1) + "g\""},
    {{hex, "10", "x1"}, "args[2] is not a decimal peer id: \"x1\""},
    {{hex, "-3"}, "args[1] is not a decimal peer id: \"-3\""},
    {{hex, ""}, "args[1] is not a decimal peer id: \"\""},
    {{hex, "10 "}, "args[1] is not a decimal peer id: \"10 \""},
    {{hex, "99999999999999999999999"},
     "args[1] is not a decimal peer id: \"99999999999999999999999\""},
    {std::vector<std::string>(limits::command_args_max + 1, "1"),
     "too many arguments (at most 64)"},
  };
  std::uint64_t id = 100;
  for (auto& c : cases) {
    INFO("case " << id);
    w.loop.events.clear();
    w.loop.command(client, text_command_of(id, "download", c.args));
    REQUIRE(w.loop.events.size() == 1);
    auto& e = w.loop.events[0].e;
    CHECK(e.kind == "command_failed"); // the one failure reply of a command that does not parse
    CHECK(e.command_id == id);
    CHECK(*e.field("reason") == c.reason);
    CHECK(e.value("code") == 400);
    ++id;
  }
  w.loop.run_until(run_limit);
  CHECK(w.loop.frames_sent == 0); // nothing else happened
  CHECK(w.loop.timers_fired == 0);
  CHECK(w.store().sinks.empty());

  w.loop.events.clear();
  w.loop.command(client, text_command_of(200, "upload", {hex}));
  REQUIRE(w.loop.events.size() == 1);
  CHECK(w.loop.events[0].e.kind == "command_failed");
}

TEST_CASE("filexfer refuses a second download of the same file and bounds downloads") {
  world w({provider_strategy::silent});
  std::string p = "10";
  w.loop.command(client, text_command_of(1, "download", {to_hex(w.hash), p}));
  w.loop.command(client, text_command_of(2, "download", {to_hex(w.hash), p}));
  auto failed = w.loop.events_of("download_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].e.command_id == 2);
  CHECK(*failed[0].e.field("reason") == "this file is already being downloaded");

  // Fill the table with distinct (unknown) hashes without running the loop.
  for (std::uint64_t i = 1; i < limits::active_downloads_max; ++i) {
    digest h{};
    h[0] = 1;
    h[8] = static_cast<std::uint8_t>(i);
    h[9] = static_cast<std::uint8_t>(i >> 8);
    w.loop.command(client, text_command_of(100 + i, "download", {to_hex(h), p}));
  }
  auto& d = w.client_role();
  CHECK(d.active_downloads() == limits::active_downloads_max);
  w.loop.events.clear();
  digest extra{};
  extra[0] = 2;
  w.loop.command(client, text_command_of(999, "download", {to_hex(extra), p}));
  REQUIRE(w.loop.events.size() == 1);
  CHECK(*w.loop.events[0].e.field("reason") == "too many active downloads (at most 256)");
}

TEST_CASE("filexfer sink that cannot be opened fails the download") {
  world w({provider_strategy::honest});
  w.store().fail_open = true;
  w.download();
  event e = w.outcome();
  REQUIRE(e.kind == "download_failed");
  CHECK(*e.field("reason") == "could not open a sink in the content store");
}

TEST_CASE("filexfer downloads are deterministic for a seed") {
  auto trace_of = [](std::uint64_t seed) {
    fxtest::net_model net;
    net.loss = 0.03;
    net.duplicate = 0.05;
    net.jitter = 3 * us_per_ms;
    world w({provider_strategy::corrupt_content, provider_strategy::honest}, 500000, small_config(),
            net, seed);
    w.download();
    std::string s;
    for (auto& t : w.loop.events) {
      s += std::to_string(t.at) + " " + t.e.kind;
      for (auto& [k, v] : t.e.fields)
        s += " " + k + "=" + v;
      for (auto& [k, v] : t.e.values)
        s += " " + k + "=" + std::to_string(v);
      s += "\n";
    }
    return s + std::to_string(w.loop.frames_sent);
  };
  CHECK(trace_of(3) == trace_of(3));
  CHECK(trace_of(3) != trace_of(4));
}

TEST_CASE("filexfer downloader clamps its configuration to the protocol bounds") {
  downloader_config c;
  c.chunk_bytes = 0;
  c.window_bytes = 1ull << 40;
  c.windows_in_flight = 100000;
  c.attempts_per_provider = 0;
  c.max_attempts = 0;
  downloader d(c);
  CHECK(d.config().chunk_bytes == 1);
  CHECK(d.config().window_bytes == bounds::request_bytes_max);
  CHECK(d.config().windows_in_flight == bounds::windows_in_flight_max);
  CHECK(d.config().attempts_per_provider == 1);
  CHECK(d.config().max_attempts == 1);
}
