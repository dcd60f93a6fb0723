#include "sim_helpers.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;

TEST_CASE("same scenario and seed give the same fingerprint in two runs", "[sim][determinism]") {
  auto a = test::run(test::small_transfer());
  auto b = test::run(test::small_transfer());
  REQUIRE(a.events > 500);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.events == b.events);
  CHECK(a.downloads.completed == b.downloads.completed);
}

TEST_CASE("a different seed gives a different fingerprint", "[sim][determinism]") {
  auto a = test::run(test::small_transfer(), sim::engine::actors, 1);
  auto b = test::run(test::small_transfer(), sim::engine::actors, 2);
  CHECK(a.fingerprint != b.fingerprint);
}

TEST_CASE("the actor engine and the direct engine agree event for event", "[sim][determinism]") {
  auto a = test::run(test::small_transfer(), sim::engine::actors);
  auto b = test::run(test::small_transfer(), sim::engine::direct);
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.events == b.events);
}

TEST_CASE("the seed in the file is the default and --seed overrides it", "[sim][determinism]") {
  auto j = test::small_transfer();
  j["seed"] = 77;
  auto from_file = test::run(j);
  auto overridden = test::run(test::small_transfer(), sim::engine::actors, 77);
  CHECK(from_file.fingerprint == overridden.fingerprint);
}

TEST_CASE("the trace records every chain step for divergence reports", "[sim][determinism]") {
  sim::record_plan p;
  p.entries = true;
  p.end = 200'000;
  sim::trace_recorder rec(p);
  sim::sim_options o;
  o.recorder = &rec;
  sim::simulator s(test::parse(test::small_transfer()), o);
  s.run();
  auto& t = rec.entries();
  REQUIRE(t.size() == s.chain().events());
  CHECK(t.back().chain == s.chain().value());
  for (std::size_t i = 1; i < t.size(); ++i)
    REQUIRE(t[i].time >= t[i - 1].time); // virtual time never goes back
}

TEST_CASE("a run stops once its recorder has the steps it asked for", "[sim][determinism]") {
  auto full = test::run(test::small_transfer());
  sim::record_plan p;
  p.entries = true;
  p.begin = 100;
  p.end = 150;
  sim::trace_recorder rec(p);
  sim::sim_options o;
  o.recorder = &rec;
  sim::simulator s(test::parse(test::small_transfer()), o);
  s.run();
  CHECK(rec.done());
  CHECK(rec.entries().size() == 50);
  CHECK(s.stats().events < full.events / 2);
  CHECK(s.chain().hex() != full.fingerprint);
}
