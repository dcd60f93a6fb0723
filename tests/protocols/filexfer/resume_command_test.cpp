// What a restarted downloader does with commands and refusals: a download
// resumed at start belongs to no command until one for the same hash
// attaches to it, and retry rounds skip providers that refused outright
// while they keep trying providers that were only unreachable.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "download_world.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace peerlab;
using namespace peerlab::filexfer;
using fxtest::client;
using fxtest::world;

namespace {

downloader_config retrying_config() {
  auto c = fxtest::small_config();
  c.retry_initial = 100 * us_per_ms;
  c.retry_max = 400 * us_per_ms;
  c.retry_deadline = 5 * us_per_s;
  return c;
}

// Counts the META_REQs the client sends to each peer from now on.
std::shared_ptr<std::map<peer_id, int>> count_meta_reqs(world& w) {
  auto counts = std::make_shared<std::map<peer_id, int>>();
  w.loop.tamper = [counts](peer_id from, peer_id to, bytes& f) {
    auto d = decode(f);
    if (d.ok() && from == client && std::holds_alternative<meta_req>(d.msg))
      ++(*counts)[to];
    return true;
  };
  return counts;
}

// The memory store keeps the crashed incarnation's sink (it cannot resume
// it), so only the committed copy is checked.
void require_committed(world& w) {
  REQUIRE(w.store().committed.count(w.hash) == 1);
  CHECK(w.store().committed.at(w.hash) == w.file);
}

} // namespace

TEST_CASE("filexfer a resumed download is taken over by a download command for its hash") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest}, 3 << 20, cfg);
  w.loop.command(client, text_command_of(1, "download", w.args()));
  w.loop.run_for(5 * us_per_ms); // part of the file arrived
  REQUIRE(w.loop.events_of("download_done").empty());

  w.loop.restart(client, {make_downloader(cfg)});
  auto resumed = w.loop.events_of("download_resumed");
  REQUIRE(resumed.size() == 1);
  CHECK(resumed[0].e.command_id == 0); // no command of this incarnation asked for it

  w.loop.command(client, text_command_of(7, "download", w.args()));
  auto started = w.loop.events_of("download_started");
  REQUIRE(started.size() == 2);
  CHECK(started[1].e.command_id == 7);
  CHECK(started[1].e.value("resumed") == 1);
  CHECK(w.loop.events_of("download_failed").empty());
  CHECK(w.client_role().active_downloads() == 1);

  // A second command while the first one owns it is refused as before.
  w.loop.command(client, text_command_of(8, "download", w.args()));
  auto failed = w.loop.events_of("download_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].e.command_id == 8);
  CHECK(*failed[0].e.field("reason") == "this file is already being downloaded");

  w.loop.run_until(fxtest::run_limit);
  auto done = w.loop.events_of("download_done");
  REQUIRE(done.size() == 1);
  CHECK(done[0].e.command_id == 7);
  CHECK(w.counter("filexfer.downloads_attached") == 1);
  require_committed(w);
}

TEST_CASE("filexfer a command attaching to a resumed download adds its providers") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest, provider_strategy::honest}, 3 << 20, cfg);
  // The first command names provider 10 only; it goes down for good.
  w.loop.command(client, text_command_of(1, "download", {to_hex(w.hash), "10"}));
  w.loop.run_for(5 * us_per_ms);
  w.loop.crash(10);
  w.loop.restart(client, {make_downloader(cfg)});
  w.loop.run_for(2 * us_per_s); // retry rounds on 10 alone
  REQUIRE(!w.loop.events_of("download_waiting").empty());
  CHECK(w.loop.events_of("download_waiting").back().e.command_id == 0);

  w.loop.command(client, text_command_of(9, "download", {to_hex(w.hash), "11"}));
  w.loop.run_until(fxtest::run_limit);
  auto done = w.loop.events_of("download_done");
  REQUIRE(done.size() == 1);
  CHECK(done[0].e.command_id == 9);
  CHECK(*done[0].e.field("provider") == "11");
  require_committed(w);
}

TEST_CASE("filexfer retry rounds skip a provider that refused and keep one that was unreachable") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest, provider_strategy::honest}, 200000, cfg);
  w.loop.at(10).content.files.clear(); // answers META_ERR not_provider
  w.loop.crash(11);                    // frames to it are lost
  auto metas = count_meta_reqs(w);
  w.loop.command(client, text_command_of(1, "download", w.args()));
  w.loop.run_until(fxtest::run_limit);
  auto failed = w.loop.events_of("download_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].e.field("reason")->find("retry rounds") != std::string::npos);
  auto rounds = w.counter("filexfer.retry_rounds");
  REQUIRE(rounds >= 3);
  CHECK((*metas)[10] == 1); // asked once: it said it does not have the file
  // Asked in the first round and again in every retry round.
  CHECK((*metas)[11] == static_cast<int>(cfg.attempts_per_provider * (rounds + 1)));
}

TEST_CASE("filexfer a download every provider refused fails at once instead of waiting") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest, provider_strategy::honest}, 200000, cfg);
  w.loop.at(10).content.files.clear();
  w.loop.at(11).content.files.clear();
  auto metas = count_meta_reqs(w);
  w.loop.command(client, text_command_of(3, "download", w.args()));
  w.loop.run_until(fxtest::run_limit);
  auto failed = w.loop.events_of("download_failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].e.command_id == 3);
  CHECK(failed[0].e.field("reason")->rfind("every provider refused; last: provider 11: META_ERR",
                                           0) == 0);
  CHECK(w.loop.events_of("download_waiting").empty());
  CHECK(failed[0].e.value("duration_us") < 10 * us_per_ms);
  CHECK((*metas)[10] == 1);
  CHECK((*metas)[11] == 1);
}

TEST_CASE("filexfer a provider asking more than max_price is not asked again in retry rounds") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest, provider_strategy::honest}, 200000, cfg); // price 500 each
  w.loop.crash(11);
  auto args = w.args();
  args.push_back("max_price=100");
  auto metas = count_meta_reqs(w);
  w.loop.command(client, text_command_of(4, "download", args));
  w.loop.run_until(fxtest::run_limit);
  REQUIRE(w.loop.events_of("download_failed").size() == 1);
  CHECK(w.counter("filexfer.retry_rounds") >= 3);
  CHECK((*metas)[10] == 1);
}

TEST_CASE("filexfer a download of a file the node already downloaded buys nothing again") {
  auto cfg = retrying_config();
  world w({provider_strategy::honest}, 3 << 20, cfg);
  w.download(1);
  REQUIRE(w.loop.events_of("download_done").size() == 1);
  auto metas = count_meta_reqs(w);
  w.loop.command(client, text_command_of(2, "download", w.args()));
  w.loop.run_for(fxtest::run_limit);
  auto done = w.loop.events_of("download_done");
  REQUIRE(done.size() == 2);
  CHECK(done[1].e.command_id == 2);
  CHECK(done[1].e.value("already_had") == 1);
  CHECK(done[1].e.value("bytes") == 3 << 20);
  CHECK(*done[1].e.field("provider") == "10");
  CHECK(*done[1].e.field("payment_ref") == *done[0].e.field("payment_ref"));
  CHECK(metas->empty()); // the provider was not asked
  CHECK(w.counter("filexfer.downloads_started") == 1);

  // Without the file (deleted), it is downloaded again.
  w.store().files.erase(w.hash);
  w.loop.command(client, text_command_of(3, "download", w.args()));
  w.loop.run_for(fxtest::run_limit);
  done = w.loop.events_of("download_done");
  REQUIRE(done.size() == 3);
  CHECK(done[2].e.value("already_had") == 0);
  CHECK((*metas)[10] == 1);
}
