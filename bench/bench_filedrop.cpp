// Messages per second and MB/s of the droplog through real folders on this
// machine (layers 0 + 1: atomic file writes, directory scans, reads, HMACs,
// deletes), two sides in one process sharing one folder, no mirror. Each
// iteration sends a batch one way and runs both sides until it is delivered
// and acknowledged.
#include "net/drop_folder.hpp"
#include "protocols/droplog/host.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <stdlib.h>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

constexpr peer_id id_a = 0xaaaa, id_b = 0xbbbb;

struct folder_bench {
  explicit folder_bench(std::uint32_t fragment) {
    auto pattern = (fs::temp_directory_path() / "peerlab-bench-filedrop-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    droplog::session_config c;
    c.shared_key = "filedrop benchmark shared key 32";
    c.fragment_bytes = fragment;
    c.min_packet_bytes = 1u << 20;
    c.initial_packet_bytes = 8u << 20;
    c.max_packet_bytes = 64u << 20;
    c.max_ack_delay = 0;
    for (int s = 0; s < 2; ++s) {
      peer_id self = s ? id_b : id_a, peer = s ? id_a : id_b;
      folder[s] = std::make_unique<net::drop_folder>(dir, dir, self);
      host[s] = std::make_unique<droplog::host>(self, std::vector<peer_id>{peer}, c, nullptr);
    }
  }
  ~folder_bench() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::size_t step(int s) {
    std::size_t delivered = 0;
    for (auto& f : folder[s]->scan())
      delivered += host[s]->on_file(now, {f.data.data(), f.data.size()}).result.delivered.size();
    auto r = host[s]->poll(now);
    for (auto& f : r.files)
      folder[s]->write(f.to, f.packet.packet_id, {f.packet.data.data(), f.packet.data.size()});
    for (auto& [peer, d] : host[s]->take_deletable())
      d.side == droplog::folder_side::outgoing ? folder[s]->remove_outgoing(peer, d.packet_id)
                                               : folder[s]->remove_incoming(peer, d.packet_id);
    return delivered;
  }
  /// Runs both sides until `n` messages arrived at b and a's outbox is empty.
  void drain(std::size_t n) {
    std::size_t got = 0;
    for (int round = 0; round < 100000 && (got < n || host[0]->find(id_b)->outbox_entries() > 0);
         ++round) {
      now += 1000; // virtual 1 ms per round: the timers never fire, acks flow at once
      step(0);
      got += step(1);
    }
    if (got < n)
      throw std::runtime_error("benchmark: messages were not delivered");
  }
  fs::path dir;
  std::unique_ptr<net::drop_folder> folder[2];
  std::unique_ptr<droplog::host> host[2];
  time_us now = 0;
};

void BM_filedrop_small_messages(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::size_t size = 256;
  folder_bench b(64 * 1024);
  bytes msg(size, 0x5a);
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch; ++i)
      b.host[0]->find(id_b)->submit({msg.data(), msg.size()});
    b.drain(batch);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * size));
}
BENCHMARK(BM_filedrop_small_messages)
  ->Arg(1)
  ->Arg(1000)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

void BM_filedrop_large_message(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  folder_bench b(1024 * 1024 - 4096);
  bytes msg(size);
  for (std::size_t i = 0; i < size; ++i)
    msg[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
  for (auto _ : state) {
    b.host[0]->find(id_b)->submit({msg.data(), msg.size()});
    b.drain(1);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK(BM_filedrop_large_message)->Arg(64 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
BENCHMARK_MAIN();
