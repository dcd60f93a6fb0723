// The client role: user-level commands (join, announce, fetch) composed from
// the kad and filexfer roles of the same node through local commands, on the
// shared lockstep network.
#include "protocols/client/client.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::test_kit;

namespace {

constexpr peer_id seed_node = 1, provider_node = 2, fetcher = 3;

kad::config fast_kad() {
  kad::config k;
  k.request_timeout = 500 * us_per_ms;
  k.query_timeout = 5 * us_per_s;
  return k;
}

client::config fast_client() {
  client::config c;
  c.wait = 3 * us_per_s;
  c.lookup_retry = 500 * us_per_ms;
  return c;
}

struct world {
  network net{7, 10 * us_per_ms};
  digest file{};
  bytes data = make_file(5, 200'000);
  std::uint64_t next_id = 1;

  world() {
    net.add(seed_node, {kad::make_kad_role(fast_kad()), client::make_client(fast_client())});
    net.add(provider_node, {kad::make_kad_role(fast_kad()), filexfer::make_provider({}),
                            client::make_client(fast_client())});
    net.add(fetcher, {kad::make_kad_role(fast_kad()), filexfer::make_downloader({}),
                      client::make_client(fast_client())});
    file = net.at(provider_node).content.add_file("f.bin", data, 0);
    net.start_all();
  }
  std::uint64_t ask(peer_id n, client::command c) {
    auto id = next_id++;
    net.command(n, ports::client, command(id, std::move(c)));
    return id;
  }
  std::uint64_t ask_text(peer_id n, std::string verb, std::vector<std::string> args) {
    auto id = next_id++;
    net.command(n, ports::client, text_command_of(id, std::move(verb), std::move(args)));
    return id;
  }
  const event* reply(std::uint64_t id) const {
    for (auto& s : net.events)
      if (s.e.command_id == id)
        return &s.e;
    return nullptr;
  }
  void join_all() {
    auto a = ask(seed_node, client::join{});
    auto b = ask(provider_node, client::join{{seed_node}, {}});
    auto c = ask(fetcher, client::join{{seed_node}, {}});
    net.run_for(5 * us_per_s);
    for (auto id : {a, b, c}) {
      REQUIRE(reply(id));
      CHECK(reply(id)->kind == "joined");
    }
  }
};

} // namespace

TEST_CASE("fetch through the DHT: join, announce, find providers, download, verify", "[client]") {
  world w;
  w.join_all();
  auto an = w.ask(provider_node, client::announce{w.file});
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(an));
  CHECK(w.reply(an)->kind == "announced");
  auto f = w.ask(fetcher, client::fetch{w.file, {}, {}});
  w.net.run_for(30 * us_per_s);
  auto* r = w.reply(f);
  REQUIRE(r);
  INFO(r->kind << " " << (r->field("reason") ? *r->field("reason") : ""));
  CHECK(r->kind == "fetch_done");
  CHECK(r->value("bytes") == 200'000);
  // The figures of the DHT lookup that found the provider.
  CHECK(r->value("lookups") == 1);
  CHECK(r->value("lookup_found") == 1);
  CHECK(r->value("lookup_messages") >= 1);
  CHECK(r->value("lookup_us") > 0);
  REQUIRE(w.net.at(fetcher).content.committed.count(w.file));
  CHECK(w.net.at(fetcher).content.committed.at(w.file) == w.data);
}

TEST_CASE("commands issued before the join completes wait for it", "[client]") {
  world w;
  w.ask(seed_node, client::join{});
  w.ask(provider_node, client::join{{seed_node}, {}});
  auto an = w.ask(provider_node, client::announce{w.file}); // queued behind the join
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(an));
  CHECK(w.reply(an)->kind == "announced");
}

TEST_CASE("providers named by address are used once the transport meets them", "[client]") {
  world w;
  auto f = w.ask(fetcher, client::fetch{w.file, {}, {"10.0.0.2:7000"}});
  w.net.run_for(1 * us_per_s);
  CHECK_FALSE(w.reply(f)); // still waiting for the hello
  w.net.peer_up(fetcher, provider_node, "10.0.0.2:7000");
  w.net.run_for(20 * us_per_s);
  REQUIRE(w.reply(f));
  CHECK(w.reply(f)->kind == "fetch_done");
  CHECK(w.reply(f)->value("lookups") == 0); // providers given: no DHT lookup
}

TEST_CASE("a provider address never met ends the fetch after the wait", "[client]") {
  world w;
  auto f = w.ask(fetcher, client::fetch{w.file, {}, {"10.0.0.9:1"}});
  w.net.run_for(2 * us_per_s);
  CHECK_FALSE(w.reply(f));
  w.net.run_for(2 * us_per_s);
  auto* r = w.reply(f);
  REQUIRE(r);
  CHECK(r->kind == "fetch_failed");
  CHECK(r->field("reason")->find("no provider reachable: 10.0.0.9:1") == 0);
}

TEST_CASE("a file nobody provides fails after the lookups retried for the wait", "[client]") {
  world w;
  w.join_all();
  digest nobody = sha256::of(bytes{1, 2, 3});
  auto f = w.ask(fetcher, client::fetch{nobody, {}, {}});
  w.net.run_for(20 * us_per_s);
  auto* r = w.reply(f);
  REQUIRE(r);
  CHECK(r->kind == "fetch_failed");
  CHECK(*r->field("reason") == "no provider found in the DHT");
  // Looked up again every lookup_retry (0.5 s) until the wait (3 s) had passed.
  CHECK(r->value("lookups") >= 4);
  CHECK(r->value("lookup_found") == 0);
  CHECK(w.net.counter("kad.commands_rejected") == 0);
}

TEST_CASE("a fetch from a peer that does not have the file reports the downloader's reason",
          "[client]") {
  world w;
  digest nobody = sha256::of(bytes{4});
  auto f = w.ask(fetcher, client::fetch{nobody, {seed_node}, {}});
  w.net.run_for(60 * us_per_s);
  auto* r = w.reply(f);
  REQUIRE(r);
  CHECK(r->kind == "fetch_failed");
  CHECK_FALSE(r->field("reason")->empty());
}

TEST_CASE("a node without a downloader answers fetch with a failure, not silence", "[client]") {
  world w;
  auto f = w.ask(seed_node, client::fetch{w.file, {provider_node}, {}});
  w.net.run_for(1 * us_per_s);
  auto* r = w.reply(f);
  REQUIRE(r);
  CHECK(r->kind == "fetch_failed");
}

TEST_CASE("text forms are parsed in one place and bad ones name the problem", "[client]") {
  world w;
  auto bad = w.ask_text(fetcher, "fetch", {"zz"});
  auto* r = w.reply(bad);
  REQUIRE(r);
  CHECK(r->kind == "command_failed");
  CHECK(r->value("code") == 400);
  CHECK(r->field("reason")->find("not a 64-hex SHA-256") == 0);
  auto unknown = w.ask_text(fetcher, "teleport", {});
  REQUIRE(w.reply(unknown));
  CHECK(w.reply(unknown)->field("reason")->find("the client knows join, announce and fetch") == 0);
  auto junk = w.ask_text(fetcher, "fetch", {to_hex(w.file), "no-port"});
  REQUIRE(w.reply(junk));
  CHECK(w.reply(junk)->kind == "command_failed");

  command_error err;
  auto ok = client::parse_command("fetch", {to_hex(w.file), "12", "127.0.0.1:9"}, err);
  REQUIRE(ok);
  auto& f = std::get<client::fetch>(*ok);
  CHECK(f.providers == std::vector<peer_id>{12});
  CHECK(f.provider_addresses == std::vector<std::string>{"127.0.0.1:9"});
  CHECK(command(1, *ok).describe() == "fetch " + to_hex(w.file) + " 12 127.0.0.1:9");
}

TEST_CASE("user commands in progress are bounded", "[client]") {
  network net;
  client::config c = fast_client();
  c.max_pending = 2;
  net.add(9, {client::make_client(c)});
  net.start_all();
  for (std::uint64_t id = 1; id <= 3; ++id)
    net.command(9, ports::client,
                command(id, client::command{client::fetch{digest{}, {}, {"10.0.0.1:1"}}}));
  auto refused = net.of_kind("command_failed");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].command_id == 3);
  CHECK(refused[0].value("code") == 503);
}
