// What the run fingerprint covers: every frame byte, command verbs and
// arguments, timer delays, and the state a run ends in.
#include "sim/trace_diff.hpp"
#include "sim/trace_recorder.hpp"
#include "sim_helpers.hpp"
#include "protocols/filexfer/filexfer.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::sim;

namespace {

bytes big_frame() {
  bytes f(64 * 1024);
  rng r(42);
  for (auto& b : f)
    b = static_cast<std::uint8_t>(r.next());
  f[0] = ports::file_provider;
  return f;
}

std::uint64_t chain_of_frame(const bytes& f) {
  fingerprint fp;
  fp.extend(1000, event_kind::node_up, 3, 0, 0);
  fp.extend_frame(2000, event_kind::deliver, 3, f[0], 7, f);
  fp.extend(3000, event_kind::timer, 3, 1, 5);
  return fp.value();
}

struct traced {
  std::string fingerprint;
  std::uint64_t events;
  std::vector<trace_entry> steps;
};

traced run_traced(const nlohmann::json& j, engine eng = engine::actors) {
  record_plan p;
  p.entries = true;
  p.end = 200'000;
  trace_recorder rec(p);
  sim_options o;
  o.eng = eng;
  o.recorder = &rec;
  simulator s(test::parse(j), o);
  s.run();
  return {s.chain().hex(), s.chain().events(), rec.entries()};
}

// Three idle Kademlia nodes: nothing but node starts and the timers they set.
nlohmann::json idle_kad(const std::string& refresh) {
  return {{"name", "idle-kad"},
          {"seed", 3},
          {"duration", "1m"},
          {"groups",
           {{{"name", "k"},
             {"count", 3},
             {"roles", {{{"role", "kad"}, {"refresh_interval", refresh}}}}}}}};
}

} // namespace

TEST_CASE("fingerprint: a byte changed deep inside a 64 KiB frame changes it",
          "[sim][fingerprint]") {
  auto f = big_frame();
  auto base = chain_of_frame(f);
  for (std::size_t at : {std::size_t{30'000}, std::size_t{64}, std::size_t{1000},
                         std::size_t{65'535 - 16}, std::size_t{65'535}}) {
    INFO("byte " << at);
    auto g = f;
    g[at] ^= 0x10;
    CHECK(chain_of_frame(g) != base);
  }
  CHECK(chain_of_frame(f) == base);
}

TEST_CASE("fingerprint: the frame digest is XXH3 and the same on every build",
          "[sim][fingerprint]") {
  // Pinned values: a change here changes every fingerprint ever recorded.
  bytes abc{'a', 'b', 'c'};
  CHECK(hex64(frame_digest(abc)) == "78af5f94892f3950");
  CHECK(hex64(frame_digest({})) == "2d06800538d394c2");
}

TEST_CASE("fingerprint: command verbs and arguments are digested field by field",
          "[sim][fingerprint]") {
  CHECK(command_digest("download", {"a", "bc"}) != command_digest("download", {"ab", "c"}));
  CHECK(command_digest("download", {"a"}) != command_digest("downloa", {"da"}));
  CHECK(command_digest("get", {"x"}) != command_digest("get", {"y"}));
  CHECK(command_digest("get", {}) != command_digest("get", {""}));
  CHECK(command_digest("get", {"x", "y"}) == command_digest("get", {"x", "y"}));
}

TEST_CASE("fingerprint: a timer delay belongs to the step of the event that set it",
          "[sim][fingerprint]") {
  auto steps = [](time_us delay) {
    record_plan p;
    p.entries = true;
    p.end = 100;
    trace_recorder rec(p);
    fingerprint fp;
    fp.attach(&rec);
    fp.extend(1000, event_kind::node_up, 3, 0, 0);
    fp.extend(2000, event_kind::command, 3, 1, 9);
    fp.timer_set(3, 1, delay, 77);
    fp.extend(3000, event_kind::node_up, 4, 0, 0);
    fp.finish(4000, 0);
    return rec.entries();
  };
  auto a = steps(5'000'000), b = steps(6'000'000);
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 4);
  CHECK(a[0].chain == b[0].chain);
  CHECK(a[1].chain != b[1].chain); // the command that set the timer
  CHECK(a[3].chain != b[3].chain);
  CHECK(steps(5'000'000)[3].chain == a[3].chain);
}

TEST_CASE("fingerprint: timers that never fire still count by their delay", "[sim][fingerprint]") {
  // Refresh timers of 20 or 30 minutes in a 1-minute run: the processed
  // events are the same, only the delays the nodes asked for differ.
  auto a = run_traced(idle_kad("20m"));
  auto b = run_traced(idle_kad("30m"));
  auto c = run_traced(idle_kad("20m"), engine::direct);
  REQUIRE(a.events == b.events);
  CHECK(a.fingerprint != b.fingerprint);
  CHECK(a.fingerprint == c.fingerprint);
  REQUIRE(a.steps.size() == b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    CHECK(a.steps[i].kind == b.steps[i].kind);
    CHECK(a.steps[i].time == b.steps[i].time);
  }
}

TEST_CASE("fingerprint: different command arguments give different fingerprints",
          "[sim][fingerprint]") {
  auto with_args = [](std::vector<std::string> args) {
    auto j = test::small_transfer(2, 3, false);
    // The downloader refuses an unknown verb the same way whatever the arguments.
    j["workload"].push_back({{"kind", "command"},
                             {"group", "leechers"},
                             {"at", "10s"},
                             {"role", "downloader"},
                             {"verb", "ping"},
                             {"args", args}});
    return run_traced(j);
  };
  auto a = with_args({"one"}), b = with_args({"two"}), a2 = with_args({"one"});
  REQUIRE(a.events == b.events);
  CHECK(a.fingerprint != b.fingerprint);
  CHECK(a.fingerprint == a2.fingerprint);
  // They part exactly at the first command.
  auto d = first_divergence(a.steps, b.steps);
  REQUIRE(d);
  REQUIRE(d->first);
  CHECK(d->first->kind == event_kind::command);
  CHECK(d->first->time == 10'000'000);
}

TEST_CASE("fingerprint: a longer run that only adds metric rows has another fingerprint",
          "[sim][fingerprint]") {
  // Downloads stop at 3 minutes; after that only metric sampling happens.
  auto j = test::small_transfer(2, 3, false);
  j["metrics"] = {{"interval", "1m"}};
  j["duration"] = "10m";
  auto shorter = run_traced(j);
  j["duration"] = "100m";
  auto longer = run_traced(j);
  CHECK(shorter.fingerprint != longer.fingerprint);
  // Every non-control step of the shorter run is in the longer one, in order,
  // and the longer one has nothing else but metric samples and its end.
  std::vector<trace_entry> a, b;
  for (auto* v : {&shorter.steps, &longer.steps})
    for (auto& e : *v)
      if (e.kind != event_kind::control || e.detail != 1) // 1: metric sample
        (v == &shorter.steps ? a : b).push_back(e);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i + 1 < a.size(); ++i) {
    CHECK(a[i].time == b[i].time);
    CHECK(a[i].kind == b[i].kind);
    CHECK(a[i].node == b[i].node);
  }
  CHECK(a.back().detail == end_of_run_detail);
  CHECK(b.back().detail == end_of_run_detail);
}

TEST_CASE("fingerprint: the last step digests the final state of every generator",
          "[sim][fingerprint]") {
  // Constant latency without jitter draws nothing; a loss rate of 1e-12 draws once per frame
  // and drops none. The processed events are the same, the network
  // generator's final state is not.
  auto with_loss = [](double loss) {
    auto j = test::small_transfer(2, 3, false);
    j["network"] = {{"latency", {{"model", "constant"}, {"value", "10ms"}, {"jitter", "0us"}}},
                    {"faults", {{"loss", loss}}}};
    return run_traced(j);
  };
  auto a = with_loss(0), b = with_loss(1e-12);
  REQUIRE(a.events == b.events);
  REQUIRE(a.steps.size() == b.steps.size());
  for (std::size_t i = 0; i + 1 < a.steps.size(); ++i)
    REQUIRE(a.steps[i].chain == b.steps[i].chain);
  CHECK(a.steps.back().detail == end_of_run_detail);
  CHECK(a.steps.back().chain != b.steps.back().chain);
  CHECK(a.fingerprint != b.fingerprint);
}
