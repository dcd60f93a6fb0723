// Metadata lookups in the downloader: one lookup_answer per peer asked (found,
// refused, or "no answer" at the deadline), then lookup_done; lookups and
// downloads side by side do not take each other's replies or timers.
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "download_world.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::filexfer;
using fxtest::client;
using fxtest::run_limit;
using fxtest::world;

namespace {

std::map<std::string, event> answers_by_peer(world& w) {
  std::map<std::string, event> out;
  for (auto& a : w.loop.events_of("lookup_answer"))
    out[*a.e.field("peer")] = a.e;
  return out;
}

void lookup(world& w, std::uint64_t id, std::vector<std::string> peers) {
  std::vector<std::string> args{to_hex(w.hash)};
  args.insert(args.end(), peers.begin(), peers.end());
  w.loop.command(client, text_command_of(id, "lookup", args));
}

} // namespace

TEST_CASE("filexfer lookup reports each peer's metadata, refusal or silence, then lookup_done") {
  world w({provider_strategy::honest, provider_strategy::honest});
  w.loop.at(11).content.files.clear(); // peer 11 does not have the file
  // Nobody runs peer 99; a peer named twice is asked once.
  lookup(w, 5, {"10", "11", "99", "10"});
  w.loop.run_until(run_limit);
  auto answers = answers_by_peer(w);
  REQUIRE(answers.size() == 3);
  CHECK(answers["10"].command_id == 5);
  CHECK(*answers["10"].field("name") == "data.bin");
  CHECK(answers["10"].value("size") == w.file.size());
  CHECK(answers["10"].value("price") == 500);
  CHECK(answers["10"].field("error") == nullptr);
  REQUIRE(answers["11"].field("error") != nullptr);
  CHECK(answers["11"].field("name") == nullptr);
  REQUIRE(answers["99"].field("error") != nullptr);
  CHECK(*answers["99"].field("error") == "no answer"); // the deadline answers for it
  auto done = w.loop.events_of("lookup_done");
  REQUIRE(done.size() == 1);
  CHECK(done[0].e.command_id == 5);
  CHECK(done[0].e.value("asked") == 3);
  CHECK(done[0].e.value("answered") == 2);
  CHECK(done[0].e.value("found") == 1);
  CHECK(w.loop.events_of("download_started").empty()); // nothing downloaded
  auto& d = w.client_role();
  CHECK(d.running_lookups() == 0);
}

TEST_CASE("filexfer lookup of no other peer ends at once, and lookups are bounded") {
  auto cfg = fxtest::small_config();
  cfg.max_lookups = 1;
  world w({provider_strategy::honest}, 1000, cfg);
  lookup(w, 1, {std::to_string(client)}); // only itself: nobody to ask
  w.loop.run_until(run_limit);
  REQUIRE(w.loop.events_of("lookup_done").size() == 1);
  CHECK(w.loop.events_of("lookup_done")[0].e.value("asked") == 0);
  lookup(w, 2, {"99"}); // nobody answers: it runs until its deadline
  lookup(w, 3, {"10"});
  w.loop.run_for(run_limit);
  auto refused = w.loop.events_of("command_failed");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].e.command_id == 3);
  CHECK(refused[0].e.field("reason")->find("too many lookups") != std::string::npos);
  CHECK(w.loop.events_of("lookup_done").size() == 2);
}

TEST_CASE("filexfer lookup and download side by side keep their own replies and timers") {
  world w({provider_strategy::honest, provider_strategy::silent}); // 11 answers metadata only
  lookup(w, 7, {"10", "11", "99"});
  w.download(8); // runs the loop until both are over
  CHECK(w.outcome().kind == "download_done");
  w.require_verified_copy();
  auto done = w.loop.events_of("lookup_done");
  REQUIRE(done.size() == 1);
  CHECK(done[0].e.command_id == 7);
  CHECK(done[0].e.value("found") == 2);
  CHECK(done[0].e.value("answered") == 2);
  CHECK(w.counter("frames_rejected") == 0);
  // No lookup reply reached the download: it saw the stale frames (late
  // chunks of finished windows) a download alone sees.
  world alone({provider_strategy::honest, provider_strategy::silent});
  alone.download(8);
  CHECK(w.counter("filexfer.stale_frames") == alone.counter("filexfer.stale_frames"));
}
