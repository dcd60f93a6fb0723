// The droplog role on its own: two roles wired back to back (frames handed
// over directly), commands, events, HTTP with the simulated upstream, 504s,
// forged frames and restarts through the kv_store.
#include "helpers.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "tests/kit/no_content.hpp"

#include <catch2/catch.hpp>

#include <deque>

using namespace droplog_test;

namespace {

droplog::role_config role_cfg(peer_id peer, bool serve) {
  droplog::role_config c;
  c.session = small_config(0, 0);
  c.peers = {peer};
  c.serve_http = serve;
  c.http_timeout = 10 * us_per_s;
  return c;
}

/// Nodes 0 and 1 (and an optional forger 2); frames arrive after 1 ms, timers on time.
struct world {
  explicit world(bool with_forger = false) {
    roles[0] = droplog::make_drop_role(role_cfg(1, false));
    roles[1] = droplog::make_drop_role(role_cfg(0, true));
    if (with_forger) {
      auto f = role_cfg(1, false);
      f.forge = true;
      f.impersonate = 0;
      f.forge_interval = 100 * us_per_ms;
      roles[2] = droplog::make_drop_role(f);
    }
    for (peer_id n = 0; n < 3; ++n)
      if (roles[n])
        input(n, [&](context& c, effects& fx) { roles[n]->start(c, fx); });
  }
  template <class F>
  void input(peer_id n, F f) {
    context c{now, n, rngs[n], kv[n], content, {}};
    effects fx;
    f(c, fx);
    for (auto& fr : fx.frames)
      queue.push_back({now + us_per_ms, 0, fr.to, n, fr.data});
    for (auto& t : fx.timers)
      queue.push_back({now + t.delay, t.token, n, n, {}, true});
    for (auto& e : fx.events)
      events.push_back({n, e});
  }
  void run_until(time_us end) {
    while (true) {
      auto it =
        std::min_element(queue.begin(), queue.end(), [](auto& x, auto& y) { return x.at < y.at; });
      if (it == queue.end() || it->at > end)
        break;
      auto ev = *it;
      queue.erase(it);
      now = ev.at;
      if (!roles[ev.to])
        continue;
      if (ev.timer)
        input(ev.to, [&](context& c, effects& fx) { roles[ev.to]->timer(c, ev.token, fx); });
      else
        input(ev.to,
              [&](context& c, effects& fx) { roles[ev.to]->frame(c, ev.from, view(ev.data), fx); });
    }
    now = end;
  }
  std::uint64_t command(peer_id n, std::string verb, std::vector<std::string> args) {
    auto cmd = text_command_of(next_cmd++, std::move(verb), std::move(args));
    input(n, [&](context& c, effects& fx) { deliver_command(*roles[n], c, cmd, fx); });
    return cmd.id;
  }
  const event* find(const std::string& kind, std::uint64_t cmd = 0) const {
    for (auto& [n, e] : events)
      if (e.kind == kind && (cmd == 0 || e.command_id == cmd))
        return &e;
    return nullptr;
  }
  std::size_t count(const std::string& kind) const {
    std::size_t k = 0;
    for (auto& [n, e] : events)
      k += e.kind == kind;
    return k;
  }
  void crash(peer_id n) { // state lost, kv_store kept; timers of the old role ignored
    roles[n] = droplog::make_drop_role(role_cfg(1 - n, n == 1));
    std::erase_if(queue, [&](auto& q) { return q.timer && q.to == n; });
    input(n, [&](context& c, effects& fx) { roles[n]->start(c, fx); });
  }

  struct pending {
    time_us at;
    std::uint64_t token;
    peer_id to, from;
    bytes data;
    bool timer = false;
  };
  time_us now = 0;
  std::shared_ptr<role> roles[3];
  memory_kv kv[3];
  rng rngs[3] = {rng(1), rng(2), rng(3)};
  peerlab::test_kit::no_content content;
  std::deque<pending> queue;
  std::vector<std::pair<peer_id, event>> events;
  std::uint64_t next_cmd = 1;
};

} // namespace

TEST_CASE("droplog role delivers sent messages as events with their digest", "[role]") {
  world w;
  auto id = w.command(0, "send", {"1", "hello, file drop"});
  REQUIRE(w.find("droplog_submitted", id));
  w.run_until(2 * us_per_s);
  auto* d = w.find("droplog_delivered");
  REQUIRE(d);
  CHECK(*d->field("from") == "0");
  CHECK(*d->field("sha256") ==
        to_hex(sha256::of(view(
          bytes{'h', 'e', 'l', 'l', 'o', ',', ' ', 'f', 'i', 'l', 'e', ' ', 'd', 'r', 'o', 'p'}))));
  CHECK(d->value("size") == 16);
}

TEST_CASE("droplog role answers HTTP calls with the simulated upstream", "[role]") {
  world w;
  auto get = w.command(0, "http", {"1", "GET", "/size/3000", ""});
  auto post = w.command(0, "http", {"1", "POST", "/size/1", std::string("\0\1\2", 3)});
  w.run_until(5 * us_per_s);
  auto* g = w.find("http_response", get);
  REQUIRE(g);
  CHECK(g->value("status") == 200);
  auto body = http::simulated_body("/size/3000", 3000);
  CHECK(*g->field("sha256") == to_hex(sha256::of(view(body))));
  auto* p = w.find("http_response", post);
  REQUIRE(p);
  CHECK(p->value("status") == 200);
  CHECK(p->value("size") == 32 + 3);
}

TEST_CASE("droplog role answers 504 when nothing comes back in time", "[role]") {
  world w;
  w.roles[1].reset(); // b is gone
  auto id = w.command(0, "http", {"1", "GET", "/size/10", "", "500"});
  w.run_until(400 * us_per_ms);
  CHECK_FALSE(w.find("http_response", id));
  w.run_until(600 * us_per_ms);
  auto* r = w.find("http_response", id);
  REQUIRE(r);
  CHECK(r->value("status") == 504);
}

TEST_CASE("droplog role refuses bad commands with a reason", "[role]") {
  world w;
  auto a = w.command(0, "send", {"7", "x"});
  auto b = w.command(0, "http", {"1", "GET", "no-slash", ""});
  auto c = w.command(0, "dance", {});
  REQUIRE(w.find("command_failed", a));
  CHECK(w.find("command_failed", a)->field("reason")->find("no session") != std::string::npos);
  REQUIRE(w.find("command_failed", b));
  REQUIRE(w.find("command_failed", c));
}

TEST_CASE("droplog role never accepts forged frames", "[role]") {
  world w(true);
  for (int i = 0; i < 20; ++i)
    w.command(0, "send", {"1", "genuine " + std::to_string(i)});
  w.run_until(3 * us_per_s);
  CHECK(w.count("droplog_forged_sent") >= 20);
  CHECK(w.count("droplog_rejected") >= 20);
  CHECK(w.count("droplog_delivered") == 20);
  for (auto& [n, e] : w.events)
    if (e.kind == "droplog_delivered")
      CHECK(e.field("head")->rfind(to_hex(view(bytes{'g', 'e', 'n'})), 0) == 0);
}

TEST_CASE("droplog role restarted from its kv_store delivers every message once", "[role]") {
  world w;
  for (int i = 0; i < 50; ++i)
    w.command(0, "send", {"1", "m" + std::to_string(i)});
  w.run_until(3 * us_per_ms); // part of the way
  w.crash(1);
  w.crash(0);
  w.run_until(5 * us_per_s);
  CHECK(w.count("droplog_delivered") == 50);
}
