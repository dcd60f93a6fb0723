// The link fault rules (protocols/common/link_rules.hpp), one verdict at a
// time and chained: the same chain runs in the simulator and in net/mirror.
#include "protocols/common/link_rules.hpp"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>

using namespace peerlab;

namespace {

link::frame_info frame(std::size_t size, time_us now = 0, std::uint32_t from = 0,
                       std::uint32_t to = 1) {
  return {from, to, now, size};
}

} // namespace

TEST_CASE("a rule with rate 0 is not added and draws nothing", "[link]") {
  link::chain c;
  c.add(link::loss(0)).add(link::duplicate(0)).add(link::truncate(0)).add(link::corrupt(0));
  c.add(link::delay(0, 1000)).add(link::bit_rot(0));
  CHECK(c.empty());
  rng r(1), untouched(1);
  auto f = c.run(frame(100), r);
  CHECK(f.copies == 1);
  CHECK_FALSE(f.dropped);
  CHECK(f.copy[0].size == 100);
  CHECK(r.next() == untouched.next());
}

TEST_CASE("partition drops only its direction inside its window, without a draw", "[link]") {
  link::partition_rule p({{0, 1, 1000, 2000}});
  rng r(7), untouched(7);
  CHECK(p.judge(frame(10, 1000), r).what == link::verdict::kind::drop);
  CHECK(p.judge(frame(10, 1999), r).what == link::verdict::kind::drop);
  CHECK(p.judge(frame(10, 999), r).what == link::verdict::kind::pass);
  CHECK(p.judge(frame(10, 2000), r).what == link::verdict::kind::pass);
  CHECK(p.judge(frame(10, 1500, 1, 0), r).what == link::verdict::kind::pass); // other way
  CHECK(r.next() == untouched.next());
  link::chain c;
  c.add(std::make_unique<link::partition_rule>(std::vector<link::window>{{0, 1, 0, 10}}));
  c.add(link::duplicate(1));
  auto f = c.run(frame(10, 5), r);
  CHECK(f.dropped);
  CHECK(f.copies == 0);
  CHECK(f.dropped_by == link::rule_kind::partition);
}

TEST_CASE("loss drops, duplicate makes a second copy that later rules treat on its own", "[link]") {
  rng r(3);
  link::chain lossy;
  lossy.add(link::loss(1));
  auto lost = lossy.run(frame(10), r);
  CHECK(lost.copies == 0);
  CHECK(lost.dropped_by == link::rule_kind::loss);

  link::chain dup;
  dup.add(link::duplicate(1)).add(link::truncate(1)).add(link::delay(1, 500));
  int differ = 0;
  for (int i = 0; i < 50; ++i) {
    auto f = dup.run(frame(1000), r);
    REQUIRE(f.copies == 2);
    CHECK(f.duplicated);
    for (std::size_t c = 0; c < 2; ++c) {
      CHECK(f.copy[c].truncated);
      CHECK(f.copy[c].size < 1000);
      CHECK(f.copy[c].delayed);
      CHECK(f.copy[c].delay >= 0);
      CHECK(f.copy[c].delay <= 500);
    }
    differ += f.copy[0].size != f.copy[1].size;
  }
  CHECK(differ > 40); // independent draws per copy

  link::chain twice; // at most one duplicate per frame
  twice.add(link::duplicate(1)).add(link::duplicate(1));
  CHECK(twice.run(frame(10), r).copies == link::bounds::copies_max);
}

TEST_CASE("truncate cuts inside the frame, corrupt flips one bit inside what is left", "[link]") {
  rng r(11);
  link::chain c;
  c.add(link::truncate(1)).add(link::corrupt(1));
  for (int i = 0; i < 200; ++i) {
    auto f = c.run(frame(64), r);
    REQUIRE(f.copies == 1);
    auto& cp = f.copy[0];
    CHECK(cp.size < 64);
    bytes data(64, 0);
    link::apply(cp, data);
    CHECK(data.size() == cp.size);
    int ones = 0;
    for (auto b : data)
      ones += std::popcount(b);
    CHECK(ones == (cp.size == 0 ? 0 : 1)); // nothing to flip in an empty frame
  }
  // An empty frame passes both without a draw.
  rng a(5), untouched(5);
  auto f = c.run(frame(0), a);
  CHECK_FALSE(f.copy[0].truncated);
  CHECK(f.copy[0].bits.empty());
  CHECK(a.next() == untouched.next());
}

TEST_CASE("bit rot flips about p per byte and at most its bound", "[link]") {
  rng r(13);
  link::chain c;
  c.add(link::bit_rot(0.01));
  auto f = c.run(frame(100000), r);
  CHECK(f.copy[0].bits.size() > 800);
  CHECK(f.copy[0].bits.size() < 1200);
  for (auto b : f.copy[0].bits)
    CHECK(b / 8 < 100000);
  link::chain all;
  all.add(link::bit_rot(1));
  CHECK(all.run(frame(100000), r).copy[0].bits.size() == link::bounds::flips_per_frame_max);
}

TEST_CASE("truncation by size cuts large frames more often, at 1 - exp(-size / scale)", "[link]") {
  const std::uint64_t scale = 4096;
  link::chain c;
  c.add(link::truncate_by_size(scale));
  auto share_cut = [&](std::size_t size) {
    rng r(21);
    int cut = 0;
    for (int i = 0; i < 20000; ++i) {
      auto f = c.run(frame(size), r);
      if (f.copy[0].truncated) {
        ++cut;
        CHECK(f.copy[0].size < size);
      }
    }
    return cut / 20000.0;
  };
  for (std::size_t size : {256, 4096, 16384}) {
    INFO("size " << size);
    CHECK(share_cut(size) ==
          Approx(1 - std::exp(-static_cast<double>(size) / scale)).margin(0.015));
  }
  // scale_for matches the uniform rule at a size: half of the 4 KiB frames.
  CHECK(1 - std::exp(-4096 / link::scale_for(0.5, 4096)) == Approx(0.5));
  CHECK(link::truncate_by_size(0) == nullptr);
  // A cut frame keeps an exponential prefix: short prefixes are the most common.
  rng r(3);
  std::size_t below_quarter = 0, cuts = 0;
  for (int i = 0; i < 5000; ++i) {
    auto at = link::size_cut(1 << 20, scale, r);
    REQUIRE(at <= (1u << 20));
    cuts += at < (1u << 20);
    below_quarter += at < scale / 4;
  }
  CHECK(cuts == 5000); // 1 MiB against a 4 KiB scale: always cut
  CHECK(below_quarter / 5000.0 == Approx(1 - std::exp(-0.25)).margin(0.03));
  // An empty frame passes without a draw.
  rng a(5), untouched(5);
  CHECK_FALSE(c.run(frame(0), a).copy[0].truncated);
  CHECK(a.next() == untouched.next());
}

TEST_CASE("the same generator state gives the same fate", "[link]") {
  link::chain c;
  c.add(link::loss(0.3)).add(link::duplicate(0.3)).add(link::truncate(0.3));
  c.add(link::corrupt(0.3)).add(link::delay(0.3, 1000));
  rng a(99), b(99);
  for (int i = 0; i < 500; ++i) {
    auto x = c.run(frame(200), a), y = c.run(frame(200), b);
    REQUIRE(x.copies == y.copies);
    for (std::size_t k = 0; k < x.copies; ++k) {
      CHECK(x.copy[k].size == y.copy[k].size);
      CHECK(x.copy[k].bits == y.copy[k].bits);
      CHECK(x.copy[k].delay == y.copy[k].delay);
    }
  }
}
