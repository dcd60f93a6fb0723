#pragma once
// A downloader (peer 1) and providers 10, 11, ... that all hold one file, in
// the in-test event loop; shared by the downloader and loss-recovery tests.
#include "protocols/filexfer/filexfer.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace fxtest {

using peerlab::filexfer::downloader_config;
using peerlab::filexfer::make_downloader;
using peerlab::filexfer::make_provider;
using peerlab::filexfer::provider_config;
using peerlab::filexfer::provider_strategy;

inline constexpr peer_id client = 1;
inline constexpr time_us run_limit = 600 * us_per_s;

// Small windows so a test file spans several; request_timeout at the RTT
// floor, so every timeout in these tests lasts exactly request_timeout.
inline downloader_config small_config() {
  downloader_config c;
  c.chunk_bytes = 16 << 10;
  c.window_bytes = 128 << 10;
  c.windows_in_flight = 4;
  c.request_timeout = 200 * us_per_ms;
  c.attempts_per_provider = 2;
  c.max_attempts = 8;
  return c;
}

struct world {
  fxtest::sim_loop loop;
  bytes file;
  digest hash{};
  std::vector<peer_id> providers;

  world(std::vector<provider_strategy> strategies, std::size_t file_size = (1 << 20) + 12345,
        downloader_config cfg = small_config(), fxtest::net_model net = {}, std::uint64_t seed = 1,
        std::size_t provider_chunk = provider_config{}.chunk_bytes)
      : loop(seed, net), file(make_file(seed + 1000, file_size)) {
    loop.add(client, make_downloader(cfg), seed * 31 + 1);
    for (std::size_t i = 0; i < strategies.size(); ++i) {
      provider_config pc;
      pc.strategy = strategies[i];
      pc.chunk_bytes = provider_chunk;
      peer_id id = 10 + i;
      auto& n = loop.add(id, make_provider(pc), seed * 31 + 2 + i);
      hash = n.content.add_file("data.bin", file, 500);
      providers.push_back(id);
    }
    loop.start_all();
  }

  std::vector<std::string> args() const {
    std::vector<std::string> a{to_hex(hash)};
    for (auto p : providers)
      a.push_back(std::to_string(p));
    return a;
  }

  void download(std::uint64_t cmd_id = 1) {
    loop.command(client, text_command_of(cmd_id, "download", args()));
    loop.run(run_limit);
  }

  fxtest::memory_content& store() { return loop.at(client).content; }
  double counter(const std::string& name) { return loop.counter(client, name); }

  // The single final event (done or failed) of the download.
  event outcome() {
    auto done = loop.events_of("download_done");
    auto failed = loop.events_of("download_failed");
    REQUIRE(done.size() + failed.size() == 1);
    return done.empty() ? failed[0].e : done[0].e;
  }

  void require_verified_copy() {
    REQUIRE(store().committed.count(hash) == 1);
    CHECK(store().committed.at(hash) == file);
    CHECK(store().sinks.empty());
  }
};

} // namespace fxtest
