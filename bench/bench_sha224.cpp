// SHA-224 throughput: the portable C++ code the WebAssembly build hashes with
// (protocols/common/sha2_portable.hpp) beside OpenSSL (SHA-NI where the CPU has
// it), on 64 KiB and 1 MiB buffers. docs/wasm.md compares both with wasm in node.
//   build-*/bench/bench_sha224
#include "protocols/common/rng.hpp"
#include "protocols/common/sha224.hpp"
#include "protocols/common/sha2_portable.hpp"

#include <benchmark/benchmark.h>

using namespace peerlab;

namespace {

bytes random_buffer(std::size_t n) {
  rng r(5);
  bytes b(n);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(r.next());
  return b;
}

void BM_sha224_portable(benchmark::State& state) {
  auto data = random_buffer(static_cast<std::size_t>(state.range(0)));
  sha2::portable h(sha2::variant::sha224);
  std::uint8_t out[28];
  for (auto _ : state) {
    h.update(data.data(), data.size());
    h.finish(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

void BM_sha224_openssl(benchmark::State& state) {
  auto data = random_buffer(static_cast<std::size_t>(state.range(0)));
  sha224 h; // the native peerlab::sha224 is OpenSSL's EVP_sha224
  for (auto _ : state) {
    h.update(data);
    benchmark::DoNotOptimize(h.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

} // namespace

BENCHMARK(BM_sha224_portable)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_sha224_openssl)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK_MAIN();
