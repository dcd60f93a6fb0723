#include "sim/trace_diff.hpp"

#include "sim_helpers.hpp"
#include "protocols/filexfer/filexfer.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::sim;

namespace {

// Feeds one delivery per payload byte into `fp`, then ends the run.
void feed(fingerprint& fp, const std::vector<std::uint64_t>& payload_bytes) {
  time_us t = 0;
  for (auto b : payload_bytes) {
    bytes frame{ports::file_provider, static_cast<std::uint8_t>(b)};
    fp.extend_frame(t += 1000, event_kind::deliver, 3, ports::file_provider, 9, frame);
  }
  fp.finish(t + 1000, 0);
}

std::vector<trace_entry> chain_of(const std::vector<std::uint64_t>& payload_bytes) {
  record_plan p;
  p.entries = true;
  p.end = 10'000;
  trace_recorder rec(p);
  fingerprint fp;
  fp.attach(&rec);
  feed(fp, payload_bytes);
  return rec.entries();
}

// A synthetic run of `n` deliveries where the message byte of event `change`
// (if below n) is 0xee instead of its usual value. Counts how often it ran.
traced_run synthetic(std::uint64_t n, std::uint64_t change, int* runs) {
  return [=](trace_recorder& rec) {
    ++*runs;
    fingerprint fp;
    fp.attach(&rec);
    time_us t = 0;
    for (std::uint64_t i = 0; i < n && !fp.recorder_done(); ++i) {
      bytes frame{ports::file_provider, static_cast<std::uint8_t>(i == change ? 0xee : i % 200)};
      fp.extend_frame(t += 1000, event_kind::deliver, i % 7, ports::file_provider, 9, frame);
    }
    fp.finish(t + 1000, 0);
    return traced_result{fp.value(), fp.events()};
  };
}

} // namespace

TEST_CASE("identical traces have no divergence", "[sim][check]") {
  CHECK_FALSE(first_divergence(chain_of({1, 2, 3}), chain_of({1, 2, 3})).has_value());
}

TEST_CASE("the first differing event is located with its time, node and message", "[sim][check]") {
  auto d = first_divergence(chain_of({1, 2, 3, 4}), chain_of({1, 2, 7, 4}));
  REQUIRE(d);
  CHECK(d->index == 2);
  REQUIRE(d->first);
  REQUIRE(d->second);
  CHECK(d->first->time == 3000);
  CHECK(d->first->node == 3);
  CHECK(d->first->msg == 3);
  CHECK(d->second->msg == 7);
  CHECK(d->first->kind == event_kind::deliver);
}

TEST_CASE("a trace that stops early diverges where it ends", "[sim][check]") {
  auto a = chain_of({1, 2});
  auto b = chain_of({1, 2, 3});
  a.pop_back(); // without their end-of-run steps
  b.pop_back();
  auto d = first_divergence(a, b);
  REQUIRE(d);
  CHECK(d->index == 2);
  CHECK_FALSE(d->first);
  REQUIRE(d->second);
  CHECK(d->second->msg == 3);
}

TEST_CASE("a change in one event changes every later chain value", "[sim][check]") {
  auto a = chain_of({1, 2, 3, 4, 5});
  auto b = chain_of({9, 2, 3, 4, 5});
  for (std::size_t i = 0; i < a.size(); ++i)
    CHECK(a[i].chain != b[i].chain);
}

TEST_CASE("checkpoints stay within their bound on a long run", "[sim][check]") {
  record_plan p;
  p.interval = 4;
  p.max_checkpoints = 16;
  trace_recorder rec(p);
  fingerprint fp;
  fp.attach(&rec);
  std::vector<std::uint64_t> chain_after; // the chain after events [0, i)
  chain_after.push_back(fp.value());
  for (std::uint64_t i = 0; i < 100'000; ++i) {
    fp.extend(static_cast<time_us>(i), event_kind::timer, i % 5, 1, i);
    chain_after.push_back(fp.value());
  }
  fp.finish(100'000, 0);
  CHECK(rec.checkpoints().size() <= 16);
  CHECK(rec.checkpoints().size() >= 8); // thinned to half, never emptied
  CHECK(rec.entries().empty());
  CHECK(rec.interval() == 8192); // 4 doubled until 16 of them span 100,000 events
  for (auto& c : rec.checkpoints()) {
    CHECK(c.index % rec.interval() == 0);
    CHECK(c.chain == chain_after[c.index]);
  }
  CHECK_FALSE(rec.done());
}

TEST_CASE("a recorder refuses an unbounded step range", "[sim][check]") {
  record_plan p;
  p.entries = true; // end defaults to no end
  CHECK_THROWS_WITH(trace_recorder(p), Catch::Contains("at most"));
  p.end = 0;
  CHECK_THROWS_WITH(trace_recorder(p), Catch::Contains("empty range"));
}

TEST_CASE("compare_runs finds the exact first differing event in bounded memory", "[sim][check]") {
  check_limits lim;
  lim.interval = 4;
  lim.max_checkpoints = 8;
  lim.max_window = 16;
  for (std::uint64_t change : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{15},
                               std::uint64_t{16}, std::uint64_t{1234}, std::uint64_t{49'999}}) {
    INFO("event " << change);
    int runs_a = 0, runs_b = 0;
    auto rep =
      compare_runs(synthetic(50'000, 50'001, &runs_a), synthetic(50'000, change, &runs_b), lim);
    CHECK_FALSE(rep.identical);
    REQUIRE(rep.diff);
    CHECK(rep.diff->index == change);
    REQUIRE(rep.diff->first);
    REQUIRE(rep.diff->second);
    CHECK(rep.diff->first->msg == change % 200);
    CHECK(rep.diff->second->msg == 0xee);
    CHECK(rep.diff->first->time == static_cast<time_us>(change + 1) * 1000);
    // The memory bound: never more than max_checkpoints or max_window per recorder.
    CHECK(rep.peak_checkpoints <= lim.max_checkpoints);
    CHECK(rep.peak_entries <= lim.max_window);
    CHECK(rep.peak_entries > 0);
    CHECK(rep.passes >= 3); // 50,000 events, 16 kept at most: narrowed in passes
    CHECK(runs_a == static_cast<int>(rep.passes));
    CHECK(runs_b == static_cast<int>(rep.passes));
  }
}

TEST_CASE("compare_runs: identical runs need one pass, a shorter run differs where it ends",
          "[sim][check]") {
  check_limits lim;
  lim.interval = 4;
  lim.max_checkpoints = 8;
  lim.max_window = 16;
  int ra = 0, rb = 0;
  auto same = compare_runs(synthetic(5000, 9999, &ra), synthetic(5000, 9999, &rb), lim);
  CHECK(same.identical);
  CHECK(same.passes == 1);
  CHECK_FALSE(same.diff);

  // 3000 deliveries against 5000: identical up to 3000, where run 1 ends
  // (its end-of-run step) while run 2 delivers.
  auto rep = compare_runs(synthetic(3000, 9999, &ra), synthetic(5000, 9999, &rb), lim);
  REQUIRE(rep.diff);
  CHECK(rep.diff->index == 3000);
  REQUIRE(rep.diff->first);
  CHECK(rep.diff->first->detail == end_of_run_detail);
  REQUIRE(rep.diff->second);
  CHECK(rep.diff->second->kind == event_kind::deliver);
  CHECK(rep.peak_entries <= lim.max_window);
}

TEST_CASE("compare_runs on the simulator reports the event a full trace reports", "[sim][check]") {
  // Two scenarios that part at a command 2 minutes in.
  auto variant = [](const std::string& arg) {
    auto j = test::small_transfer(2, 4, false);
    j["workload"].push_back({{"kind", "command"},
                             {"group", "leechers"},
                             {"at", "2m"},
                             {"role", "downloader"},
                             {"verb", "ping"},
                             {"args", {arg}}});
    return test::parse(j);
  };
  auto sa = variant("a"), sb = variant("b");
  auto side = [](const scenario& s, engine eng) -> traced_run {
    return [&s, eng](trace_recorder& rec) {
      sim_options o;
      o.eng = eng;
      o.recorder = &rec;
      simulator sim(s, o);
      sim.run();
      return traced_result{sim.chain().value(), sim.chain().events()};
    };
  };
  // The whole traces, as the old check kept them.
  auto whole = [](const traced_run& r) {
    record_plan p;
    p.entries = true;
    p.end = 1'000'000;
    trace_recorder rec(p);
    r(rec);
    return rec.entries();
  };
  auto expected =
    first_divergence(whole(side(sa, engine::actors)), whole(side(sb, engine::direct)));
  REQUIRE(expected);
  REQUIRE(expected->first);
  CHECK(expected->first->kind == event_kind::command);
  CHECK(expected->first->time == 120'000'000);

  check_limits lim;
  lim.interval = 16;
  lim.max_checkpoints = 8;
  lim.max_window = 32;
  auto rep = compare_runs(side(sa, engine::actors), side(sb, engine::direct), lim);
  REQUIRE(rep.diff);
  CHECK(rep.diff->index == expected->index);
  REQUIRE(rep.diff->first);
  REQUIRE(rep.diff->second);
  CHECK(rep.diff->first->chain == expected->first->chain);
  CHECK(rep.diff->second->chain == expected->second->chain);
  CHECK(rep.diff->first->node == expected->first->node);
  CHECK(rep.peak_entries <= lim.max_window);
  CHECK(rep.peak_checkpoints <= lim.max_checkpoints);

  auto same = compare_runs(side(sa, engine::actors), side(sa, engine::direct), lim);
  CHECK(same.identical);
}
