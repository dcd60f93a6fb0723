// The glue between the proxy roles and the live proxies (net/proxy_shell.hpp):
// role events open and close the forward proxy's door and the local proxy's
// upstream, and the bytes the proxies move come back as role commands. The
// roles are replaced by the events they emit and a recorder of the commands.
#include "net/proxy_shell.hpp"
#include "protocols/proxy/proxy.hpp"
#include "proxy_kit.hpp"

#include <catch2/catch.hpp>

#include <mutex>

using namespace peerlab;
using namespace peerlab::test::proxykit;

namespace {

struct recorded {
  port_t port;
  std::string verb;
  std::vector<std::string> args;
};

/// Stands in for the node's roles: records every command the shells post.
struct roles {
  std::mutex mu;
  std::vector<recorded> commands;
  net::proxy_submit_fn submit() {
    return [this](port_t p, std::uint64_t, std::string verb, std::vector<std::string> args) {
      std::lock_guard g(mu);
      commands.push_back({p, std::move(verb), std::move(args)});
      return std::optional<command_error>{};
    };
  }
  std::vector<recorded> now() {
    std::lock_guard g(mu);
    return commands;
  }
  /// Sum of the `metered` commands for a client on a port.
  std::pair<std::uint64_t, std::uint64_t> metered(port_t p, const std::string& client) {
    std::uint64_t up = 0, down = 0;
    for (auto& c : now())
      if (c.port == p && c.verb == "metered" && c.args.at(0) == client) {
        up += std::stoull(c.args.at(1));
        down += std::stoull(c.args.at(2));
      }
    return {up, down};
  }
  std::size_t count(port_t p, const std::string& verb) {
    std::size_t n = 0;
    for (auto& c : now())
      n += c.port == p && c.verb == verb;
    return n;
  }
};

event ev(std::string kind, std::vector<std::pair<std::string, std::string>> fields) {
  return event{std::move(kind), 0, std::move(fields), {}};
}

net::forward_proxy_options provider_options() {
  net::forward_proxy_options o;
  o.allow_internal_destinations = true; // the origin runs on 127.0.0.1
  o.report_interval = 50 * us_per_ms;
  return o;
}

net::local_proxy_options client_options() {
  net::local_proxy_options o;
  o.report_interval = 50 * us_per_ms;
  return o;
}

std::string get(const std::string& proxy_token, const std::string& authority) {
  std::string auth =
    proxy_token.empty() ? "" : "Proxy-Authorization: Bearer " + proxy_token + "\r\n";
  return "GET http://" + authority + "/hello HTTP/1.1\r\nHost: " + authority + "\r\n" + auth +
         "\r\n";
}

const std::string token_a(64, 'a');
const std::string token_b(64, 'b');

} // namespace

TEST_CASE("proxy shell: the provider's events decide who passes, bytes go back as metered",
          "[proxy]") {
  http_origin origin;
  roles r;
  net::proxy_provider_shell shell(provider_options(), r.submit(), [](const std::string&) {});
  CHECK(shell.address().empty());
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  REQUIRE_FALSE(shell.address().empty());
  {
    client c(shell.address());
    c.send(get(token_a, origin.authority()));
    CHECK(c.response().status == 407); // the role handed out no token yet
  }
  shell.consume(ev("proxy_client_connected", {{"client", "7"}, {"peer", "1"}, {"token", token_a}}));
  CHECK(shell.known_clients() == 1);
  std::uint64_t written = 0, read = 0;
  {
    client c(shell.address());
    c.send(get(token_a, origin.authority()));
    auto a = c.response();
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    written = c.bytes_written();
    read = c.bytes_read();
  }
  // Every byte the client's socket moved reaches the provider role as
  // `metered 7 UP DOWN` on its port.
  REQUIRE(eventually([&] {
    return r.metered(ports::proxy, "7") == std::pair<std::uint64_t, std::uint64_t>{written, read};
  }));
  shell.consume(ev("proxy_cut_off", {{"client", "7"}, {"reason", "unpaid"}}));
  {
    client c(shell.address());
    c.send(get(token_a, origin.authority()));
    CHECK(c.response().status == 403); // known but ended: terminated, not unknown
  }
  shell.consume(ev("proxy_providing", {{"active", "0"}, {"address", "127.0.0.1:0"}}));
  CHECK(shell.address().empty());
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  CHECK_FALSE(shell.address().empty());
  // Stopped for good (the node stops the shell before its roles): a late
  // event starts nothing.
  shell.stop();
  CHECK(shell.address().empty());
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  CHECK(shell.address().empty());
}

TEST_CASE("proxy shell: the provider's allowance pauses a client, the role hears it, a payment "
          "resumes it",
          "[proxy]") {
  raw_origin source(raw_origin::mode::source, 8 << 20);
  roles r;
  net::proxy_provider_shell shell(provider_options(), r.submit(), [](const std::string&) {});
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  shell.consume(ev("proxy_client_connected", {{"client", "7"}, {"peer", "1"}, {"token", token_a}}));
  auto allowance = [](double bytes) {
    return event{"proxy_allowance", 0, {{"client", "7"}, {"peer", "1"}}, {{"bytes", bytes}}};
  };
  shell.consume(allowance(1 << 20));
  client c(shell.address());
  c.send("CONNECT " + source.authority() + " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Bearer " +
         token_a + "\r\n\r\n");
  REQUIRE(c.connect_answer().status == 200);
  auto got = c.read_while_flowing(300ms);
  CHECK(got < (1u << 20));
  // The pause reaches the provider role as `proxy_stalled 7`.
  REQUIRE(eventually([&] { return r.count(ports::proxy, "proxy_stalled") == 1; }));
  // A payment: the role announces a larger allowance and the download completes.
  shell.consume(allowance(1e9));
  got += c.drain();
  CHECK(got == (8u << 20));
}

TEST_CASE("proxy shell: a client the provider saw close is refused too", "[proxy]") {
  http_origin origin;
  roles r;
  net::proxy_provider_shell shell(provider_options(), r.submit(), [](const std::string&) {});
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  shell.consume(ev("proxy_client_connected", {{"client", "9"}, {"token", token_a}}));
  shell.consume(ev("proxy_client_closed", {{"client", "9"}, {"reason", "client_closed"}}));
  client c(shell.address());
  c.send(get(token_a, origin.authority()));
  CHECK(c.response().status == 403);
}

TEST_CASE("proxy shell: ended clients a restarted provider names are refused with 403, active "
          "ones pass",
          "[proxy]") {
  http_origin origin;
  roles r;
  net::proxy_provider_shell shell(provider_options(), r.submit(), [](const std::string&) {});
  shell.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  shell.consume(
    ev("proxy_client_connected", {{"client", "9"}, {"token", token_a}, {"status", "terminated"}}));
  shell.consume(
    ev("proxy_client_connected", {{"client", "10"}, {"token", token_b}, {"status", "active"}}));
  CHECK(shell.known_clients() == 2);
  {
    client c(shell.address());
    c.send(get(token_a, origin.authority()));
    CHECK(c.response().status == 403);
  }
  client c(shell.address());
  c.send(get(token_b, origin.authority()));
  CHECK(c.response().status == 200);
}

TEST_CASE("proxy shell: an address the provider cannot bind makes the role stop providing",
          "[proxy]") {
  roles r;
  net::proxy_provider_shell first(provider_options(), r.submit(), [](const std::string&) {});
  first.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  net::proxy_provider_shell second(provider_options(), r.submit(), [](const std::string&) {});
  second.consume(ev("proxy_providing", {{"active", "1"}, {"address", first.address()}}));
  CHECK(second.address().empty());
  auto cmds = r.now();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].port == ports::proxy);
  CHECK(cmds[0].verb == "provide_proxy");
  CHECK(cmds[0].args == std::vector<std::string>{"stop"});
}

TEST_CASE("proxy shell: the client's session sets the local upstream, failures close it",
          "[proxy]") {
  http_origin origin;
  roles provider_roles, client_roles;
  net::proxy_provider_shell provider(provider_options(), provider_roles.submit(),
                                     [](const std::string&) {});
  provider.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  provider.consume(ev("proxy_client_connected", {{"client", "5"}, {"token", token_a}}));
  net::proxy_client_shell local(client_options(), client_roles.submit(), [](const std::string&) {});
  local.start();
  {
    client c(local.address());
    c.send(get("", origin.authority()));
    CHECK(c.response().status == 503); // no session yet
  }
  local.consume(
    ev("proxy_opened",
       {{"provider", "2"}, {"client", "5"}, {"address", provider.address()}, {"token", token_a}}));
  CHECK(local.current() == "5");
  std::uint64_t written = 0, read = 0;
  {
    client c(local.address());
    c.send(get("", origin.authority()));
    auto a = c.response();
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    written = c.bytes_written();
    read = c.bytes_read();
  }
  REQUIRE(eventually([&] {
    return client_roles.metered(ports::proxy_client, "5") ==
           std::pair<std::uint64_t, std::uint64_t>{written, read};
  }));
  // The provider counted the same exchange plus the token header it received.
  REQUIRE(eventually([&] { return provider_roles.metered(ports::proxy, "5").first > written; }));
  CHECK(provider_roles.metered(ports::proxy, "5").second == read);

  // Cut off at the provider: the local proxy passes its 403 on and the shell
  // tells the client role, once, that this session's provider failed.
  provider.consume(ev("proxy_cut_off", {{"client", "5"}, {"reason", "unpaid"}}));
  for (int i = 0; i < 2; ++i) {
    client c(local.address());
    c.send(get("", origin.authority()));
    auto status = c.response().status;
    CHECK((status == 403 || status == 503));
  }
  REQUIRE(eventually([&] { return client_roles.count(ports::proxy_client, "proxy_failed") == 1; }));
  for (auto& c : client_roles.now())
    if (c.verb == "proxy_failed") {
      REQUIRE(c.args.size() == 2);
      CHECK(c.args[0] == "5");
      CHECK(c.args[1].rfind("403", 0) == 0);
    }
  local.consume(ev("proxy_session_ended", {{"provider", "2"}, {"client", "5"}}));
  CHECK(local.current().empty());
  client c(local.address());
  c.send(get("", origin.authority()));
  CHECK(c.response().status == 503);
  CHECK(client_roles.count(ports::proxy_client, "proxy_failed") == 1);
  CHECK(client_roles.count(ports::proxy_client, "proxy_close") == 0);
}

TEST_CASE("proxy shell: over TLS the events' peer ids decide who the token works for", "[proxy]") {
  http_origin origin;
  roles r;
  auto provider_id = net::node_identity::ephemeral();
  auto client_id = net::node_identity::ephemeral();
  auto other_id = net::node_identity::ephemeral();
  auto popts = provider_options();
  popts.identity = provider_id;
  net::proxy_provider_shell provider(popts, r.submit(), [](const std::string&) {});
  provider.consume(ev("proxy_providing", {{"active", "1"}, {"address", "127.0.0.1:0"}}));
  REQUIRE_FALSE(provider.address().empty());
  provider.consume(
    ev("proxy_client_connected",
       {{"client", "7"}, {"peer", std::to_string(client_id->id())}, {"token", token_a}}));
  auto opened = [&](const std::string& client, peer_id chosen) {
    return ev("proxy_opened", {{"provider", std::to_string(chosen)},
                               {"client", client},
                               {"address", provider.address()},
                               {"token", token_a}});
  };
  auto copts = client_options();
  copts.identity = client_id;
  net::proxy_client_shell honest(copts, r.submit(), [](const std::string&) {});
  honest.start();
  honest.consume(opened("7", provider_id->id()));
  {
    client c(honest.address());
    c.send(get("", origin.authority()));
    CHECK(c.response().status == 200);
  }
  // The same token from another node: 403 at the provider, a failed session.
  copts.identity = other_id;
  net::proxy_client_shell thief(copts, r.submit(), [](const std::string&) {});
  thief.start();
  thief.consume(opened("8", provider_id->id()));
  {
    client c(thief.address());
    c.send(get("", origin.authority()));
    CHECK(c.response().status == 403);
  }
  // A session whose provider field names another node: 502, a failed session.
  honest.consume(opened("9", other_id->id()));
  {
    client c(honest.address());
    c.send(get("", origin.authority()));
    CHECK(c.response().status == 502);
  }
  REQUIRE(eventually([&] { return r.count(ports::proxy_client, "proxy_failed") == 2; }));
  std::vector<std::string> failed;
  for (auto& c : r.now())
    if (c.verb == "proxy_failed")
      failed.push_back(c.args.at(0) + " " + c.args.at(1).substr(0, 3));
  CHECK(failed == std::vector<std::string>{"8 403", "9 502"});
}
