// One gossip role driven by hand: commands, dedup, validation and scoring,
// fanout, IHAVE/IWANT, GRAFT/PRUNE backoff, caches, restart.
#include "single_role.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::gossip;
using gossip_test::single_role;

namespace {

bytes data_of(std::uint8_t k, std::size_t n = 32) { return bytes(n, k); }

bool contains(const std::vector<peer_id>& v, peer_id p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

/// A role subscribed to "t" with peers 2..1+n subscribed too.
single_role with_peers(std::size_t n, config cfg = {}) {
  single_role r(std::move(cfg));
  for (peer_id p = 2; p < 2 + n; ++p)
    r.add_peer(p, {"t"});
  r.command("subscribe", {"t"});
  return r;
}

} // namespace

TEST_CASE("gossip message ids are the first 20 bytes of SHA-256 over topic length, topic, data",
          "[gossip][role]") {
  bytes in{0x03, 0x00, 'a', 'b', 'c', 'x', 'y'};
  auto d = sha256::of(in);
  auto id = message_id("abc", bytes{'x', 'y'});
  CHECK(std::equal(id.begin(), id.end(), d.begin()));
  CHECK(message_id("abd", bytes{'x', 'y'}) != id);
  CHECK(message_id("abc", bytes{'x', 'z'}) != id);
}

TEST_CASE("gossip config check names what is wrong", "[gossip][role]") {
  config c;
  c.d_lo = 7;
  CHECK(c.check() == "need d_lo <= d <= d_hi");
  CHECK_THROWS_WITH(gossip_role(c), "gossip config: need d_lo <= d <= d_hi");
  c = {};
  c.max_message_bytes = (1u << 20) + 1;
  CHECK(c.check() == "max_message_bytes must be between 1 B and 1 MiB");
  c = {};
  c.topics = {"has space"};
  CHECK(c.check().find("is not 1..256 printable ASCII") != std::string::npos);
  c = {};
  c.score.graylist_threshold = -5;
  CHECK(c.check() == "score thresholds must satisfy graylist < publish <= gossip <= 0");
  CHECK(config{}.check().empty());
}

TEST_CASE("gossip commands report errors with the reason", "[gossip][role]") {
  single_role r;
  auto reason = [&](std::string verb, std::vector<std::string> args) -> std::string {
    r.command(std::move(verb), std::move(args));
    auto* e = r.find_event("command_failed");
    REQUIRE(e);
    CHECK(e->command_id == 7);
    return *e->field("reason");
  };
  CHECK(reason("connect", {}) == "connect needs at least one peer id");
  CHECK(reason("connect", {"12x"}) == "\"12x\" is not a decimal peer id");
  CHECK(reason("connect", {"1"}) == "cannot connect to self");
  CHECK(reason("subscribe", {"a b"}) ==
        "topic must be 1..256 printable ASCII characters without spaces");
  CHECK(reason("subscribe", {}) == "subscribe needs exactly one topic");
  CHECK(reason("publish", {"t"}) == "publish needs a topic and a hex payload");
  CHECK(reason("publish", {"t", "abc"}) == "payload is not an even number of hex digits");
  CHECK(reason("publish", {"t", "zz"}) == "payload is not an even number of hex digits");
  CHECK(reason("launch", {}) ==
        "gossip knows the verbs connect, disconnect, subscribe, unsubscribe, publish");

  config small;
  small.max_message_bytes = 4;
  single_role s(small);
  s.command("publish", {"t", "0102030405"});
  REQUIRE(s.find_event("command_failed"));
  CHECK(*s.find_event("command_failed")->field("reason") ==
        "message of 5 bytes exceeds max_message_bytes (4)");

  r.command("connect", {"2", "3"});
  CHECK(r.find_event("command_done"));
  CHECK(r.role->peers() == std::vector<peer_id>{2, 3});
  CHECK(r.sent_of<subscriptions_msg>().size() == 2); // hello to each
}

TEST_CASE("gossip an unknown peer's first frame connects it and gets our subscriptions",
          "[gossip][role]") {
  single_role r;
  r.command("subscribe", {"t"});
  r.add_peer(9, {"t", "u"});
  CHECK(r.role->peers() == std::vector<peer_id>{9});
  CHECK(r.role->peer_subscribed(9, "u"));
  auto hello = r.sent_of<subscriptions_msg>();
  REQUIRE(hello.size() == 1);
  CHECK(hello[0].first == 9);
  CHECK(hello[0].second.subs == std::vector<subscription>{{true, "t"}});
  // Unsubscribing takes the peer out of the mesh at once.
  r.heartbeat_at(1 * us_per_s);
  CHECK(contains(r.role->mesh("t"), 9));
  r.frame(9, subscriptions_msg{{{false, "t"}}});
  CHECK(r.role->mesh("t").empty());
  CHECK_FALSE(r.role->peer_subscribed(9, "t"));
}

TEST_CASE("gossip subscribing grafts D peers and delivers, forwards and dedups messages",
          "[gossip][role]") {
  auto r = with_peers(10);
  CHECK(r.sent_of<graft_msg>().size() == 6);
  auto mesh = r.role->mesh("t");
  REQUIRE(mesh.size() == 6);
  const peer_id from = mesh[0];

  r.frame(from, message_msg{"t", 3, data_of(1)});
  auto* e = r.find_event("gossip_delivered");
  REQUIRE(e);
  CHECK(*e->field("topic") == "t");
  CHECK(*e->field("msg_id") == to_hex(message_id("t", data_of(1))));
  CHECK(*e->field("from") == std::to_string(from));
  CHECK(e->value("hops") == 3);
  CHECK(e->value("size") == 32);
  auto fwd = r.sent_of<message_msg>();
  CHECK(fwd.size() == 5); // the mesh minus the sender
  for (auto& [to, m] : fwd) {
    CHECK(to != from);
    CHECK(contains(mesh, to));
    CHECK(m.hops == 4);
    CHECK(m.data == data_of(1));
  }
  // The same message again, from anyone: a duplicate, nothing else.
  r.frame(mesh[1], message_msg{"t", 1, data_of(1)});
  CHECK(r.count("gossip.duplicates") == 1);
  CHECK(r.fx.frames.empty());
  CHECK_FALSE(r.find_event("gossip_delivered"));
  // A message on a topic we did not join is not relayed.
  r.frame(from, message_msg{"other", 1, data_of(2)});
  CHECK(r.count("gossip.unsubscribed_topic") == 1);
  CHECK(r.fx.frames.empty());
}

TEST_CASE("gossip publishing delivers locally, pushes to the mesh and refuses re-publication",
          "[gossip][role]") {
  auto r = with_peers(8);
  auto mesh = r.role->mesh("t");
  int hook = 0;
  r.role->set_delivery_hook([&](const delivery& d) {
    ++hook;
    CHECK(d.local);
    CHECK(d.hops == 0);
  });
  r.command("publish", {"t", "0x" + to_hex(data_of(5))});
  auto* pub = r.find_event("gossip_published");
  REQUIRE(pub);
  CHECK(pub->command_id == 7);
  CHECK(pub->value("peers") == 6);
  CHECK(hook == 1);
  auto sent = r.sent_of<message_msg>();
  REQUIRE(sent.size() == 6);
  for (auto& [to, m] : sent) {
    CHECK(contains(mesh, to));
    CHECK(m.hops == 1);
  }
  r.command("publish", {"t", to_hex(data_of(5))});
  REQUIRE(r.find_event("command_failed"));
  CHECK(*r.find_event("command_failed")->field("reason") ==
        "duplicate: this message was already published or received");
}

TEST_CASE("gossip publishing outside the mesh uses a fanout that expires after fanout_ttl",
          "[gossip][role]") {
  single_role r;
  for (peer_id p = 2; p < 12; ++p)
    r.add_peer(p, {"t"});
  r.command("publish", {"t", to_hex(data_of(1))});
  auto first = r.sent_of<message_msg>();
  REQUIRE(first.size() == 6);
  auto fan = r.role->fanout("t");
  CHECK(fan.size() == 6);
  CHECK_FALSE(r.find_event("gossip_delivered")); // not subscribed: no local delivery
  r.now = 10 * us_per_s;
  r.command("publish", {"t", to_hex(data_of(2))});
  auto second = r.sent_of<message_msg>();
  REQUIRE(second.size() == 6);
  for (auto& [to, _] : second)
    CHECK(contains(fan, to));
  // Heartbeats keep the fanout and gossip to the other topic peers.
  r.heartbeat_at(11 * us_per_s);
  auto ihaves = r.sent_of<ihave_msg>();
  CHECK(ihaves.size() == 4);
  for (auto& [to, m] : ihaves) {
    CHECK_FALSE(contains(fan, to));
    CHECK(m.ids.size() == 2);
  }
  r.heartbeat_at(69 * us_per_s);
  CHECK(r.role->fanout("t").size() == 6);
  r.heartbeat_at(70 * us_per_s); // 60 s after the last publish
  CHECK(r.role->fanout("t").empty());

  // Joining a topic with a fanout grafts the fanout peers first.
  r.now = 71 * us_per_s;
  r.command("publish", {"t", to_hex(data_of(3))});
  fan = r.role->fanout("t");
  r.command("subscribe", {"t"});
  auto grafts = r.sent_of<graft_msg>();
  REQUIRE(grafts.size() == 6);
  for (auto& [to, _] : grafts)
    CHECK(contains(fan, to));
  CHECK(r.role->fanout("t").empty());
}

TEST_CASE("gossip answers IWANT from the message cache a bounded number of times",
          "[gossip][role]") {
  auto r = with_peers(8);
  auto mesh = r.role->mesh("t");
  r.frame(mesh[0], message_msg{"t", 1, data_of(9)});
  const auto id = message_id("t", data_of(9));
  for (int i = 0; i < 3; ++i) {
    r.frame(20, iwant_msg{{id}});
    auto m = r.sent_of<message_msg>();
    REQUIRE(m.size() == 1);
    CHECK(m[0].first == 20);
    CHECK(m[0].second.data == data_of(9));
    CHECK(m[0].second.hops == 2);
  }
  r.frame(20, iwant_msg{{id}});
  CHECK(r.sent_of<message_msg>().empty());
  CHECK(r.count("gossip.iwant_ignored") == 1);
  // Another peer can still ask; after mcache_len heartbeats it is gone.
  for (int hb = 1; hb <= 4; ++hb)
    r.heartbeat_at(hb * us_per_s);
  r.frame(21, iwant_msg{{id}});
  CHECK(r.sent_of<message_msg>().size() == 1);
  r.heartbeat_at(5 * us_per_s);
  r.frame(22, iwant_msg{{id}});
  CHECK(r.sent_of<message_msg>().empty());
  CHECK(r.count("gossip.iwant_miss") == 1);
}

TEST_CASE("gossip IHAVE of unseen ids triggers one IWANT per follow-up period", "[gossip][role]") {
  auto r = with_peers(8);
  msg_id unknown{};
  unknown[0] = 1;
  r.frame(30, ihave_msg{"t", {unknown}});
  auto w = r.sent_of<iwant_msg>();
  REQUIRE(w.size() == 1);
  CHECK(w[0].first == 30);
  CHECK(w[0].second.ids == std::vector<msg_id>{unknown});
  // Another IHAVE for the same id inside the follow-up time: wait for peer 30.
  r.now = 2 * us_per_s;
  r.frame(31, ihave_msg{"t", {unknown}});
  CHECK(r.sent_of<iwant_msg>().empty());
  r.now = 3 * us_per_s;
  r.frame(31, ihave_msg{"t", {unknown}});
  CHECK(r.sent_of<iwant_msg>().size() == 1);
  // Seen ids are never asked for; IHAVE floods are capped per heartbeat.
  r.frame(2, message_msg{"t", 1, data_of(4)});
  r.frame(32, ihave_msg{"t", {message_id("t", data_of(4))}});
  CHECK(r.sent_of<iwant_msg>().empty());
  for (std::uint8_t k = 0; k < 12; ++k) {
    msg_id id{};
    id[0] = 0x80;
    id[1] = k;
    r.frame(33, ihave_msg{"t", {id}});
    CHECK(r.sent_of<iwant_msg>().size() == (k < 10 ? 1u : 0u));
  }
}

TEST_CASE("gossip a PRUNE backoff is respected before grafting the peer again",
          "[gossip][role][backoff]") {
  single_role r;
  r.add_peer(2, {"t"});
  r.command("subscribe", {"t"});
  REQUIRE(r.sent_to<graft_msg>(2));
  r.now = 1 * us_per_s;
  r.frame(2, prune_msg{"t", 60});
  CHECK(r.role->mesh("t").empty());
  CHECK(r.role->in_backoff(2, "t", r.now));
  // Backoff ends at 61 s; one heartbeat of slack, so the first GRAFT is at 62 s.
  for (int s = 2; s <= 61; ++s) {
    r.heartbeat_at(s * us_per_s);
    INFO("heartbeat at " << s << " s");
    REQUIRE_FALSE(r.sent_to<graft_msg>(2));
  }
  r.heartbeat_at(62 * us_per_s);
  CHECK(r.sent_to<graft_msg>(2));
  CHECK(r.role->mesh("t") == std::vector<peer_id>{2});
}

TEST_CASE("gossip a GRAFT during backoff is refused and penalised", "[gossip][role][backoff]") {
  config c;
  c.d = c.d_lo = c.d_hi = 1;
  c.d_score = 1;
  single_role r(c);
  r.add_peer(2, {"t"});
  r.command("subscribe", {"t"});
  REQUIRE(r.role->mesh("t") == std::vector<peer_id>{2});
  r.add_peer(3, {"t"});
  r.frame(3, graft_msg{"t"}); // mesh full: refused with a backoff
  auto pr = r.sent_of<prune_msg>();
  REQUIRE(pr.size() == 1);
  CHECK(pr[0].first == 3);
  CHECK(pr[0].second.backoff_s == 60);
  CHECK(r.role->score(3) == 0);

  r.now = 10 * us_per_s;
  r.frame(3, graft_msg{"t"});
  CHECK(r.count("gossip.graft_in_backoff") == 1);
  CHECK(r.sent_to<prune_msg>(3));
  CHECK(r.role->score(3) == Approx(-10)); // behaviour penalty, squared
  CHECK(r.role->mesh("t") == std::vector<peer_id>{2});
}

TEST_CASE("gossip invalid messages cost score, then mesh membership, then all frames",
          "[gossip][role][score]") {
  auto r = with_peers(8);
  r.role->set_validator([](const std::string&, byte_view d, peer_id) {
    if (d[0] == 0xee)
      return validation::ignore;
    return d[0] == 0xff ? validation::reject : validation::accept;
  });
  const peer_id bad = r.role->mesh("t")[0];
  r.frame(bad, message_msg{"t", 1, data_of(0xee)});
  CHECK(r.count("gossip.ignored") == 1);
  CHECK(r.role->score(bad) == 0);

  r.frame(bad, message_msg{"t", 1, data_of(0xff)});
  CHECK(r.count("gossip.invalid") == 1);
  CHECK(r.fx.frames.empty()); // not forwarded
  CHECK_FALSE(r.find_event("gossip_delivered"));
  CHECK(r.role->score(bad) == Approx(-20));
  r.heartbeat_at(1 * us_per_s);
  CHECK(r.sent_to<prune_msg>(bad));
  CHECK_FALSE(contains(r.role->mesh("t"), bad));
  CHECK(r.role->mesh("t").size() >= 4);

  r.frame(bad, message_msg{"t", 1, data_of(0xff, 33)});
  r.frame(bad, message_msg{"t", 1, data_of(0xff, 34)});
  CHECK(r.role->score(bad) < config{}.score.graylist_threshold);
  r.frame(bad, message_msg{"t", 1, data_of(1)});
  CHECK(r.count("gossip.graylisted_frames") == 1);
  CHECK_FALSE(r.find_event("gossip_delivered"));
  r.heartbeat_at(2 * us_per_s);
  REQUIRE(r.find_event("gossip_graylisted"));
  CHECK(*r.find_event("gossip_graylisted")->field("peer") == std::to_string(bad));
  // Reconnecting does not wash the score.
  r.command("disconnect", {std::to_string(bad)});
  r.add_peer(bad, {"t"});
  CHECK(r.role->score(bad) < config{}.score.graylist_threshold);
}

TEST_CASE("gossip messages above the size bound are rejected as frames", "[gossip][role]") {
  config c;
  c.max_message_bytes = 1000;
  auto r = with_peers(3, c);
  r.frame(2, message_msg{"t", 1, bytes(1001, 7)});
  CHECK(r.count("frames_rejected") == 1);
  CHECK_FALSE(r.find_event("gossip_delivered"));
  r.frame(2, message_msg{"t", 1, bytes(1000, 7)});
  CHECK(r.find_event("gossip_delivered"));
}

TEST_CASE("gossip the seen cache forgets ids after seen_ttl, not before", "[gossip][role]") {
  auto r = with_peers(4);
  r.frame(2, message_msg{"t", 1, data_of(3)});
  REQUIRE(r.find_event("gossip_delivered"));
  r.heartbeat_at(119 * us_per_s);
  r.frame(3, message_msg{"t", 1, data_of(3)});
  CHECK(r.count("gossip.duplicates") == 1);
  r.heartbeat_at(120 * us_per_s);
  r.frame(3, message_msg{"t", 1, data_of(3)});
  CHECK(r.find_event("gossip_delivered")); // spec: dedup only within seen_ttl
}

TEST_CASE("gossip flooding mode forwards to every subscribed peer and ignores mesh control",
          "[gossip][role]") {
  config c;
  c.flood = true;
  auto r = with_peers(9, c);
  CHECK(r.sent_of<graft_msg>().empty());
  r.add_peer(40, {"other"});
  r.frame(2, message_msg{"t", 1, data_of(1)});
  auto fwd = r.sent_of<message_msg>();
  CHECK(fwd.size() == 8); // peers 3..10, not the sender, not peer 40
  r.frame(3, graft_msg{"t"});
  CHECK(r.fx.frames.empty());
  CHECK(r.role->mesh("t").empty());
  r.command("publish", {"t", to_hex(data_of(2))});
  CHECK(r.sent_of<message_msg>().size() == 9);
  r.heartbeat_at(1 * us_per_s);
  CHECK(r.sent_of<ihave_msg>().empty());
}

TEST_CASE("gossip graceful stop announces leaving and restart forgets everything",
          "[gossip][role]") {
  auto r = with_peers(3);
  r.step([&](context& c, effects& fx) { r.role->stop(c, fx); });
  auto bye = r.sent_of<subscriptions_msg>();
  REQUIRE(bye.size() == 3);
  CHECK(bye[0].second.subs == std::vector<subscription>{{false, "t"}});

  const auto old_token = r.heartbeat_token;
  r.step([&](context& c, effects& fx) { r.role->start(c, fx); });
  REQUIRE(r.fx.timers.size() == 1);
  CHECK(r.fx.timers[0].token != old_token);
  CHECK(r.role->peers().empty());
  CHECK_FALSE(r.role->subscribed("t"));
  r.heartbeat_at(1 * us_per_s); // the old heartbeat token is stale
  CHECK(r.fx.empty());
}

TEST_CASE("gossip configured topics are joined at start", "[gossip][role]") {
  config c;
  c.topics = {"a", "b"};
  single_role r(c);
  CHECK(r.role->subscribed("a"));
  CHECK(r.role->subscribed("b"));
  r.command("connect", {"5"});
  auto hello = r.sent_of<subscriptions_msg>();
  REQUIRE(hello.size() == 1);
  CHECK(hello[0].second.subs.size() == 2);
}
