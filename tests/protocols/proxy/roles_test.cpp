// The proxy provider and client on the shared lockstep network: discovery
// through kad, sessions, metering, the ProxyPaymentLoop against a real ledger
// role, every cheater cut off within its bound, restarts.
#include "protocols/common/sha256.hpp"
#include "protocols/kad/commands.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/proxy/client.hpp"
#include "protocols/proxy/provider.hpp"
#include "protocols/proxy/tables.hpp"
#include "tests/kit/lockstep_network.hpp"

#include <catch2/catch.hpp>

using namespace peerlab;
using namespace peerlab::proxy;
using namespace peerlab::test_kit;

namespace {

constexpr peer_id ledger_node = 1, prov_a = 2, prov_b = 3, cli = 10;
constexpr std::uint64_t fee_a = 10, fee_b = 20;

kad::config fast_kad() {
  kad::config k;
  k.request_timeout = 500 * us_per_ms;
  k.query_timeout = 5 * us_per_s;
  return k;
}

struct world {
  network net{5, 10 * us_per_ms};
  std::uint64_t next_id = 1;
  provider_config pc;
  client_config cc;

  world(provider_strategy pcheat = provider_strategy::honest,
        client_strategy ccheat = client_strategy::honest) {
    ledger::config lc;
    lc.block_interval = 1 * us_per_s;
    lc.confirmations = 2;
    net.add(ledger_node, {ledger::make_ledger(lc), kad::make_kad_role(fast_kad())});
    pc.ledger = ledger_node;
    pc.credit_window = 256 << 10;
    pc.tolerance = band{0.05, 64 << 10};
    pc.poll_interval = 500 * us_per_ms;
    pc.confirm_deadline = 20 * us_per_s;
    cc.ledger = ledger_node;
    cc.interval = 2 * us_per_s;
    cc.tolerance = pc.tolerance;
    cc.response_timeout = 4 * us_per_s;
    auto a = pc;
    a.fee_per_kb = fee_a;
    a.cheat = pcheat;
    auto b = pc;
    b.fee_per_kb = fee_b;
    net.add(prov_a, {make_provider(a), kad::make_kad_role(fast_kad())});
    net.add(prov_b, {make_provider(b), kad::make_kad_role(fast_kad())});
    cc.cheat = ccheat;
    net.add(cli, {make_client(cc), kad::make_kad_role(fast_kad())});
    net.start_all();
    for (peer_id n : {prov_a, prov_b, cli})
      net.command(n, ports::kad,
                  peerlab::command(next_id++, kad::command{kad::bootstrap{{{ledger_node, ""}}}}));
    net.command(ledger_node, ports::ledger,
                text_command_of(next_id++, "fund", {std::to_string(cli), "100000000"}));
    net.run_for(3 * us_per_s);
    // The providers announced when they started, before they knew a peer:
    // announce again now that kad has joined.
    for (peer_id n : {prov_a, prov_b})
      net.command(
        n, ports::proxy,
        peerlab::command(next_id++, proxy::command{provide_proxy{true, n == prov_a ? fee_a : fee_b,
                                                                 "127.0.0.1:3128"}}));
    net.run_for(3 * us_per_s);
  }
  std::uint64_t ask(peer_id n, port_t port, std::string verb, std::vector<std::string> args = {}) {
    auto id = next_id++;
    net.command(n, port, text_command_of(id, std::move(verb), std::move(args)));
    return id;
  }
  const event* reply(std::uint64_t id) const {
    for (auto& s : net.events)
      if (s.e.command_id == id)
        return &s.e;
    return nullptr;
  }
  provider& prov(peer_id n) { return net.at(n).role_at<provider>(ports::proxy); }
  client& cl() { return net.at(cli).role_at<client>(ports::proxy_client); }
  /// The provider's row of the client's current (or last) session.
  const provider::client* row_at(peer_id n) {
    auto& s = cl().current();
    if (!s)
      return nullptr;
    auto& m = prov(n).clients();
    auto it = m.find(s->client_id);
    return it == m.end() ? nullptr : &it->second;
  }
  /// Opens a session with provider A and browses 10 exchanges of 20 KB;
  /// returns the session's client id.
  std::uint64_t open_a_and_browse() {
    auto open = ask(cli, ports::proxy_client, "proxy_open", {"2"});
    net.run_for(2 * us_per_s);
    REQUIRE(reply(open));
    REQUIRE(reply(open)->kind == "proxy_opened");
    auto id = cl().current()->client_id;
    browse(10, 500, 20'000, 300 * us_per_ms);
    return id;
  }
  /// Web-like traffic: `n` exchanges, one every `gap`.
  void browse(int n, std::uint64_t req, std::uint64_t resp, time_us gap) {
    for (int i = 0; i < n; ++i) {
      ask(cli, ports::proxy_client, "proxy_fetch", {std::to_string(req), std::to_string(resp)});
      net.run_for(gap);
    }
  }
};

} // namespace

TEST_CASE("proxy: providers are found through the DHT and the cheapest is picked") {
  world w;
  auto list = w.ask(cli, ports::proxy_client, "proxy_providers");
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(list));
  CHECK(w.reply(list)->kind == "proxy_providers");
  CHECK(w.reply(list)->value("count") == 2);
  CHECK(w.reply(list)->field("providers")->starts_with("2:10:")); // cheapest first
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"best"});
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(open));
  CHECK(w.reply(open)->kind == "proxy_opened");
  CHECK(*w.reply(open)->field("provider") == "2");
  REQUIRE(w.row_at(prov_a));
  CHECK(w.row_at(prov_a)->status == "active");
}

TEST_CASE("proxy: an honest pair meters the same bytes and settles exactly") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  REQUIRE(w.cl().current());
  w.browse(40, 800, 30'000, 300 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto close = w.ask(cli, ports::proxy_client, "proxy_close");
  w.net.run_for(20 * us_per_s);
  REQUIRE(w.reply(close));
  CHECK(w.reply(close)->kind == "proxy_closed");
  auto& s = *w.cl().current();
  auto* r = w.row_at(prov_a);
  REQUIRE(r);
  CHECK(s.used() == 40 * (800 + 30'000));
  CHECK(r->used() == s.used());
  CHECK(r->status == "closed");
  CHECK(r->confirmed == fee_of(s.used(), fee_a));
  CHECK(s.confirmed == r->confirmed);
  CHECK(r->unconfirmed == 0);
  CHECK(w.net.of_kind("proxy_cut_off").empty());
  CHECK(w.net.of_kind("proxy_fetched").size() == 40);
  // The rows say the same as the roles' memory.
  auto row = w.net.at(prov_a).kv.get(tables::clients(), {cell_u64(s.client_id)});
  REQUIRE(row);
  CHECK(row->u64(10) == r->confirmed);
  CHECK(row->text(12) == "closed");
}

TEST_CASE("proxy: a client that stops paying is cut off within the credit window") {
  world w(provider_strategy::honest, client_strategy::stops_paying);
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(200, 500, 20'000, 100 * us_per_ms);
  w.net.run_for(10 * us_per_s);
  auto cuts = w.net.of_kind("proxy_cut_off");
  REQUIRE(cuts.size() == 1);
  CHECK(*cuts[0].field("reason") == "unpaid");
  auto* r = w.row_at(prov_a);
  REQUIRE(r);
  CHECK(r->status == "terminated");
  const double gain = static_cast<double>(fee_of(r->used(), fee_a)) - double(r->confirmed);
  CHECK(gain > 0);
  CHECK(gain <= double(fee_of(w.pc.client_gain_bound_bytes(), fee_a)));
  // Served no more once cut off: later requests are answered SESSION_ENDED.
  auto used = r->used();
  w.browse(5, 500, 20'000, 100 * us_per_ms);
  CHECK(w.row_at(prov_a)->used() == used);
  CHECK(w.cl().current()->status == "ended");
}

TEST_CASE("proxy: a client that under-reports and underpays is cut off") {
  world w(provider_strategy::honest, client_strategy::under_reports);
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(150, 500, 20'000, 100 * us_per_ms);
  w.net.run_for(30 * us_per_s);
  auto cuts = w.net.of_kind("proxy_cut_off");
  REQUIRE(cuts.size() == 1);
  auto* r = w.row_at(prov_a);
  REQUIRE(r);
  CHECK(r->status == "terminated");
  const double gain = static_cast<double>(fee_of(r->used(), fee_a)) - double(r->confirmed);
  CHECK(gain <= double(fee_of(w.pc.client_gain_bound_bytes(), fee_a)));
}

TEST_CASE("proxy: a provider that over-reports is refused and left") {
  world w(provider_strategy::over_reports);
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(60, 500, 20'000, 100 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto ends = w.net.of_kind("proxy_session_ended");
  REQUIRE(!ends.empty());
  CHECK(*ends[0].field("reason") == "out_of_tolerance");
  auto& s = *w.cl().current();
  CHECK(s.status == "ended");
  // It was paid at most what the band lets through.
  CHECK(s.sent() <= fee_of(s.used() + w.cc.tolerance.margin(s.used()), fee_a));
}

TEST_CASE("proxy: a provider that drops traffic after being paid is detected and replaced") {
  world w(provider_strategy::drops_after_paid);
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"best"});
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(open));
  REQUIRE(*w.reply(open)->field("provider") == "2");
  w.browse(120, 500, 20'000, 200 * us_per_ms);
  w.net.run_for(10 * us_per_s);
  auto ends = w.net.of_kind("proxy_session_ended");
  REQUIRE(!ends.empty());
  CHECK(*ends[0].field("reason") == "service_failed");
  CHECK(*ends[0].field("provider") == "2");
  // The client switched to the other provider and goes on through it.
  REQUIRE(w.cl().current());
  CHECK(w.cl().current()->provider == prov_b);
  CHECK(w.cl().current()->status == "active");
  CHECK(!w.net.of_kind("proxy_fetch_failed").empty());
}

TEST_CASE("proxy: proxy_failed from the data plane ends the session and a best session switches") {
  world w;
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"best"});
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(open));
  REQUIRE(*w.reply(open)->field("provider") == "2");
  auto first = w.cl().current()->client_id;
  // Not the open session: refused, nothing ends.
  auto wrong = w.ask(cli, ports::proxy_client, "proxy_failed", {std::to_string(first + 1), "502"});
  w.net.run_for(1 * us_per_s);
  REQUIRE(w.reply(wrong));
  CHECK(w.reply(wrong)->kind == "command_failed");
  CHECK(w.net.of_kind("proxy_session_ended").empty());
  auto bad = w.ask(cli, ports::proxy_client, "proxy_failed", {"x"});
  w.net.run_for(1 * us_per_s);
  REQUIRE(w.reply(bad));
  CHECK(w.reply(bad)->kind == "command_failed");
  // The live local proxy could not reach provider 2's forward proxy.
  w.ask(cli, ports::proxy_client, "proxy_failed",
        {std::to_string(first), "502 connection refused"});
  w.net.run_for(8 * us_per_s);
  auto ends = w.net.of_kind("proxy_session_ended");
  REQUIRE(ends.size() == 1);
  CHECK(*ends[0].field("reason") == "service_failed");
  CHECK(*ends[0].field("provider") == "2");
  CHECK(ends[0].field("text")->find("502 connection refused") != std::string::npos);
  // The client settled before leaving, so provider 2 closed the session (not
  // a cut-off); the client went on with provider 3.
  CHECK(w.prov(prov_a).clients().at(first).status == "closed");
  REQUIRE(w.cl().current());
  CHECK(w.cl().current()->provider == prov_b);
  CHECK(w.cl().current()->status == "active");
  auto opened = w.net.of_kind("proxy_opened");
  REQUIRE(opened.size() == 2);
  CHECK(*opened[1].field("provider") == "3");
}

TEST_CASE("proxy: a transaction id pays one reference only") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto& s = *w.cl().current();
  REQUIRE(w.row_at(prov_a)->confirmed > 0);
  // Replay a notification of the paid transaction for a fresh bill.
  tx_id paid{};
  w.net.at(prov_a).kv.scan(tables::payments(), {}, [&](const row& r) {
    if (r.text(5) == "verified")
      std::copy(r.blob(3).begin(), r.blob(3).end(), paid.begin());
  });
  w.browse(5, 500, 20'000, 100 * us_per_ms);
  bool replayed = false;
  w.net.tamper = [&](peer_id from, peer_id to, bytes& f) {
    if (replayed || from != cli || to != prov_a)
      return true;
    auto d = decode(f);
    if (auto* n = d.ok() ? std::get_if<payment_notify>(&d.msg) : nullptr) {
      auto m = *n;
      m.tx = paid;
      f = encode(m);
      replayed = true;
    }
    return true;
  };
  w.net.run_for(10 * us_per_s);
  REQUIRE(replayed);
  CHECK(w.net.counter(prov_a, "proxy.duplicate_tx") == 1);
  CHECK(w.row_at(prov_a)->status == "terminated");
}

TEST_CASE("proxy: a restarted provider keeps its clients, bills and offer") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  auto before = *w.row_at(prov_a);
  auto a = w.pc;
  a.fee_per_kb = 0; // the offer comes back from ProxyOffer
  w.net.restart(prov_a, {make_provider(a), kad::make_kad_role(fast_kad())});
  auto* after = w.row_at(prov_a);
  REQUIRE(after);
  CHECK(after->used() == before.used());
  CHECK(after->token == before.token);
  CHECK(after->confirmed == before.confirmed);
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto close = w.ask(cli, ports::proxy_client, "proxy_close");
  w.net.run_for(20 * us_per_s);
  REQUIRE(w.reply(close));
  CHECK(w.row_at(prov_a)->confirmed == fee_of(w.row_at(prov_a)->used(), fee_a));
  CHECK(w.net.of_kind("proxy_cut_off").empty());
}

TEST_CASE("proxy: metered is the one entry point, for live counts too") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  auto id = std::to_string(w.cl().current()->client_id);
  w.ask(prov_a, ports::proxy, "metered", {id, "1000", "50000"});
  w.ask(cli, ports::proxy_client, "metered", {id, "1000", "50000"});
  CHECK(w.row_at(prov_a)->used() == 51'000);
  CHECK(w.cl().current()->used() == 51'000);
  auto bad = w.ask(prov_a, ports::proxy, "metered", {"12345", "1", "1"});
  REQUIRE(w.reply(bad));
  CHECK(w.reply(bad)->value("code") == 404);
  // The Bearer token names the client (live: 407 for an unknown one, 403 once cut off).
  auto& tok = w.cl().current()->token;
  auto auth = w.ask(prov_a, ports::proxy, "proxy_authorize", {to_hex(byte_view{tok.data(), 32})});
  REQUIRE(w.reply(auth));
  CHECK(w.reply(auth)->kind == "proxy_authorized");
  CHECK(*w.reply(auth)->field("client") == id);
  auto stranger = w.ask(prov_a, ports::proxy, "proxy_authorize", {std::string(64, 'a')});
  CHECK(w.reply(stranger)->value("code") == 404);
  // Past the credit window without paying: cut off by the metering alone.
  w.ask(prov_a, ports::proxy, "metered", {id, "0", std::to_string(w.pc.credit_window)});
  CHECK(w.row_at(prov_a)->status == "terminated");
  auto late = w.ask(prov_a, ports::proxy, "metered", {id, "1", "1"});
  CHECK(w.reply(late)->value("code") == 409);
  auto cut = w.ask(prov_a, ports::proxy, "proxy_authorize", {to_hex(byte_view{tok.data(), 32})});
  CHECK(w.reply(cut)->value("code") == 409);
}

TEST_CASE("proxy: the allowance a provider announces is exactly where metering cuts off") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  auto id = std::to_string(w.cl().current()->client_id);
  auto latest = [&] {
    double bytes = -1;
    for (auto& e : w.net.of_kind("proxy_allowance"))
      if (e.field("client") && *e.field("client") == id)
        bytes = e.value("bytes");
    return bytes;
  };
  // Nothing paid yet: the credit window, rounded to what its fee allows.
  auto first = static_cast<std::uint64_t>(latest());
  REQUIRE(first >= w.pc.credit_window);
  CHECK(fee_of(first, fee_a) == fee_of(w.pc.credit_window, fee_a));
  CHECK(fee_of(first + 1, fee_a) > fee_of(w.pc.credit_window, fee_a));
  // Traffic that the client pays for raises it.
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(6 * us_per_s);
  auto paid = w.row_at(prov_a)->confirmed + w.row_at(prov_a)->unconfirmed;
  REQUIRE(paid > 0);
  auto now = static_cast<std::uint64_t>(latest());
  CHECK(now > first);
  CHECK(fee_of(now, fee_a) == paid + fee_of(w.pc.credit_window, fee_a));
  // Metering up to it passes; one byte more is a cut-off.
  auto used = w.row_at(prov_a)->used();
  REQUIRE(used < now);
  w.ask(prov_a, ports::proxy, "metered", {id, "0", std::to_string(now - used)});
  CHECK(w.row_at(prov_a)->status == "active");
  w.ask(prov_a, ports::proxy, "metered", {id, "0", "1"});
  CHECK(w.row_at(prov_a)->status == "terminated");
}

TEST_CASE("proxy: a client paused at its allowance is cut off only if it pays nothing") {
  world w;
  auto id = std::to_string(w.open_a_and_browse());
  // Paused, then its payments go on (an honest client that outran them): no cut-off.
  w.ask(prov_a, ports::proxy, "proxy_stalled", {id});
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(w.pc.stall_deadline + 5 * us_per_s);
  CHECK(w.row_at(prov_a)->status == "active");
  // Paused and nothing paid for stall_deadline: cut off as unpaid.
  w.ask(prov_a, ports::proxy, "proxy_stalled", {id});
  w.net.run_for(w.pc.stall_deadline - 2 * us_per_s);
  CHECK(w.row_at(prov_a)->status == "active");
  w.net.run_for(3 * us_per_s);
  REQUIRE(w.row_at(prov_a)->status == "terminated");
  CHECK(w.row_at(prov_a)->reason.find("paused at its credit window") != std::string::npos);
  auto late = w.ask(prov_a, ports::proxy, "proxy_stalled", {id});
  CHECK(w.reply(late)->value("code") == 409);
  auto unknown = w.ask(prov_a, ports::proxy, "proxy_stalled", {"4242"});
  CHECK(w.reply(unknown)->value("code") == 404);
}

TEST_CASE("proxy: refusals, stray and hostile frames are answered or dropped, never fatal") {
  world w;
  // A node that does not provide: META and CONNECT are refused with their type.
  w.ask(prov_b, ports::proxy, "provide_proxy", {"stop"});
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"3"});
  w.net.run_for(2 * us_per_s);
  REQUIRE(w.reply(open));
  CHECK(w.reply(open)->kind == "command_failed");
  CHECK(w.reply(open)->field("reason")->find("not_provider") != std::string::npos);
  // Junk, frames of the other side and replies to nothing.
  rng r(3);
  for (int i = 0; i < 300; ++i) {
    bytes junk(r.below(80), 0);
    for (auto& b : junk)
      b = static_cast<std::uint8_t>(r.next());
    if (!junk.empty())
      junk[0] = i % 2 ? ports::proxy : ports::proxy_client;
    w.net.deliver_now(99, i % 2 ? prov_a : cli, junk);
  }
  w.net.deliver_now(99, cli, encode(payment_request{1, 1, 1, 1, 1, 99, {}}));
  w.net.deliver_now(99, cli, encode(session_ended{1, end_reason::unpaid, ""}));
  w.net.deliver_now(99, prov_a, encode(usage_report{}));
  w.net.deliver_now(99, prov_a, encode(payment_notify{}));
  w.net.deliver_now(99, prov_a, encode(meta{1, {}}));
  w.net.run_for(1 * us_per_s);
  CHECK(w.net.counter("frames_rejected") >= 290);
  auto usage = w.ask(cli, ports::proxy_client, "proxy_usage");
  REQUIRE(w.reply(usage));
  CHECK(w.reply(usage)->rows_schema == &tables::sessions());
  auto bad = w.ask(cli, ports::proxy_client, "proxy_open", {"nobody"});
  CHECK(w.reply(bad)->value("code") == 400);
}

TEST_CASE("proxy: a restarted client resumes its session from ProxySessions and settles") {
  world w;
  w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto before = *w.cl().current();
  REQUIRE(before.sent() > 0);
  w.net.restart(cli, {make_client(w.cc), kad::make_kad_role(fast_kad())});
  auto& after = w.cl().current();
  REQUIRE(after);
  CHECK(after->client_id == before.client_id);
  CHECK(after->token == before.token);
  CHECK(after->used() == before.used());
  CHECK(after->sent() == before.sent());
  w.browse(10, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(5 * us_per_s);
  auto close = w.ask(cli, ports::proxy_client, "proxy_close");
  w.net.run_for(20 * us_per_s);
  REQUIRE(w.reply(close));
  CHECK(w.reply(close)->kind == "proxy_closed");
  auto* r = w.row_at(prov_a);
  REQUIRE(r);
  CHECK(r->status == "closed");
  CHECK(r->used() == w.cl().current()->used());
  CHECK(r->confirmed == fee_of(r->used(), fee_a));
}

// A live node's proxies are set up from these events alone (net/proxy_shell):
// the provider's and the client's must carry the same token, the client's the
// proxy address, and restarted roles must announce them again.
TEST_CASE("proxy: the session events carry token and address, and restarts repeat them") {
  world w;
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  REQUIRE(w.reply(open));
  auto* opened = w.reply(open);
  REQUIRE(opened->kind == "proxy_opened");
  auto token = to_hex(byte_view{w.cl().current()->token.data(), 32});
  CHECK(*opened->field("token") == token);
  CHECK(*opened->field("address") == "127.0.0.1:3128");
  auto client_id = std::to_string(w.cl().current()->client_id);
  CHECK(*opened->field("client") == client_id);
  auto connected = [&](std::size_t from) {
    auto all = w.net.of_kind("proxy_client_connected");
    return std::vector<event>(all.begin() + static_cast<std::ptrdiff_t>(from), all.end());
  };
  auto first = connected(0);
  REQUIRE(first.size() == 1);
  CHECK(*first[0].field("token") == token);
  CHECK(*first[0].field("client") == client_id);

  auto providing_before = w.net.of_kind("proxy_providing").size();
  auto a = w.pc;
  a.fee_per_kb = 0; // the offer comes back from ProxyOffer
  w.net.restart(prov_a, {make_provider(a), kad::make_kad_role(fast_kad())});
  auto providing = w.net.of_kind("proxy_providing");
  REQUIRE(providing.size() == providing_before + 1);
  CHECK(*providing.back().field("address") == "127.0.0.1:3128");
  CHECK(*providing.back().field("active") == "1");
  auto again = connected(1);
  REQUIRE(again.size() == 1);
  CHECK(*again[0].field("token") == token);
  CHECK(*again[0].field("status") == "active");

  auto opened_before = w.net.of_kind("proxy_opened").size();
  w.net.restart(cli, {make_client(w.cc), kad::make_kad_role(fast_kad())});
  auto reopened = w.net.of_kind("proxy_opened");
  REQUIRE(reopened.size() == opened_before + 1);
  CHECK(*reopened.back().field("token") == token);
  CHECK(reopened.back().command_id == 0);
}

TEST_CASE("proxy: a restarted provider names its ended clients too, so their tokens stay refused") {
  world w;
  auto open = w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(1 * us_per_s);
  REQUIRE(w.reply(open));
  auto token = to_hex(byte_view{w.cl().current()->token.data(), 32});
  auto close = w.ask(cli, ports::proxy_client, "proxy_close");
  w.net.run_for(5 * us_per_s);
  REQUIRE(w.reply(close));
  REQUIRE(w.prov(prov_a).clients().begin()->second.status == "closed");
  auto before = w.net.of_kind("proxy_client_connected").size();
  auto a = w.pc;
  a.fee_per_kb = 0;
  w.net.restart(prov_a, {make_provider(a), kad::make_kad_role(fast_kad())});
  auto all = w.net.of_kind("proxy_client_connected");
  REQUIRE(all.size() == before + 1);
  CHECK(*all.back().field("token") == token);
  CHECK(*all.back().field("status") == "closed");
}

TEST_CASE("proxy: a client that left a provider while it was down continues the session and "
          "settles it") {
  world w;
  auto id = w.open_a_and_browse();
  w.net.run_for(5 * us_per_s);
  // The provider crashes: requests go unanswered, the client tries to settle
  // and leaves without SESSION_END (not square), so the provider's row stays
  // open rather than being cut off.
  w.net.crash(prov_a);
  w.browse(3, 500, 20'000, 300 * us_per_ms);
  w.net.run_for(20 * us_per_s);
  auto ends = w.net.of_kind("proxy_session_ended");
  REQUIRE(ends.size() == 1);
  CHECK(*ends[0].field("reason") == "service_failed");
  auto a = w.pc;
  a.fee_per_kb = 0;
  w.net.restart(prov_a, {make_provider(a), kad::make_kad_role(fast_kad())});
  REQUIRE(w.prov(prov_a).clients().at(id).status == "active");
  // Connecting again: the provider gives the same client id and its count;
  // the client continues from its own row, the counts agree, the rest is paid.
  auto again = w.ask(cli, ports::proxy_client, "proxy_open", {"2"});
  w.net.run_for(2 * us_per_s);
  REQUIRE(w.reply(again));
  REQUIRE(w.reply(again)->kind == "proxy_opened");
  REQUIRE(w.cl().current()->client_id == id);
  CHECK(w.cl().current()->used() > 200'000);
  w.browse(5, 500, 20'000, 300 * us_per_ms);
  auto close = w.ask(cli, ports::proxy_client, "proxy_close");
  w.net.run_for(15 * us_per_s);
  REQUIRE(w.reply(close));
  auto& row = w.prov(prov_a).clients().at(id);
  for (auto& e : w.net.events)
    if (e.e.kind.rfind("proxy_", 0) == 0 && e.e.kind != "proxy_fetched")
      UNSCOPED_INFO(e.e.kind << " " << (e.e.field("reason") ? *e.e.field("reason") : "") << " "
                             << (e.e.field("text") ? *e.e.field("text") : ""));
  CHECK(row.status == "closed");
  CHECK(w.net.of_kind("proxy_cut_off").empty());
  auto due = fee_of(row.used(), fee_a);
  CHECK(row.confirmed + row.unconfirmed + 1 >= due);
  CHECK(row.confirmed + row.unconfirmed <= due + 1);
}

TEST_CASE("proxy: a client that leaves owing within the band is closed, beyond it cut off") {
  // Within the band: the shortfall two honest counts may differ by.
  for (bool far : {false, true}) {
    world w;
    auto id = w.open_a_and_browse();
    w.net.run_for(6 * us_per_s);
    // The provider counts bytes the client never paid for: a few KB (in
    // flight at a crash), or several credit windows.
    w.net.act(prov_a, ports::proxy, [&](context& ctx, effects& fx) {
      w.prov(prov_a).meter(ctx, id, 0, far ? 4 * w.pc.credit_window : 3000, fx);
    });
    auto close = w.ask(cli, ports::proxy_client, "proxy_close");
    w.net.run_for(15 * us_per_s);
    REQUIRE(w.reply(close));
    CHECK(w.prov(prov_a).clients().at(id).status == (far ? "terminated" : "closed"));
  }
}
