// Merkle proofs for a 1,000,000-file set: proof generation
// from stored nodes and RFC 9162 verification, per second.
//   build-*/bench/bench_merkle --benchmark_counters_tabular=true
#include "protocols/common/rng.hpp"
#include "protocols/merkle/merkle.hpp"

#include <benchmark/benchmark.h>

#include <vector>

using namespace peerlab;

namespace {

constexpr std::uint64_t leaves = 1'000'000;

// Built once: every benchmark below reads the same tree.
const merkle::tree& big_tree() {
  static const merkle::tree t = [] {
    merkle::tree t;
    t.reserve(leaves);
    bytes file(64);
    for (std::uint64_t i = 0; i < leaves; ++i) {
      for (int b = 0; b < 8; ++b)
        file[b] = static_cast<std::uint8_t>(i >> (8 * b));
      t.append(file);
    }
    return t;
  }();
  return t;
}

void BM_merkle_build_1M(benchmark::State& state) {
  bytes file(64);
  for (auto _ : state) {
    merkle::tree t;
    t.reserve(leaves);
    for (std::uint64_t i = 0; i < leaves; ++i) {
      file[0] = static_cast<std::uint8_t>(i);
      t.append(file);
    }
    benchmark::DoNotOptimize(t.root());
  }
  state.counters["leaves_per_s"] = benchmark::Counter(
    static_cast<double>(leaves) * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_merkle_root_1M(benchmark::State& state) {
  auto& t = big_tree();
  rng r(7);
  for (auto _ : state)
    benchmark::DoNotOptimize(t.root(leaves - r.below(1000)));
  state.counters["roots_per_s"] =
    benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_merkle_proof_generate_1M(benchmark::State& state) {
  auto& t = big_tree();
  rng r(1);
  for (auto _ : state) {
    auto p = t.inclusion_proof(r.below(leaves), leaves);
    benchmark::DoNotOptimize(p.data());
  }
  state.counters["proofs_per_s"] =
    benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_merkle_proof_verify_1M(benchmark::State& state) {
  auto& t = big_tree();
  const auto root = t.root();
  // A pool of ready proofs so that only verification is timed.
  struct item {
    std::uint64_t index;
    std::vector<digest> path;
  };
  std::vector<item> pool;
  rng r(2);
  for (int i = 0; i < 4096; ++i) {
    auto idx = r.below(leaves);
    pool.push_back({idx, t.inclusion_proof(idx, leaves)});
  }
  std::size_t k = 0, bad = 0;
  for (auto _ : state) {
    auto& it = pool[k++ & 4095];
    bad += !merkle::verify_inclusion(t.leaf(it.index), it.index, leaves, it.path, root);
  }
  if (bad != 0)
    state.SkipWithError("a valid proof failed to verify");
  state.counters["verifications_per_s"] =
    benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_merkle_proof_encode_decode(benchmark::State& state) {
  auto& t = big_tree();
  merkle::inclusion_proof p{123456, leaves, t.inclusion_proof(123456, leaves)};
  for (auto _ : state) {
    auto enc = merkle::encode(p);
    auto back = merkle::decode_inclusion_proof(enc);
    benchmark::DoNotOptimize(back);
  }
}

} // namespace

BENCHMARK(BM_merkle_build_1M)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_merkle_root_1M);
BENCHMARK(BM_merkle_proof_generate_1M);
BENCHMARK(BM_merkle_proof_verify_1M);
BENCHMARK(BM_merkle_proof_encode_decode);

BENCHMARK_MAIN();
