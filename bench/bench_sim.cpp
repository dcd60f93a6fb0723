// Simulator throughput and memory.
//
// BM_frames: delivered frames per second at 10,000 nodes with synthetic
// traffic (each node keeps frames moving between random peers), through the
// CAF actor path and through the plain loop that calls the same roles
// directly. The ratio actors/direct is the figure to push up. Rates are per
// CPU second (the machine is shared; the simulator is single-threaded).
//
// BM_idle_nodes: bytes of memory per idle simulated node (actors engine).
#include "sim/simulator.hpp"

#include <benchmark/benchmark.h>

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

} // namespace

BENCHMARK_MAIN();
