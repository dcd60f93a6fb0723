// Simulator throughput and memory.
//
// BM_frames: delivered frames per second at 10,000 nodes with synthetic
// traffic (each node keeps frames moving between random peers), through the
// CAF actor path and through the plain loop that calls the same roles
// directly. The ratio actors/direct is the figure to push up. Rates are per
// CPU second (the machine is shared; the simulator is single-threaded).
//
// BM_idle_nodes: bytes of memory per idle simulated node (actors engine).
//
// BM_fingerprint: chain steps per second for one delivered frame each, with
// the full-frame XXH3 digest (`full`) and with the digest the fingerprint
// used before (`sampled`: length, first 64 and last 16 bytes), on the same
// frames: 64 B (DHT and gossip messages), 1 KiB, 16 KiB and 64 KiB (file chunks).
#include "protocols/common/stable_hash.hpp"
#include "sim/simulator.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <fstream>
#include <malloc.h>
#include <string>

namespace {

using namespace peerlab;

sim::scenario traffic_scenario(std::uint64_t nodes, std::uint32_t in_flight,
                               const std::string& duration) {
  nlohmann::json s = {
    {"name", "bench-traffic"},
    {"seed", 1},
    {"duration", duration},
    {"groups",
     {{{"name", "all"},
       {"count", nodes},
       {"roles",
        {{{"role", "traffic"}, {"peers", nodes}, {"in_flight", in_flight}, {"size", 64}}}}}}},
    {"network",
     {{"latency", {{"model", "uniform"}, {"min", "5ms"}, {"max", "50ms"}}}, {"fifo_links", false}}},
    {"metrics", {{"interval", "1h"}}}};
  return sim::parse_scenario(s.dump(), "bench");
}

void BM_frames(benchmark::State& state) {
  auto eng = state.range(0) == 0 ? sim::engine::actors : sim::engine::direct;
  auto nodes = static_cast<std::uint64_t>(state.range(1));
  // ~100k frames in flight, about 1M deliveries per iteration.
  auto spec = traffic_scenario(nodes, static_cast<std::uint32_t>(100'000 / nodes), "280ms");
  std::uint64_t delivered = 0;
  for (auto _ : state) {
    sim::sim_options o;
    o.eng = eng;
    sim::simulator s(spec, o);
    s.run();
    delivered += s.stats().net.delivered;
    benchmark::DoNotOptimize(s.chain().value());
  }
  state.counters["frames_per_s"] =
    benchmark::Counter(static_cast<double>(delivered), benchmark::Counter::kIsRate);
  state.counters["frames"] =
    static_cast<double>(delivered) / static_cast<double>(state.iterations());
  state.SetLabel(eng == sim::engine::actors ? "actors" : "direct");
}
BENCHMARK(BM_frames)->Args({0, 10000})->Args({1, 10000})->Unit(benchmark::kMillisecond);

std::size_t heap_bytes() { return mallinfo2().uordblks; }

void BM_idle_nodes(benchmark::State& state) {
  auto nodes = static_cast<std::uint64_t>(state.range(0));
  auto spec = traffic_scenario(nodes, 0, "1ms");
  double per_node = 0;
  for (auto _ : state) {
    malloc_trim(0);
    auto before = heap_bytes();
    {
      sim::sim_options o;
      sim::simulator s(spec, o);
      s.run(); // brings every node up: one role actor each, idle
      per_node = static_cast<double>(heap_bytes() - before) / static_cast<double>(nodes);
      benchmark::DoNotOptimize(s.chain().value());
    }
  }
  state.counters["bytes_per_node"] = per_node;
  state.counters["GiB_per_1M_nodes"] = per_node * 1e6 / (1024.0 * 1024 * 1024);
}
BENCHMARK(BM_idle_nodes)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

// The chain step as it was before the full-frame digest, for comparison only.
std::uint64_t sampled_step(std::uint64_t chain, time_us t, std::uint64_t node, byte_view payload) {
  std::uint64_t h = hash_combine(chain, static_cast<std::uint64_t>(t));
  h = hash_combine(h, (1u << 8) | payload[0]);
  h = hash_combine(h, node);
  h = hash_combine(h, 9);
  std::size_t head = std::min<std::size_t>(payload.size(), 64);
  h = hash_combine(h, stable_hash(payload.data(), head, payload.size()));
  if (payload.size() > 64) {
    std::size_t tail = std::min<std::size_t>(payload.size() - 64, 16);
    h = hash_combine(h, stable_hash(payload.data() + payload.size() - tail, tail));
  }
  return h;
}

void BM_fingerprint(benchmark::State& state) {
  bool full = state.range(0) == 1;
  auto size = static_cast<std::size_t>(state.range(1));
  // 64 distinct frames (64 x 64 KiB = 4 MiB, more than L2): digests read memory as a run does.
  std::vector<bytes> frames(64, bytes(size));
  rng r(7);
  for (auto& f : frames)
    for (auto& b : f)
      b = static_cast<std::uint8_t>(r.next());
  sim::fingerprint fp;
  std::uint64_t chain = 0, steps = 0;
  time_us t = 0;
  for (auto _ : state) {
    for (auto& f : frames) {
      if (full)
        fp.extend_frame(++t, sim::event_kind::deliver, 3, f[0], 9, f);
      else
        chain = sampled_step(chain, ++t, 3, f);
    }
    steps += frames.size();
  }
  benchmark::DoNotOptimize(chain);
  benchmark::DoNotOptimize(fp.value());
  state.counters["events_per_s"] =
    benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(steps * size));
  state.SetLabel(full ? "full" : "sampled");
}
BENCHMARK(BM_fingerprint)->ArgsProduct({{0, 1}, {64, 1024, 16384, 65536}});

} // namespace

BENCHMARK_MAIN();
