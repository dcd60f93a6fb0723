#pragma once
// A downloader (peer 1) and providers 10, 11, ... that all hold one file, on
// the shared lockstep network; shared by the downloader, lookup and
// loss-recovery tests.
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace fxtest {

using namespace peerlab;
using peerlab::filexfer::downloader;
using peerlab::filexfer::downloader_config;
using peerlab::filexfer::make_downloader;
using peerlab::filexfer::make_provider;
using peerlab::filexfer::provider_config;
using peerlab::filexfer::provider_strategy;

using test_kit::make_file;

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

// The links of a world: 1 ms one way unless a test asks for more.
struct net_model {
  double loss = 0;      // chance a frame is dropped
  double duplicate = 0; // chance a frame is delivered twice
  time_us latency = 1000;
  time_us jitter = 0; // uniform extra delay in [0, jitter): reorders frames
};

struct world {
  test_kit::network loop;
  bytes file;
  digest hash{};
  std::vector<peer_id> providers;

  world(std::vector<provider_strategy> strategies, std::size_t file_size = (1 << 20) + 12345,
        downloader_config cfg = small_config(), net_model net = {}, std::uint64_t seed = 1,
        std::size_t provider_chunk = provider_config{}.chunk_bytes)
      : loop(seed, net.latency), file(make_file(seed + 1000, file_size)) {
    loop.loss = net.loss;
    loop.duplicate = net.duplicate;
    loop.jitter = net.jitter;
    loop.add(client, {make_downloader(cfg)}, seed * 31 + 1);
    for (std::size_t i = 0; i < strategies.size(); ++i) {
      provider_config pc;
      pc.strategy = strategies[i];
      pc.chunk_bytes = provider_chunk;
      peer_id id = 10 + i;
      auto& n = loop.add(id, {make_provider(pc)}, seed * 31 + 2 + i);
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
    loop.run_until(run_limit);
  }

  test_kit::memory_content& store() { return loop.at(client).content; }
  downloader& client_role() { return loop.at(client).role_at<downloader>(ports::file_downloader); }
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
