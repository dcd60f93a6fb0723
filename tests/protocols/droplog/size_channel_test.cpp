// Size-dependent truncation in the channel harness, and the goodput table
// `peerlab droplog-table` prints (protocols/droplog/testing/).
#include "channel.hpp"

#include "protocols/common/link_rules.hpp"

#include <catch2/catch.hpp>
#include <cmath>

using namespace droplog_test;
namespace dt = peerlab::droplog::testing;

TEST_CASE("droplog size channel cuts a file of the reference size at the given rate",
          "[droplog][channel][size]") {
  const double ref = 3000;
  auto ch = dt::figure_channel("size", 0.5, ref);
  CHECK(ch.truncate == 0);
  CHECK(ch.bitrot_per_byte == 1e-4);
  CHECK(1 - std::exp(-ref / ch.truncate_scale) == Approx(0.5));
  // Larger files are cut more often: 4x the reference -> 1 - 0.5^4.
  CHECK(1 - std::exp(-4 * ref / ch.truncate_scale) == Approx(0.9375));
  CHECK(dt::figure_channel("size", 0, ref).truncate_scale == 0); // rate 0: off
  CHECK(dt::figure_channel("uniform", 0.1, ref).truncate == 0.1);
  CHECK_THROWS_WITH(dt::figure_channel("gaussian", 0.1, ref), "unknown channel \"gaussian\"");
  CHECK_THROWS_WITH(dt::design_config("turbo", side_a, side_b), "unknown design \"turbo\"");
  CHECK(dt::design_config("coded", side_a, side_b).erasure_coding);
  CHECK_FALSE(dt::design_config("adaptive", side_a, side_b).erasure_coding);
}

TEST_CASE("droplog size channel delivers every message exactly once and cuts large files more",
          "[droplog][channel][size]") {
  // Fixed 16 KiB packets against AIMD on a channel that cuts half the 4 KiB
  // files: the fixed design's large files are cut far more often.
  channel_params ch;
  ch.truncate_scale = peerlab::link::scale_for(0.5, 4096);
  ch.bitrot_per_byte = 1e-4;
  workload w;
  w.messages = 300;
  auto share_cut = [&](session_config a, session_config b) {
    channel_run run(a, b, ch, w, 9);
    REQUIRE(run.run(4 * 3600 * us_per_s));
    INFO(run.first_violation());
    REQUIRE(run.violations() == 0);
    REQUIRE(run.done());
    CHECK(run.files_truncated() > 0);
    return static_cast<double>(run.files_truncated()) / static_cast<double>(run.files());
  };
  auto fixed = share_cut(dt::design_config("fixed5s", side_a, side_b),
                         dt::design_config("fixed5s", side_b, side_a));
  auto adaptive = share_cut(dt::design_config("adaptive", side_a, side_b),
                            dt::design_config("adaptive", side_b, side_a));
  CHECK(fixed > adaptive);
}

TEST_CASE("droplog size channel without a scale draws nothing more than before",
          "[droplog][channel][size]") {
  // truncate_scale 0 must leave the uniform channel's runs as they were: the
  // same seed gives the same files with the field set to 0 explicitly.
  channel_params a;
  a.truncate = 0.3;
  a.bitrot_per_byte = 1e-4;
  channel_params b = a;
  b.truncate_scale = 0;
  workload w;
  w.messages = 50;
  channel_run ra(small_config(side_a, side_b), small_config(side_b, side_a), a, w, 4);
  channel_run rb(small_config(side_a, side_b), small_config(side_b, side_a), b, w, 4);
  REQUIRE(ra.run(3600 * us_per_s));
  REQUIRE(rb.run(3600 * us_per_s));
  CHECK(ra.file_sizes() == rb.file_sizes());
  CHECK(ra.now() == rb.now());
}

TEST_CASE("droplog figures table has every design, channel and rate, all delivered",
          "[droplog][figures-table]") {
  auto t = dt::run_figure_table(5, 20);
  CHECK(t.reference_bytes > 0);
  REQUIRE(t.rows.size() == 3 * 2 * 4);
  for (auto& r : t.rows) {
    INFO(r.design << " " << r.channel << " " << r.truncate << ": " << r.first_problem);
    CHECK(r.complete);
  }
  CHECK(t.complete());
  std::size_t i = 0;
  for (double rate : dt::figure_rates())
    for (const char* channel : {"uniform", "size"})
      for (const char* design : {"coded", "adaptive", "fixed5s"}) {
        auto& r = t.rows[i++];
        CHECK(r.design == design);
        CHECK(r.channel == channel);
        CHECK(r.truncate == rate);
        CHECK(r.files > 0);
        CHECK((rate > 0) == (r.truncated > 0));
      }
  // At rate 0 both channels are the same channel.
  CHECK(t.rows[0].files == t.rows[3].files);
  CHECK(t.rows[0].finish_s == t.rows[3].finish_s);
  auto md = dt::markdown(t);
  CHECK(md.rfind("| design | channel | truncate | goodput |", 0) == 0);
  CHECK(std::count(md.begin(), md.end(), '\n') == 2 + 24);
  CHECK(md.find("| coded | size | 0.75 | ") != std::string::npos);
}

TEST_CASE("droplog figures table replaces only the text between its markers",
          "[droplog][figures-table]") {
  const std::string doc = "intro\n<!-- begin -->\nold\nrows\n<!-- end -->\nafter\n";
  CHECK(dt::replace_between(doc, "<!-- begin -->", "<!-- end -->", "new\n") ==
        "intro\n<!-- begin -->\nnew\n<!-- end -->\nafter\n");
  CHECK_THROWS_WITH(dt::replace_between("x\n", "<!-- begin -->", "<!-- end -->", ""),
                    "no line \"<!-- begin -->\"");
  CHECK_THROWS_WITH(
    dt::replace_between("<!-- end -->\n<!-- begin -->\n", "<!-- begin -->", "<!-- end -->", ""),
    "no line \"<!-- end -->\" after \"<!-- begin -->\"");
}
