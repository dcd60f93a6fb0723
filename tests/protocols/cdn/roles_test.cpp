#include "protocols/cdn/cdn.hpp"
#include "protocols/cdn/client.hpp"
#include "protocols/cdn/commands.hpp"
#include "protocols/cdn/geo.hpp"
#include "protocols/cdn/signal_msg.hpp"
#include "protocols/cdn/signal_server.hpp"
#include "protocols/cdn/site.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::cdn;
using test_kit::network;

namespace {

constexpr time_us ms = 1000, s = 1'000'000;

origin_config site() {
  origin_config o;
  o.resources = {{"/app.js", 100'000}, {"/logo.png", 40'000}, {"/empty.txt", 0}};
  return o;
}

// Node 0 runs the server and the origin; clients are 1..n.
struct swarm {
  explicit swarm(signal_config sc = {}, client_config cc = {}) : scfg(sc), ccfg(cc) {
    ccfg.server = ccfg.origin = 0;
    net.add(0, {make_signal(scfg), make_origin(site())});
  }
  void add_client(peer_id id, client_strategy st = client_strategy::honest) {
    net.add(id, {make_client(ccfg, st)});
  }
  client& at(peer_id id) { return net.at(id).role_at<client>(ports::cdn_client); }
  signal_server& server() { return net.at(0).role_at<signal_server>(ports::cdn_signal); }
  void cmd(peer_id id, cdn::command c) {
    net.command(id, ports::cdn_client, peerlab::command(++seq, std::move(c)));
  }
  std::vector<test_kit::seen_event> of(peer_id id, const char* kind) {
    std::vector<test_kit::seen_event> out;
    for (auto& e : net.events_of(kind))
      if (e.node == id)
        out.push_back(e);
    return out;
  }
  double sum(peer_id id, const char* kind, const char* value) {
    double total = 0;
    for (auto& e : of(id, kind))
      total += e.e.value(value);
    return total;
  }
  signal_config scfg;
  client_config ccfg;
  network net{1, 20 * ms};
  std::uint64_t seq = 0;
};

std::string listed_hex(const std::string& url) {
  for (auto& r : site().resources)
    if (r.url == url)
      return hex(sha224_of(synthetic_resource(r.url, r.size)));
  return {};
}

} // namespace

TEST_CASE("the first client loads from the origin and the next from its peers", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  REQUIRE(w.at(1).joined());
  REQUIRE(w.at(1).linked_peers() == 1); // 1 and 2 paired and linked through the relay
  w.cmd(1, load{"/index"});
  w.net.run_for(5 * s);
  auto done1 = w.of(1, "load_done");
  REQUIRE(done1.size() == 1);
  CHECK(done1[0].e.value("resources") == 3);
  // Client 2 has nothing yet, so client 1 asked it and fell back to the origin.
  CHECK(w.sum(1, "cdn_fetch_done", "peer_bytes") == 0);
  CHECK(w.sum(1, "cdn_fetch_done", "origin_bytes") == 140'000);

  w.cmd(2, load{"/index"});
  w.net.run_for(5 * s);
  REQUIRE(w.of(2, "load_done").size() == 1);
  CHECK(w.sum(2, "cdn_fetch_done", "peer_bytes") == 140'000);
  CHECK(w.sum(2, "cdn_fetch_done", "origin_bytes") == 0);
  for (auto& e : w.of(2, "cdn_fetch_done"))
    CHECK(*e.e.field("sha224") == listed_hex(*e.e.field("url")));
  // A reload is served from the cache.
  w.cmd(2, load{"/index"});
  w.net.run_for(1 * s);
  auto fetches = w.of(2, "cdn_fetch_done");
  REQUIRE(fetches.size() == 6);
  CHECK(*fetches[5].e.field("source") == "cache");
}

TEST_CASE("proximity pairing prefers near peers and the same ASN, first-come takes join order",
          "[cdn]") {
  for (auto mode : {pairing::proximity, pairing::first_come}) {
    signal_config sc;
    sc.pairing = mode;
    client_config cc;
    cc.want = 1;
    cc.join_at_start = false;
    swarm w(sc, cc);
    for (peer_id id = 1; id <= 4; ++id)
      w.add_client(id);
    w.net.start_all();
    w.cmd(1, locate{35.68, 139.69, 0}); // Tokyo
    w.net.run_for(100 * ms);
    w.cmd(2, locate{48.85, 2.35, 100}); // Paris: pairs with 1, the only one there
    w.net.run_for(100 * ms);
    w.cmd(3, locate{51.51, -0.13, 200}); // London, another ASN
    w.net.run_for(100 * ms);
    w.cmd(4, locate{50.85, 4.35, 100}); // Brussels, Paris's ASN
    w.net.run_for(2 * s);
    if (mode == pairing::proximity) {
      CHECK(w.server().paired(4, 2)); // near and the same ASN beats London
      CHECK(w.server().paired(3, 1) == false);
    } else {
      CHECK(w.server().paired(2, 1));
      CHECK(w.server().paired(3, 1)); // first-come: the oldest open client
    }
  }
}

TEST_CASE("a peer serving corrupted bytes is detected, evicted and never used", "[cdn]") {
  swarm w;
  w.add_client(1, client_strategy::corrupt_content);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  w.cmd(1, load{"/index"}); // the liar first gets the real bytes from the origin
  w.net.run_for(5 * s);
  w.cmd(2, load{"/index"});
  w.net.run_for(10 * s);
  REQUIRE(w.of(2, "load_done").size() == 1);
  CHECK(w.of(2, "load_done")[0].e.value("failed") == 0);
  auto evicted = w.of(2, "cdn_evicted");
  REQUIRE(evicted.size() == 1);
  CHECK(*evicted[0].e.field("peer") == "1");
  CHECK(w.of(2, "cdn_corrupt_detected").size() ==
        2); // app.js and logo.png (empty.txt has no byte to flip)
  for (auto& e : w.of(2, "cdn_fetch_done"))
    CHECK(*e.e.field("sha224") == listed_hex(*e.e.field("url")));
  CHECK(w.at(2).linked_peers() == 0);
  CHECK_FALSE(w.server().paired(1, 2)); // blocked: the server never pairs them again
}

TEST_CASE("a peer that stalls mid-transfer is evicted and the transfer resumes at its offset",
          "[cdn]") {
  client_config cc;
  cc.want = 2;
  cc.fanout = 1; // one peer at a time: the nearest (all are equally near: the lowest id, 1)
  cc.window = 16 << 10;
  swarm w({}, cc);
  for (peer_id id = 1; id <= 3; ++id)
    w.add_client(id);
  w.net.start_all();
  w.net.run_for(2 * s);
  w.cmd(1, load{"/index"});
  w.net.run_for(5 * s);
  // Client 3 fetches app.js from 1; after 3 windows every frame from 1 to 3 is lost.
  int data_from_1 = 0;
  w.net.tamper = [&](peer_id from, peer_id to, bytes& f) {
    if (from == 1 && to == 3 && f.size() > 2 && f[1] == 4)
      return ++data_from_1 <= 3;
    return true;
  };
  w.cmd(2, load{"/index"});
  w.net.run_for(5 * s);
  w.cmd(3, fetch{"/app.js", *hash_from_hex(listed_hex("/app.js"))});
  w.net.run_for(10 * s);
  auto done = w.of(3, "cdn_fetch_done");
  REQUIRE(done.size() == 1);
  CHECK(*done[0].e.field("sha224") == listed_hex("/app.js"));
  REQUIRE(data_from_1 > 3);
  auto resumed = w.of(3, "cdn_resumed");
  REQUIRE(resumed.size() == 1);
  CHECK(resumed[0].e.value("offset") == 3 * 16384);
  CHECK(*resumed[0].e.field("from") == "1");
  CHECK(w.of(3, "cdn_evicted").size() == 1);
  CHECK(done[0].e.value("peer_bytes") == 100'000); // the rest came from peer 2
}

TEST_CASE("a client whose peer crashes mid-transfer finishes from another source", "[cdn]") {
  client_config cc;
  cc.window = 16 << 10;
  swarm w({}, cc);
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  w.cmd(1, load{"/index"});
  w.net.run_for(5 * s);
  w.cmd(2, fetch{"/app.js", *hash_from_hex(listed_hex("/app.js"))});
  w.net.run_for(60 * ms); // a few windows in
  w.net.crash(1);
  w.net.run_for(10 * s);
  auto done = w.of(2, "cdn_fetch_done");
  REQUIRE(done.size() == 1);
  CHECK(*done[0].e.field("source") == "mixed");
  CHECK(done[0].e.value("peer_bytes") > 0);
  CHECK(done[0].e.value("origin_bytes") > 0);
  CHECK(done[0].e.value("peer_bytes") + done[0].e.value("origin_bytes") == 100'000);
}

TEST_CASE("clients reconnect after a server restart with exponential back-off", "[cdn]") {
  for (bool jitter : {false, true}) {
    client_config cc;
    cc.jitter = jitter;
    swarm w({}, cc);
    w.add_client(1);
    w.add_client(2);
    w.net.start_all();
    w.net.run_for(2 * s);
    REQUIRE(w.server().pairs() == 1);
    // A graceful restart: every client hears "bye" and the server is down for 30 s.
    w.net.act(0, ports::cdn_signal, [&](context& c, effects& fx) { w.server().stop(c, fx); });
    w.net.run_for(10 * ms);
    w.net.crash(0);
    w.net.run_for(30 * s);
    w.net.restart(0, {make_signal({}), make_origin(site())});
    w.net.run_for(60 * s);
    CHECK(w.at(1).joined());
    CHECK(w.at(2).joined());
    CHECK(w.server().clients() == 2);
    CHECK(w.server().pairs() == 1); // the link both still had is known again
    CHECK(w.at(1).linked_peers() == 1);
    auto lost = w.of(1, "cdn_server_lost");
    REQUIRE(lost.size() >= 4);
    for (std::size_t i = 0; i < 4; ++i) {
      const double cap = static_cast<double>(s << i);
      if (jitter)
        CHECK(lost[i].e.value("delay_us") <= cap);
      else
        CHECK(lost[i].e.value("delay_us") == cap); // 1, 2, 4, 8 s
    }
  }
}

TEST_CASE("the server dissolves pairs when a client leaves and re-pairs its peer", "[cdn]") {
  client_config cc;
  cc.want = 1;
  swarm w({}, cc);
  for (peer_id id = 1; id <= 3; ++id)
    w.add_client(id);
  w.net.start(0);
  w.net.start(1);
  w.net.start(2);
  w.net.run_for(2 * s);
  REQUIRE(w.server().paired(1, 2));
  w.net.start(3);
  w.net.run_for(1 * s);
  // 2 leaves: 1 gets a peer_left and is paired with 3.
  w.net.act(2, ports::cdn_client, [&](context& c, effects& fx) { w.at(2).stop(c, fx); });
  w.net.crash(2);
  w.net.run_for(2 * s);
  CHECK(w.server().clients() == 2);
  CHECK_FALSE(w.server().paired(1, 2));
  CHECK(w.server().paired(1, 3));
  CHECK(w.at(1).linked_peers() == 1);
}

TEST_CASE("a crashed client is dropped after the client timeout", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  w.net.crash(2);
  w.net.run_for(35 * s);
  CHECK(w.server().clients() == 1);
  CHECK(w.server().pairs() == 0);
  CHECK(w.at(1).linked_peers() == 0); // peer_left dropped the link
}

TEST_CASE("the server forgets an address when its peer leaves, joined or not", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.net.start(0);
  // A WebSocket that opens and closes without joining: peer_up, then leave.
  w.net.peer_up(0, 77, "10.0.0.7:5000");
  CHECK(w.server().addresses() == 1);
  w.net.deliver_now(77, 0, encode_signal(ports::cdn_signal, signal_msg(msg::leave)));
  w.net.run_for(10 * ms);
  CHECK(w.server().addresses() == 0);
  // A client dropped for silence keeps its address: its socket may still be open.
  w.net.peer_up(0, 1, "10.0.0.1:5000");
  w.net.start(1);
  w.net.run_for(1 * s);
  REQUIRE(w.server().clients() == 1);
  w.net.crash(1);
  w.net.run_for(35 * s);
  CHECK(w.server().clients() == 0);
  CHECK(w.server().addresses() == 1);
}

TEST_CASE("the server rate-limits a flooding client and refuses joins when full", "[cdn]") {
  signal_config sc;
  sc.max_clients = 1;
  swarm w(sc);
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(1 * s);
  CHECK(w.server().clients() == 1);
  CHECK(w.net.counter(0, "cdn_signal_errors") >= 1); // "full" for the second
  CHECK(w.of(2, "cdn_server_lost").size() >= 1);
  for (int i = 0; i < 500; ++i)
    w.net.deliver_now(1, 0, encode_signal(ports::cdn_signal, signal_msg(msg::ping)));
  w.net.run_for(100 * ms);
  CHECK(w.net.counter(0, "cdn_signal_rate_limited") >= 400);
  w.net.deliver_now(1, 0, bytes{ports::cdn_signal, '{', '"'});
  w.net.run_for(3 * s);
  CHECK(w.net.counter(0, "frames_rejected") >= 1);
}

TEST_CASE("a relay to a peer the sender is not paired with is refused", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  signal_msg s1(msg::signal);
  s1.peer = 99;
  s1.data = "1";
  w.net.deliver_now(1, 0, encode_signal(ports::cdn_signal, s1));
  w.net.run_for(100 * ms);
  CHECK(w.net.counter(0, "cdn_signal_relayed") == 2); // only the pairing's offer and answer
  CHECK(w.net.counter(1, "cdn_server_errors") == 1);
}

TEST_CASE("external links: the host carries the set-up and reports the link", "[cdn]") {
  client_config cc;
  cc.external_links = true;
  swarm w({}, cc);
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(1 * s);
  auto open1 = w.of(1, "cdn_link_open");
  auto open2 = w.of(2, "cdn_link_open");
  REQUIRE(open1.size() == 1);
  REQUIRE(open2.size() == 1);
  peer_id initiator = *open1[0].e.field("initiator") == "true" ? 1 : 2;
  peer_id other = initiator == 1 ? 2 : 1;
  w.net.command(
    initiator, ports::cdn_client,
    peerlab::command(50, cdn::command{signal_out{other, R"({"type":"offer","sdp":"x"})"}}));
  w.net.run_for(1 * s);
  auto in = w.of(other, "cdn_signal_in");
  REQUIRE(in.size() == 1);
  CHECK(*in[0].e.field("data") == R"({"sdp":"x","type":"offer"})");
  w.net.command(1, ports::cdn_client, peerlab::command(51, cdn::command{link_up{2}}));
  w.net.command(2, ports::cdn_client, peerlab::command(52, cdn::command{link_up{1}}));
  w.net.run_for(1 * s);
  CHECK(w.at(1).linked_peers() == 1);
  CHECK(w.at(2).linked_peers() == 1);
  REQUIRE(w.of(1, "cdn_linked").size() == 1);
  // A browser may report its channel open after the peer's HELLO came over
  // it and the link is up: nothing changes.
  w.net.command(1, ports::cdn_client, peerlab::command(54, cdn::command{link_up{2}}));
  w.net.run_for(1 * s);
  CHECK(w.at(1).linked_peers() == 1);
  CHECK(w.of(1, "cdn_linked").size() == 1);
  w.net.command(1, ports::cdn_client, peerlab::command(53, cdn::command{link_down{2}}));
  w.net.run_for(1 * s);
  CHECK(w.at(1).linked_peers() == 0);
  CHECK(w.of(1, "cdn_link_close").size() == 1);
}

TEST_CASE("cache_put verifies bytes before caching them", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.net.start_all();
  auto bytes_ok = synthetic_resource("/app.js", 100'000);
  auto sha = sha224_of(bytes_ok);
  auto bad = bytes_ok;
  bad[5] ^= 1;
  w.net.command(1, ports::cdn_client,
                peerlab::command(7, cdn::command{cache_put{"/app.js", sha, bad}}));
  CHECK(w.net.of_kind("command_failed").size() == 1);
  w.net.command(1, ports::cdn_client,
                peerlab::command(8, cdn::command{cache_put{"/app.js", sha, bytes_ok}}));
  CHECK(w.at(1).cache().size() == 1);
  w.cmd(1, fetch{"/app.js", sha});
  w.net.run_for(100 * ms);
  auto done = w.of(1, "cdn_fetch_done");
  REQUIRE(done.size() == 1);
  CHECK(*done[0].e.field("source") == "cache");
}

TEST_CASE("every fetch ends even when the origin is gone", "[cdn]") {
  swarm w;
  w.add_client(1);
  w.net.start_all();
  w.net.run_for(1 * s);
  w.net.crash(0);
  w.cmd(1, fetch{"/app.js", *hash_from_hex(listed_hex("/app.js"))});
  w.net.run_for(70 * s);
  auto failed = w.of(1, "cdn_fetch_failed");
  REQUIRE(failed.size() == 1);
  CHECK(*failed[0].e.field("reason") == "the origin did not answer");
}

TEST_CASE("browsers and native nodes share a server but are only paired with their own kind",
          "[cdn]") {
  swarm w;
  client_config browser = w.ccfg;
  browser.external_links = true;
  w.add_client(1);
  w.add_client(2);
  w.net.add(3, {make_client(browser)});
  w.net.add(4, {make_client(browser)});
  w.net.start_all();
  w.net.run_for(2 * s);
  CHECK(w.server().paired(1, 2));
  CHECK(w.server().paired(3, 4));
  for (peer_id native : {1, 2})
    for (peer_id web : {3, 4})
      CHECK_FALSE(w.server().paired(native, web));
}

TEST_CASE("a live client finds the server by address, learns its peers' and loads its page",
          "[cdn]") {
  swarm w;
  client_config cc = w.ccfg;
  cc.server = cc.origin = 999; // unknown until the transport meets the address
  cc.server_address = cc.origin_address = "10.0.0.1:7000";
  cc.load = "/index";
  w.net.add(1, {make_client(cc)});
  w.net.add(2, {make_client(cc)});
  w.net.start_all();
  w.net.run_for(1 * s);
  CHECK(w.server().clients() == 0); // nobody joined a server it has not met
  for (peer_id id : {1, 2}) {
    w.net.peer_up(0, id, "10.0.0." + std::to_string(10 + id) + ":7000"); // the server meets them
    w.net.peer_up(id, 0, "10.0.0.1:7000");
  }
  w.net.run_for(5 * s);
  CHECK(w.server().clients() == 2);
  CHECK(w.server().paired(1, 2));
  CHECK(w.net.addresses.at(2) == "10.0.0.12:7000"); // node 1 learned where node 2 listens
  CHECK(w.of(1, "load_done").size() == 1);
  CHECK(w.of(2, "load_done").size() == 1);
}

TEST_CASE("a peer asking for more than its byte bucket gets REJECT busy", "[cdn]") {
  client_config cc;
  cc.serve_burst = 1 << 20;
  cc.serve_rate = 1 << 20;
  swarm w({}, cc);
  w.add_client(1);
  w.add_client(2);
  w.net.start_all();
  w.net.run_for(2 * s);
  w.cmd(1, load{"/index"});
  w.net.run_for(5 * s);
  // Client 2 floods 100 requests for the whole of app.js (100,000 bytes) at once.
  auto sha = *hash_from_hex(listed_hex("/app.js"));
  for (std::uint32_t i = 0; i < 100; ++i)
    w.net.deliver_now(
      2, 1, encode_request(ports::cdn_client, request{9000 + i, "/app.js", sha, 0, 100'000}));
  w.net.run_for(100 * ms);
  CHECK(w.net.counter(1, "cdn_serve_refused") >= 89); // a 1 MiB bucket holds 10 of them
  CHECK(w.net.counter(1, "cdn_serve_refused") <= 90);
}

TEST_CASE("clients without coordinates are placed by the server's IP table", "[cdn]") {
  signal_config sc;
  auto tokyo = *parse_prefix("10.1.0.0/16");
  tokyo.lat = 35.68;
  tokyo.lon = 139.69;
  auto paris = *parse_prefix("10.2.0.0/16");
  paris.lat = 48.85;
  paris.lon = 2.35;
  sc.locations = {tokyo, paris};
  client_config cc;
  cc.want = 1;
  cc.join_at_start = false;
  swarm w(sc, cc);
  for (peer_id id = 1; id <= 3; ++id)
    w.add_client(id);
  w.net.start_all();
  w.net.peer_up(0, 1, "10.1.0.5:5000"); // Tokyo
  w.net.peer_up(0, 2, "10.2.0.5:5000"); // Paris
  w.net.peer_up(0, 3, "10.2.7.9:5000"); // Paris
  w.cmd(1, load{"/index"});             // joins without coordinates
  w.net.run_for(100 * ms);
  w.cmd(2, load{"/index"}); // pairs with 1, the only one there
  w.net.run_for(100 * ms);
  w.cmd(3, load{"/index"}); // 1 and 2 are open: the table puts 2 next door
  w.net.run_for(2 * s);
  CHECK(w.server().paired(1, 2));
  CHECK(w.server().paired(3, 2));
  CHECK_FALSE(w.server().paired(3, 1));
}
