// One kad node driven by hand-written peers (frames injected through the test
// network; its answers to peers that are not nodes land in net.stray).
#include "kad_net.hpp"
#include "protocols/kad/kad.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::kad;
using namespace peerlab::kad::testnet;

namespace {

const peer_id X = 1; // the node under test

message from_peer(peer_id p, msg_type t, std::uint64_t rid) {
  message m;
  m.type = t;
  m.request_id = rid;
  m.sender_id = id_of(p);
  return m;
}

message add_provider(peer_id sender, const kad_id& key, peer_id provider, std::uint64_t rid) {
  message m = from_peer(sender, msg_type::add_provider, rid);
  m.key = key;
  m.provider = make_contact(provider);
  return m;
}

// Decoded frames X sent to `to`, in order.
std::vector<message> replies_to(const network& net, peer_id to) {
  std::vector<message> out;
  for (auto& s : net.stray)
    if (s.to == to) {
      auto d = decode(s.data);
      REQUIRE(d.ok);
      out.push_back(d.msg);
    }
  return out;
}

// Peer ids (not X) whose ids fall in bucket `cpl` of X.
std::vector<peer_id> bucket_peers(int cpl, std::size_t n) {
  std::vector<peer_id> out;
  for (peer_id p = 100; out.size() < n; ++p)
    if (common_prefix_len(id_of(X), id_of(p)) == cpl)
      out.push_back(p);
  return out;
}

} // namespace

TEST_CASE("node answers PING, FIND_NODE and GET_PROVIDERS echoing the request id", "[kad][node]") {
  network net;
  net.add_node(X);
  for (peer_id p = 100; p < 130; ++p)
    net.inject(p, X, encode(from_peer(p, msg_type::ping, p)));
  net.run_for(us_per_s);
  auto pong = replies_to(net, 100);
  REQUIRE(pong.size() == 1);
  CHECK(pong[0].type == msg_type::pong);
  CHECK(pong[0].request_id == 100);
  CHECK(pong[0].sender_id == id_of(X));
  CHECK(net.at(X).role->table()->size() == 30); // every pinging peer was added

  message fn = from_peer(100, msg_type::find_node, 555);
  fn.key = id_of(4242);
  net.inject(100, X, encode(fn));
  net.run_for(us_per_s);
  auto r = replies_to(net, 100);
  REQUIRE(r.size() == 2);
  CHECK(r[1].type == msg_type::nodes);
  CHECK(r[1].request_id == 555);
  // The 20 closest X knows, nearest first, without the requester.
  auto want = net.at(X).role->table()->closest(id_of(4242), 20, 100);
  CHECK(r[1].closer == want);
  CHECK(r[1].closer.size() == 20);
}

TEST_CASE("frames with ids of the wrong size or false ids are rejected and counted",
          "[kad][node]") {
  network net;
  net.add_node(X);
  // A 20-byte sender id (a 160-bit Kademlia): length byte 20, 20 id bytes.
  bytes ping = encode(from_peer(100, msg_type::ping, 1));
  bytes short_id(ping.begin(), ping.begin() + 10);
  short_id.push_back(20);
  short_id.insert(short_id.end(), ping.begin() + 11, ping.begin() + 31);
  short_id.insert(short_id.end(), {0, 0});
  net.inject(100, X, short_id);
  // A well-formed id that is not SHA-256 of the sender's peer id.
  message liar = from_peer(100, msg_type::ping, 2);
  liar.sender_id = id_of(101);
  net.inject(100, X, encode(liar));
  // A NODES answer carrying a contact with a false id.
  message nodes = from_peer(100, msg_type::nodes, 3);
  nodes.closer = {make_contact(5), make_contact(6)};
  nodes.closer[1].id = id_of(7);
  net.inject(100, X, encode(nodes));
  // An ADD_PROVIDER whose provider id is false.
  message add = add_provider(100, id_of(9), 100, 4);
  add.provider.id[31] ^= 1;
  net.inject(100, X, encode(add));
  // Truncated and empty frames.
  net.inject(100, X, bytes(ping.begin(), ping.begin() + 20));
  net.inject(100, X, bytes{});
  net.run_for(us_per_s);
  CHECK(net.counter("frames_rejected") == 6);
  CHECK(net.counter("kad.malformed") == 3);
  CHECK(net.counter("kad.bad_ids") == 3);
  CHECK(net.stray.empty());                    // nothing answered
  CHECK(net.at(X).role->table()->size() == 0); // nobody learned
  CHECK(net.at(X).role->records().size() == 0);
}

TEST_CASE("a flood of fake provider records from one peer is bounded and counted", "[kad][node]") {
  config c;
  c.max_records_per_peer = 50;
  network net;
  net.add_node(X, c);
  const peer_id flooder = 7777;
  for (std::uint64_t i = 0; i < 500; ++i)
    net.inject(flooder, X, encode(add_provider(flooder, id_of(100000 + i), flooder, i + 1)));
  net.run_for(us_per_s);
  auto r = replies_to(net, flooder);
  REQUIRE(r.size() == 500);
  std::size_t acks = 0, peer_full = 0;
  for (auto& m : r) {
    if (m.type == msg_type::ack)
      ++acks;
    else if (m.type == msg_type::err && m.code == std::uint8_t(err_code::peer_full))
      ++peer_full;
  }
  CHECK(acks == 50);
  CHECK(peer_full == 450);
  CHECK(net.at(X).role->records().size() == 50);
  CHECK(net.at(X).role->records().count_for_peer(flooder) == 50);
  CHECK(net.counter("kad.records_stored") == 50);
  CHECK(net.counter("kad.records_refused") == 450);
  // The first 50 keys are the stored ones: nothing stored was pushed out.
  CHECK(r[49].type == msg_type::ack);
  CHECK(r[50].type == msg_type::err);

  // Another peer still gets its record stored.
  net.inject(8888, X, encode(add_provider(8888, id_of(1), 8888, 1)));
  // Nobody can announce a provider other than itself.
  net.inject(8888, X, encode(add_provider(8888, id_of(2), 9999, 2)));
  net.run_for(us_per_s);
  auto r2 = replies_to(net, 8888);
  REQUIRE(r2.size() == 2);
  CHECK(r2[0].type == msg_type::ack);
  CHECK(r2[1].type == msg_type::err);
  CHECK(r2[1].code == std::uint8_t(err_code::provider_not_sender));
  CHECK(net.at(X).role->records().size() == 51);
}

TEST_CASE("providers per key are bounded and GET_PROVIDERS lists them", "[kad][node]") {
  config c;
  c.max_providers_per_key = 20;
  network net;
  net.add_node(X, c);
  kad_id key = id_of(31337);
  for (peer_id p = 200; p < 230; ++p)
    net.inject(p, X, encode(add_provider(p, key, p, 1)), (p - 200) * us_per_ms);
  net.run_for(us_per_s);
  std::size_t key_full = 0;
  for (peer_id p = 200; p < 230; ++p) {
    auto r = replies_to(net, p);
    REQUIRE(r.size() == 1);
    if (r[0].type == msg_type::err) {
      CHECK(r[0].code == std::uint8_t(err_code::key_full));
      CHECK(p >= 220); // the first 20 were kept
      ++key_full;
    }
  }
  CHECK(key_full == 10);
  message gp = from_peer(300, msg_type::get_providers, 77);
  gp.key = key;
  net.inject(300, X, encode(gp));
  net.run_for(us_per_s);
  auto r = replies_to(net, 300);
  REQUIRE(r.size() == 1);
  CHECK(r[0].type == msg_type::providers);
  CHECK(r[0].request_id == 77);
  REQUIRE(r[0].providers.size() == 20);
  // Same expiry order as arrival: newest first.
  CHECK(r[0].providers.front().peer == 219);
  CHECK(r[0].providers.back().peer == 200);
}

TEST_CASE("answers nobody asked for are ignored and counted", "[kad][node]") {
  network net;
  net.add_node(X);
  net.inject(100, X, encode(from_peer(100, msg_type::pong, 12345)));
  message nodes = from_peer(100, msg_type::nodes, 12346);
  nodes.closer = {make_contact(5)};
  net.inject(100, X, encode(nodes));
  net.run_for(us_per_s);
  CHECK(net.counter("kad.unexpected_responses") == 2);
  CHECK(net.counter("frames_rejected") == 0);
  CHECK(net.stray.empty());
}

TEST_CASE("a full bucket keeps its LRS entry when it answers the liveness ping", "[kad][node]") {
  config c;
  c.k = 2;
  network net;
  net.add_node(X, c);
  auto p = bucket_peers(0, 3);
  net.inject(p[0], X, encode(from_peer(p[0], msg_type::ping, 1)));
  net.inject(p[1], X, encode(from_peer(p[1], msg_type::ping, 1)), us_per_ms);
  net.inject(p[2], X, encode(from_peer(p[2], msg_type::ping, 1)), 2 * us_per_ms);
  net.run_for(us_per_s);
  auto to_lrs = replies_to(net, p[0]);
  REQUIRE(to_lrs.size() == 2); // PONG, then X's liveness PING
  REQUIRE(to_lrs[1].type == msg_type::ping);
  auto* t = net.at(X).role->table();
  CHECK_FALSE(t->contains(p[2], id_of(p[2])));
  // The LRS answers in time.
  net.inject(p[0], X, encode(from_peer(p[0], msg_type::pong, to_lrs[1].request_id)));
  net.run_for(30 * us_per_s);
  CHECK(t->contains(p[0], id_of(p[0])));
  CHECK(t->contains(p[1], id_of(p[1])));
  CHECK_FALSE(t->contains(p[2], id_of(p[2])));
  CHECK(net.counter("kad.evictions") == 0);
  CHECK(net.counter("kad.unexpected_responses") == 0);
}

TEST_CASE("a full bucket evicts its LRS entry only after the ping times out", "[kad][node]") {
  config c;
  c.k = 2;
  network net;
  net.add_node(X, c);
  auto p = bucket_peers(0, 3);
  for (int i = 0; i < 3; ++i)
    net.inject(p[i], X, encode(from_peer(p[i], msg_type::ping, 1)), i * us_per_ms);
  auto* t = net.at(X).role->table();
  net.run_until(10 * us_per_s); // ping sent at ~2 ms, times out at ~10.002 s
  CHECK(t->contains(p[0], id_of(p[0])));
  CHECK_FALSE(t->contains(p[2], id_of(p[2])));
  net.run_until(11 * us_per_s);
  CHECK_FALSE(t->contains(p[0], id_of(p[0])));
  CHECK(t->contains(p[1], id_of(p[1])));
  CHECK(t->contains(p[2], id_of(p[2])));
  CHECK(net.counter("kad.evictions") == 1);
}

TEST_CASE("bad commands are rejected with an error naming the problem", "[kad][node]") {
  network net;
  net.add_node(X);
  auto error_of = [&](std::string verb, std::vector<std::string> args) {
    auto id = net.command(X, verb, args);
    auto* e = net.reply(X, id);
    REQUIRE(e);
    REQUIRE(e->kind == "command_failed");
    CHECK(e->value("code") == 400);
    return *e->field("reason");
  };
  CHECK(error_of("provide", {"abc"}).find("expected 64 hex digits") == 0);
  CHECK(error_of("provide", {}).find("provide takes 1 argument") == 0);
  CHECK(error_of("find_providers", {to_hex(id_of(1)), "x"}).find("count must be") == 0);
  CHECK(error_of("find_providers", {to_hex(id_of(1)), "5000"}).find("count must be") == 0);
  CHECK(error_of("bootstrap", {"12a"}).find("expected a decimal peer id") == 0);
  CHECK(error_of("fly", {}).find("unknown command \"fly\"") == 0);
}

TEST_CASE("an isolated node answers every command at once", "[kad][node]") {
  network net;
  net.add_node(X);
  auto b = net.command(X, "bootstrap");
  auto f = net.command(X, "find_node", {to_hex(id_of(3))});
  auto g = net.command(X, "find_providers", {"http_proxy_providers"});
  auto p = net.command(X, "provide", {to_hex(id_of(4))});
  CHECK(net.reply(X, b)->kind == "bootstrap_done");
  CHECK(net.reply(X, b)->value("success", -1) == 0);
  CHECK(net.reply(X, f)->kind == "lookup_done");
  CHECK(net.reply(X, f)->value("count", -1) == 0);
  CHECK(net.reply(X, g)->kind == "providers_found");
  CHECK(net.reply(X, g)->value("success", -1) == 0);
  CHECK(*net.reply(X, g)->field("key") == to_hex(proxy_providers_key()));
  CHECK(net.reply(X, p)->kind == "put_failed");
  CHECK(*net.reply(X, p)->field("reason") == "no peer answered the lookup");
  CHECK(net.at(X).role->active_queries() == 0);
  // The own record is kept locally: the node finds itself.
  auto g2 = net.command(X, "find_providers", {to_hex(id_of(4))});
  CHECK(*net.reply(X, g2)->field("providers") == "1");
}

TEST_CASE("configurations outside the limits are refused with the field named", "[kad][node]") {
  CHECK_FALSE(validate(config{}));
  auto error_of = [](auto change) {
    config c;
    change(c);
    auto e = validate(c);
    REQUIRE(e);
    return *e;
  };
  CHECK(error_of([](config& c) { c.k = 0; }).find("k must be") == 0);
  CHECK(error_of([](config& c) { c.k = 33; }).find("k must be") == 0);
  CHECK(error_of([](config& c) { c.alpha = 0; }).find("alpha must be") == 0);
  CHECK(error_of([](config& c) { c.request_timeout = 0; }).find("request_timeout") == 0);
  CHECK(error_of([](config& c) { c.provider_ttl = -1; }).find("provider_ttl") == 0);
  CHECK(error_of([](config& c) { c.min_request_timeout = 0; }).find("min_request_timeout") == 0);
  CHECK(error_of([](config& c) { c.min_stall_time = -1; }).find("min_stall_time") == 0);
  CHECK(error_of([](config& c) { c.rtt_peers = 4097; }).find("rtt_peers") == 0);
  CHECK(error_of([](config& c) { c.max_providers_per_key = 65; }).find("max_providers_per_key") ==
        0);
  CHECK(error_of([](config& c) {
          c.max_records_per_peer = c.max_records_total + 1;
        }).find("max_records_per_peer") == 0);
  CHECK(error_of([](config& c) { c.max_refresh_cpl = 256; }).find("max_refresh_cpl") == 0);
  config bad;
  bad.alpha = 100;
  CHECK_THROWS_WITH(make_kad_role(bad), Catch::Contains("kad config: alpha must be"));
  auto r = make_kad_role();
  CHECK(r->port() == ports::kad);
  CHECK(std::string(r->message_name(9)) == "PROVIDERS");
}
