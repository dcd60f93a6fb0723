#pragma once
// A live node (plaintext, 127.0.0.1) running given roles, with an HTTP server
// whose /signal route takes WebSockets into a ws_bridge to one of them: what
// the CDN site does, with the bridge's bounds set by the test.
#include "net/disk_content.hpp"
#include "net/http_server.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "net/ws_bridge.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

#include <catch2/catch.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>

namespace peerlab::test {

/// Events of the node's roles, collected from its actor thread.
class ws_events {
public:
  void add(const event& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  /// The first event of `kind` that `pred` accepts, waiting at most `timeout`.
  std::optional<event> wait_for(const std::string& kind,
                                std::function<bool(const event&)> pred = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    std::optional<event> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto& e : events_)
        if (e.kind == kind && (!pred || pred(e))) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::size_t count(const std::string& kind) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (auto& e : events_)
      n += e.kind == kind;
    return n;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<event> events_;
};

struct ws_world {
  ws_world(std::vector<std::shared_ptr<role>> roles, net::ws_bridge_options o) {
    net::live_options lo;
    lo.name = "ws-world";
    lo.roles = std::move(roles);
    lo.store = std::make_unique<net::sqlite_store>(dir.path() / "node.db");
    lo.content = std::make_unique<net::disk_content>(dir.path());
    lo.on_event = [this](port_t, const event& e) { events.add(e); };
    lo.on_log = [](const std::string&) {};
    rt = std::make_unique<net::live_runtime>(std::move(lo));
    rt->start();
    bridge = std::make_unique<net::ws_bridge>(*rt, o, [](const std::string&) {});
    http = std::make_unique<net::http_server>(
      net::http_server_options{},
      std::vector<net::http_server::route>{{"GET", "/signal", nullptr, 0, bridge->upgrade()}},
      [](const std::string&) {});
    http->start();
  }
  ~ws_world() {
    bridge->stop(); // while the server's io thread runs
    http->stop();
    rt->stop();
  }
  std::string address() const { return http->address(); }
  double counter(const std::string& name) const {
    auto c = bridge->counters();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
  }
  /// Waits until `pred` holds (at most 10 s); false if it never did.
  static bool eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 1000; ++i) {
      if (pred())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  temp_dir dir{"ws"};
  ws_events events;
  std::unique_ptr<net::live_runtime> rt;
  std::unique_ptr<net::ws_bridge> bridge;
  std::unique_ptr<net::http_server> http;
};

} // namespace peerlab::test
