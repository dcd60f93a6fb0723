// The paid proxy's live data plane on loopback (net/local_proxy ->
// net/forward_proxy -> origin, one process, each proxy with its own io
// thread): throughput of a CONNECT download through both proxies against the
// same download straight from the origin, measured in the same run, and the
// latency a small keep-alive GET gains by going through both proxies.
//
// BM_proxy_connect_download/<MiB>: three rounds of a direct download, one
// through both proxies with a plain leg between them and one with the nodes'
// mutual TLS leg (as live nodes run it), alternating; counters direct_MiBps,
// proxied_MiBps and tls_MiBps (the fastest of each), ratio (plain leg to
// direct) and tls_ratio (TLS leg to direct); the goal is at least 0.5. What
// bounds them, independent of other load: <way>_cpu_s_per_GiB (all threads:
// on 2 idle cores a rate cannot beat 2 / that) and <way>_busiest_s_per_GiB
// (the busiest thread: with a core per thread a rate cannot beat 1 / that),
// for direct, proxied (plain leg) and tls; and the ratios those bounds give,
// cpu_bound_tls_ratio (2 cores) and core_per_thread_tls_ratio.
// BM_proxy_small_get/<n>/<tls>: n GETs of 5 bytes each way, on one
// kept-alive connection, through a plain (0) or TLS (1) leg; counters p50/p99
// in microseconds, direct and proxied, and added_p50_us / added_p99_us. The
// 1024 MiB case is the figure; CI runs the small cases (bench_proxy.brief).
#include "net/forward_proxy.hpp"
#include "net/identity.hpp"
#include "net/local_proxy.hpp"
#include "tests/net/proxy_kit.hpp"
#include "bench/cpu_use.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>

using namespace peerlab;
using namespace peerlab::test::proxykit;

namespace {

/// PEERLAB_PROXY_BUFFER_KIB: the relay buffer per direction (default: the proxies' own).
std::size_t buffer_bytes() {
  auto* e = std::getenv("PEERLAB_PROXY_BUFFER_KIB");
  return e ? std::stoul(e) * 1024 : net::proxy::session_limits{}.buffer_bytes;
}

using identity_ptr = std::shared_ptr<const net::node_identity>;

/// Local proxy -> forward proxy; with `tls` the leg between them is mutual
/// TLS with two node identities, as between live nodes.
struct chain {
  explicit chain(bool tls = false)
      : provider_id(tls ? net::node_identity::ephemeral() : nullptr),
        client_id(tls ? net::node_identity::ephemeral() : nullptr),
        provider(
          [this] {
            net::forward_proxy_options o;
            o.allow_internal_destinations = true; // the origin is on 127.0.0.1
            o.limits.buffer_bytes = buffer_bytes();
            o.identity = provider_id;
            return o;
          }(),
          {[peer = client_id ? client_id->id() : 0](const std::string& t) {
             return t == "tok"
                      ? net::proxy_authorization{net::proxy_authorization::verdict::allowed, "c",
                                                 peer}
                      : net::proxy_authorization{};
           },
           {},
           {},
           {}}),
        local(
          [this] {
            net::local_proxy_options o;
            o.limits.buffer_bytes = buffer_bytes();
            o.identity = client_id;
            return o;
          }(),
          {}) {
    provider.start();
    local.start();
    local.set_upstream({"p", provider.address(), "tok", provider_id ? provider_id->id() : 0});
  }
  identity_ptr provider_id, client_id;
  net::forward_proxy provider;
  net::local_proxy local;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void BM_proxy_connect_download(benchmark::State& state) {
  const std::uint64_t size = static_cast<std::uint64_t>(state.range(0)) << 20;
  raw_origin source(raw_origin::mode::source, size);
  chain plain, tls(true);
  bench::cpu_meter direct_cpu, plain_cpu, tls_cpu;
  auto through = [&](chain& ch, bench::cpu_meter& cpu) {
    auto t0 = std::chrono::steady_clock::now();
    cpu.start();
    client c(ch.local.address());
    c.send("CONNECT " + source.authority() + " HTTP/1.1\r\nHost: x\r\n\r\n");
    if (c.connect_answer().status != 200 || c.drain(600s) != size)
      state.SkipWithError("proxied download incomplete");
    cpu.stop();
    return seconds_since(t0);
  };
  // Direct and proxied downloads alternate, `rounds` of each; the fastest of
  // each counts, so that a burst of other load on the machine does not land
  // on one side only.
  constexpr int rounds = 3;
  double direct_s = 1e9, proxied_s = 1e9, tls_s = 1e9;
  for (auto _ : state) {
    for (int r = 0; r < rounds; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      direct_cpu.start();
      {
        client c(source.port());
        if (c.drain(600s) != size)
          state.SkipWithError("direct download incomplete");
      }
      direct_cpu.stop();
      direct_s = std::min(direct_s, seconds_since(t0));
      proxied_s = std::min(proxied_s, through(plain, plain_cpu));
      tls_s = std::min(tls_s, through(tls, tls_cpu));
    }
  }
  double mib = static_cast<double>(size) / (1 << 20);
  state.counters["direct_MiBps"] = mib / direct_s;
  state.counters["proxied_MiBps"] = mib / proxied_s;
  state.counters["tls_MiBps"] = mib / tls_s;
  state.counters["ratio"] = direct_s / proxied_s;
  state.counters["tls_ratio"] = direct_s / tls_s;
  const double gib = rounds * static_cast<double>(state.iterations() * size) / (1ull << 30);
  auto cost = [&](const char* way, const bench::cpu_meter& m) {
    state.counters[std::string(way) + "_cpu_s_per_GiB"] = m.cpu_seconds() / gib;
    state.counters[std::string(way) + "_busiest_s_per_GiB"] = m.busiest_thread_seconds() / gib;
  };
  cost("direct", direct_cpu);
  cost("proxied", plain_cpu);
  cost("tls", tls_cpu);
  if (tls_cpu.cpu_seconds() > 0 && tls_cpu.busiest_thread_seconds() > 0) {
    // min(2 / cpu, 1 / busiest) for each way on 2 cores; 1 / busiest with a core per thread.
    auto on_two = [](const bench::cpu_meter& m) {
      return std::min(2 / m.cpu_seconds(), 1 / m.busiest_thread_seconds());
    };
    state.counters["cpu_bound_tls_ratio"] = on_two(tls_cpu) / on_two(direct_cpu);
    state.counters["core_per_thread_tls_ratio"] =
      direct_cpu.busiest_thread_seconds() / tls_cpu.busiest_thread_seconds();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(size) * 3 * rounds * state.iterations());
}
BENCHMARK(BM_proxy_connect_download)
  ->Arg(64)
  ->Arg(1024)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime()
  ->Iterations(1);

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

std::vector<double> timed_gets(client& c, const std::string& request, std::size_t n) {
  std::vector<double> us;
  us.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    c.send(request);
    if (c.response().body != "hello")
      throw std::runtime_error("unexpected answer");
    us.push_back(seconds_since(t0) * 1e6);
  }
  return us;
}

void BM_proxy_small_get(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  http_origin origin;
  chain ch(state.range(1) != 0); // 1: the TLS leg, as live nodes run it
  std::vector<double> direct, proxied;
  for (auto _ : state) {
    client d(origin.authority());
    auto dr = timed_gets(d, "GET /hello HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n", n);
    client p(ch.local.address());
    auto pr = timed_gets(p,
                         "GET http://" + origin.authority() +
                           "/hello HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n",
                         n);
    direct.insert(direct.end(), dr.begin(), dr.end());
    proxied.insert(proxied.end(), pr.begin(), pr.end());
  }
  state.counters["direct_p50_us"] = percentile(direct, 0.5);
  state.counters["direct_p99_us"] = percentile(direct, 0.99);
  state.counters["proxied_p50_us"] = percentile(proxied, 0.5);
  state.counters["proxied_p99_us"] = percentile(proxied, 0.99);
  state.counters["added_p50_us"] = percentile(proxied, 0.5) - percentile(direct, 0.5);
  state.counters["added_p99_us"] = percentile(proxied, 0.99) - percentile(direct, 0.99);
}
BENCHMARK(BM_proxy_small_get)
  ->ArgsProduct({{200, 5000}, {0, 1}})
  ->Unit(benchmark::kMillisecond)
  ->Iterations(1);

} // namespace

BENCHMARK_MAIN();
