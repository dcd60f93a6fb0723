// range_set: the downloader's record of which bytes arrived.
#include "protocols/filexfer/range_set.hpp"

#include <catch2/catch.hpp>

#include "protocols/common/rng.hpp"

#include <vector>

using peerlab::filexfer::range_set;
using range = range_set::range;

TEST_CASE("filexfer range_set merges overlapping and touching ranges") {
  range_set s;
  CHECK(s.add(10, 20) == 10);
  CHECK(s.add(30, 40) == 10);
  CHECK(s.pieces() == 2);
  CHECK(s.add(15, 25) == 5); // overlaps the first
  CHECK(s.add(25, 30) == 5); // touches both: one piece
  CHECK(s.pieces() == 1);
  CHECK(s.total() == 30);
  CHECK(s.add(12, 38) == 0); // already there
  CHECK(s.add(5, 5) == 0);   // empty
  CHECK(s.add(0, 50) == 20);
  CHECK(s.pieces() == 1);
  CHECK(s.total() == 50);
}

TEST_CASE("filexfer range_set answers gap queries") {
  range_set s;
  s.add(10, 20);
  s.add(30, 40);
  CHECK(s.missing(0, 50) == std::vector<range>{{0, 10}, {20, 30}, {40, 50}});
  CHECK(s.missing(12, 35) == std::vector<range>{{20, 30}});
  CHECK(s.missing(10, 20).empty());
  CHECK(s.covers(10, 20));
  CHECK(s.covers(5, 5));
  CHECK_FALSE(s.covers(10, 21));
  CHECK_FALSE(s.covers(9, 12));
  CHECK(s.end_of_run(15) == 20);
  CHECK(s.end_of_run(20) == 20);
  CHECK(s.end_of_run(0) == 0);
  CHECK(s.first_gap_from(10) == 20);
  CHECK(s.first_gap_from(25) == 25);
  CHECK(s.next_start_after(20) == 30);
  CHECK(s.next_start_after(10) == 30);
  CHECK(s.next_start_after(30) == UINT64_MAX);
  s.clear();
  CHECK(s.total() == 0);
  CHECK(s.missing(0, 5) == std::vector<range>{{0, 5}});
}

TEST_CASE("filexfer range_set agrees with a bitmap on random inserts") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    peerlab::rng r(seed);
    range_set s;
    std::vector<bool> bits(300, false);
    for (int i = 0; i < 40; ++i) {
      std::uint64_t b = r.below(300), e = b + r.below(30);
      if (e > 300)
        e = 300;
      std::uint64_t expect = 0;
      for (auto x = b; x < e; ++x)
        if (!bits[x]) {
          bits[x] = true;
          ++expect;
        }
      REQUIRE(s.add(b, e) == expect);
    }
    std::vector<range> gaps;
    for (std::uint64_t x = 0; x < 300;) {
      if (bits[x]) {
        ++x;
        continue;
      }
      std::uint64_t y = x;
      while (y < 300 && !bits[y])
        ++y;
      gaps.emplace_back(x, y);
      x = y;
    }
    REQUIRE(s.missing(0, 300) == gaps);
    for (int i = 0; i < 40; ++i) {
      std::uint64_t b = r.below(300), e = b + r.below(300 - b + 1);
      std::uint64_t expect = b; // one past the last byte of [b, e) not in the set
      for (auto x = b; x < e; ++x)
        if (!bits[x])
          expect = x + 1;
      REQUIRE(s.missing_end(b, e) == expect);
    }
  }
}
