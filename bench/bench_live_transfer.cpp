// A file of 1 GiB between two live nodes on loopback TCP (one process, two
// live runtimes, each with its own CAF system and io thread), from a file on
// disk into the downloader's download folder. The downloader checks SHA-256
// before it reports success, so every byte counted here was verified.
//
// Arguments: file size (MiB), chunk size (KiB, provider and downloader),
// window (KiB), windows in flight, TLS (1: TLS 1.3 with each node's key, as
// `peerlab node` runs; 0: plain TCP, the cost of TLS by difference), shaper
// (1: both nodes shape their frames with a scenario without faults: zero
// latency, no rules, unlimited bandwidth, the cost of the shaping layer by
// difference; 0: none). The
// 1024 MiB cases are the figure; the 32 MiB cases are what CI runs
// (bench_live_transfer.brief).
// Environment: PEERLAB_BENCH_DIR (where the files go, default the temp dir).
//
// Compare with `openssl speed -evp sha256` (hashing bounds the rate); the
// in-process SHA-256 rate of the same data is reported by BM_sha256_same_data.
#include "protocols/registry.hpp"
#include "net/address.hpp"
#include "net/disk_content.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "sim/live_shaper.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "bench/cpu_use.hpp"

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace peerlab;
namespace fs = std::filesystem;

namespace {

// Deterministic, non-repeating content (xorshift), written once per process.
struct source_file {
  fs::path dir;
  fs::path path;
  std::uint64_t size = 0;
  digest hash{};

  explicit source_file(std::uint64_t file_size) {
    const char* base = std::getenv("PEERLAB_BENCH_DIR");
    auto pattern =
      (fs::path(base ? base : fs::temp_directory_path().c_str()) / "peerlab-bench-live-XXXXXX")
        .string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed: " + pattern);
    dir = pattern;
    path = dir / "payload.bin";
    size = file_size;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bytes buf(4 << 20);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL, left = size;
    sha256 h;
    while (left > 0) {
      auto* w = reinterpret_cast<std::uint64_t*>(buf.data());
      for (std::size_t i = 0; i < buf.size() / 8; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w[i] = x;
      }
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
      if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n))
        throw std::runtime_error("cannot write " + path.string());
      h.update(byte_view{buf.data(), n});
      left -= n;
    }
    ::close(fd);
    hash = h.finish();
  }
  ~source_file() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// One file per size, written on first use and kept for the whole run.
source_file& source(std::uint64_t file_size) {
  static std::map<std::uint64_t, std::unique_ptr<source_file>> files;
  auto& f = files[file_size];
  if (!f)
    f = std::make_unique<source_file>(file_size);
  return *f;
}

class waiter {
public:
  void add(const event& e) {
    std::lock_guard lock(mu_);
    if (e.kind == "download_done" || e.kind == "download_failed") {
      last_ = e;
      cv_.notify_all();
    }
  }
  event wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return last_.has_value(); });
    event e = std::move(*last_);
    last_.reset();
    return e;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<event> last_;
};

net::live_options node(const std::string& name, const fs::path& dir, const nlohmann::json& roles,
                       waiter* w, bool tls) {
  fs::create_directories(dir);
  net::live_options o;
  o.name = name;
  if (tls)
    o.identity = net::node_identity::ephemeral();
  o.roles = make_roles(roles, "roles", "");
  o.store = std::make_unique<net::sqlite_store>(dir / "node.db");
  o.content = std::make_unique<net::disk_content>(dir);
  if (w)
    o.on_event = [w](port_t, const event& e) { w->add(e); };
  o.on_log = [](const std::string&) {};
  return o;
}

// Two nodes, a network that changes nothing: the shaping layer's own cost.
std::shared_ptr<frame_shaper> no_fault_shaper(peer_id provider, peer_id downloader,
                                              std::uint32_t node) {
  nlohmann::json j = {
    {"name", "no faults"},
    {"duration", "1h"},
    {"groups",
     {{{"name", "p"}, {"count", 1}, {"roles", {"provider"}}},
      {{"name", "d"}, {"count", 1}, {"roles", {"downloader"}}}}},
    {"network", {{"latency", {{"model", "constant"}, {"value", "0us"}, {"jitter", "0us"}}}}}};
  return std::make_shared<sim::live_shaper>(
    sim::parse_scenario(j.dump(), "bench"), 1, node,
    std::map<peer_id, std::uint32_t>{{provider, 0}, {downloader, 1}});
}

void BM_live_transfer(benchmark::State& state) {
  auto& src = source(static_cast<std::uint64_t>(state.range(0)) << 20);
  const auto chunk = std::to_string(state.range(1)) + "KiB";
  const auto window = std::to_string(state.range(2)) + "KiB";
  const auto in_flight = state.range(3);
  const bool tls = state.range(4) != 0;
  const bool shaped = state.range(5) != 0;
  state.SetLabel(std::string(tls ? "tls" : "plain") + (shaped ? " shaped" : ""));
  auto run_dir = src.dir / ("run-" + chunk + "-" + window + "-" + std::to_string(in_flight) +
                            (tls ? "-tls" : "-plain") + (shaped ? "-shaped" : ""));

  auto po =
    node("bench-provider", run_dir / "p",
         nlohmann::json::array({{{"role", "provider"}, {"chunk_size", chunk}}}), nullptr, tls);
  static_cast<net::disk_content*>(po.content.get())->provide({src.path, "", 0});
  waiter w;
  auto dl = nlohmann::json::array({{{"role", "downloader"},
                                    {"chunk_size", chunk},
                                    {"window", window},
                                    {"windows_in_flight", in_flight},
                                    {"request_timeout", "30s"}}});
  auto dopt = node("bench-downloader", run_dir / "d", dl, &w, tls);
  auto* content = static_cast<net::disk_content*>(dopt.content.get());
  if (shaped) {
    auto id = [](const net::live_options& o) {
      return o.identity ? o.identity->id() : net::peer_id_from_name(o.name);
    };
    po.shaper = no_fault_shaper(id(po), id(dopt), 0);
    dopt.shaper = no_fault_shaper(id(po), id(dopt), 1);
  }
  net::live_runtime provider(std::move(po));
  provider.start();

  net::live_runtime downloader(std::move(dopt));
  downloader.start();
  downloader.learn_address(provider.id(), provider.listen_address());

  std::uint64_t id = 0;
  bench::cpu_meter cpu; // of the timed part
  for (auto _ : state) {
    cpu.start();
    downloader.command(
      ports::file_downloader,
      text_command_of(++id, "download", {to_hex(src.hash), std::to_string(provider.id())}));
    event e = w.wait();
    cpu.stop();
    state.PauseTiming();
    if (e.kind != "download_done" || e.value("bytes") != static_cast<double>(src.size)) {
      state.SkipWithError(
        ("download failed: " + (e.field("reason") ? *e.field("reason") : e.kind)).c_str());
      break;
    }
    // The next round must write the file again, not find it already there.
    if (auto p = content->committed_path(src.hash))
      fs::remove(*p);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * src.size));
  state.counters["file_MiB"] = static_cast<double>(src.size) / (1 << 20);
  // Load-independent cost: CPU seconds (both nodes, all threads) per GiB moved.
  // On 2 idle cores the wall rate cannot beat 2 / cpu_s_per_GiB GiB/s.
  const double gib = static_cast<double>(state.iterations() * src.size) / (1ull << 30);
  state.counters["cpu_s_per_GiB"] = cpu.cpu_seconds() / gib;
  // The busiest thread (the downloader's actor: SHA-256 plus copies) bounds the
  // rate on an idle machine: at most 1 / busiest_thread_s_per_GiB GiB/s.
  state.counters["busiest_thread_s_per_GiB"] = cpu.busiest_thread_seconds() / gib;
  if (shaped) // the layer must have seen the frames, and changed none
    state.counters["shaped_held"] =
      downloader.counters()["net.shaped_delayed"] + provider.counters()["net.shaped_delayed"];
  downloader.stop();
  provider.stop();
  std::error_code ec;
  fs::remove_all(run_dir, ec);
}

// The bound: SHA-256 of the same bytes on one core, from memory.
void BM_sha256_same_data(benchmark::State& state) {
  bytes buf(static_cast<std::size_t>(state.range(0)) << 10);
  std::uint64_t x = 1;
  for (auto& b : buf)
    b = static_cast<std::uint8_t>(x = x * 6364136223846793005ULL + 1442695040888963407ULL);
  sha256 h;
  for (auto _ : state) {
    h.update(buf);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(h.finish());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}

// The shaping layer's cost per frame, without sockets: one shape() call (the
// rule chain, latency, upload link, FIFO mark) and the vector of copies, for a
// network without faults (arg 0) and one with every rule and jitter (arg 1).
// Times the frames of a transfer: 1 GiB in 1 MiB chunks is ~2,048 frames
// (chunks and requests) per GiB.
void BM_shaper_frame(benchmark::State& state) {
  nlohmann::json net = {{"latency", {{"model", "constant"}, {"value", "0us"}, {"jitter", "0us"}}}};
  if (state.range(0) != 0)
    net = {{"latency", {{"model", "lognormal"}, {"median", "30ms"}, {"sigma", 0.5}}},
           {"bandwidth", {{"up", "1Gbit/s"}}},
           {"faults",
            {{"loss", 0.01},
             {"duplicate", 0.01},
             {"reorder", 0.01},
             {"truncate", 0.01},
             {"corrupt", 0.01}}}};
  nlohmann::json j = {{"name", "per frame"},
                      {"duration", "1h"},
                      {"groups", {{{"name", "g"}, {"count", 2}, {"roles", {"provider"}}}}},
                      {"network", net}};
  sim::live_shaper shaper(sim::parse_scenario(j.dump(), "bench"), 1, 0, {{1, 0}, {2, 1}});
  std::vector<shaped_copy> out;
  bytes frame(1024);
  time_us now = 0;
  for (auto _ : state) {
    out.clear();
    shaper.shape(2, ++now, now, frame, out); // copies the 1 KiB frame: part of the figure
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(state.range(0) != 0 ? "all rules, jitter, 1 Gbit/s up" : "no faults");
}

} // namespace

// file MiB, chunk KiB, window KiB, windows in flight, TLS, shaper
BENCHMARK(BM_live_transfer)
  ->Args({1024, 1024, 8192, 4, 1, 0})
  ->Args({1024, 1024, 8192, 4, 1, 1})
  ->Args({1024, 1024, 8192, 4, 0, 0})
  ->Args({1024, 1024, 8192, 4, 0, 1})
  ->Args({1024, 1024, 4096, 4, 1, 0})
  ->Args({1024, 256, 4096, 4, 1, 0})
  ->Args({1024, 64, 1024, 4, 1, 0})
  ->Args({32, 1024, 8192, 4, 1, 0})
  ->Args({32, 1024, 8192, 4, 1, 1})
  ->Args({32, 1024, 8192, 4, 0, 0})
  ->Iterations(3)
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sha256_same_data)->Arg(1024)->Arg(16);
BENCHMARK(BM_shaper_frame)->Arg(0)->Arg(1);

BENCHMARK_MAIN();
