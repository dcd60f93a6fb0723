#include "protocols/registry.hpp"
#include "apps/peerlab/node_command.hpp"

#include "apps/peerlab/args.hpp"
#include "apps/peerlab/node_control.hpp"
#include "apps/peerlab/node_shaping.hpp"

#include "net/address.hpp"
#include "net/cdn_site.hpp"
#include "net/disk_content.hpp"
#include "net/drop_listener.hpp"
#include "net/drop_upstream.hpp"
#include "net/fileset_api.hpp"
#include "net/log_budget.hpp"
#include "net/live_runtime.hpp"
#include "net/market_api.hpp"
#include "net/node_config.hpp"
#include "net/private_file.hpp"
#include "net/proxy_shell.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/cdn/origin.hpp"
#include "protocols/client/client.hpp"
#include "protocols/droplog/droplog.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/fileset/fileset.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/proxy/proxy.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <pthread.h>
#include <thread>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace peerlab::net {

namespace {

using nlohmann::json;

const app::command_help node_help{
  "node",
  "--config FILE",
  "Runs one live node as described by FILE (JSON; see docs/live.md).",
  {{"config", "FILE", "the node's configuration (required)"}},
  "Prints one JSON line per event on stdout; stops on SIGINT/SIGTERM.\n"
  "Exit 1 means a download failed."};

const app::command_help id_help{
  "id",
  "--config FILE",
  "Prints the peer id of FILE's node, creating its key (data_dir/node.key) if missing.",
  {{"config", "FILE", "the node's configuration (required)"}},
  "Prints {\"name\": ..., \"peer_id\": ...} on stdout, so that other configs can\n"
  "name the node (a ledger, a bootstrap node) before it first runs."};

// Numbers that are whole print without a fraction ("bytes": 1048576).
json number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15)
    return static_cast<std::int64_t>(v);
  return v;
}

class printer {
public:
  void line(const json& j) {
    std::lock_guard lock(mu_);
    auto s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    std::fprintf(stdout, "%s\n", s.c_str());
    std::fflush(stdout);
  }
  void error(const std::string& name, const std::string& msg) {
    std::lock_guard lock(mu_);
    std::fprintf(stderr, "[%s] %s\n", name.c_str(), msg.c_str());
  }

private:
  std::mutex mu_;
};

// SIGINT and SIGTERM are blocked in every thread of the node and taken by one
// thread with sigwait, which wakes the session: no handler, no polling.
// SIGUSR1 ends that thread when the node stops for another reason.
class signal_waiter {
public:
  explicit signal_waiter(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &old_); // threads started from now on inherit it
    thread_ = std::thread([this] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR1)
          return;
        on_signal_(sig);
      }
    });
  }
  ~signal_waiter() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

private:
  std::function<void(int)> on_signal_;
  sigset_t set_{}, old_{};
  std::thread thread_;
};

// Commands the node config asks of the client role get ids far from those of
// the HTTP APIs.
constexpr std::uint64_t first_config_command = 1;

class session {
public:
  session(node_config cfg, printer& out) : cfg_(std::move(cfg)), out_(out) {}

  int run() {
    std::error_code ec;
    std::filesystem::create_directories(cfg_.data_dir, ec);
    if (ec) {
      log("data_dir " + cfg_.data_dir.string() + ": cannot create: " + ec.message());
      return 2;
    }
    live_options o;
    if (!cfg_.plaintext) {
      try {
        o.identity = node_identity::load_or_create(cfg_.data_dir / "node.key");
      } catch (const std::exception& e) {
        log(e.what());
        return 2;
      }
    }
    self_ = o.identity ? o.identity->id() : peer_id_from_name(cfg_.name);
    identity_ = o.identity;
    if (cfg_.shaping) // a scenario's network on this node's outgoing frames
      if (auto err = install_shaping(*cfg_.shaping, self_, o); !err.empty()) {
        log(err);
        return 2;
      }
    if (cfg_.api || cfg_.fileset_http) { // the local APIs' token for state-changing routes
      try {
        api_token_ = load_or_create_api_token(token_file());
      } catch (const std::exception& e) {
        log(e.what());
        return 2;
      }
      if (cfg_.api)
        cfg_.api->token = api_token_;
    }
    if (!open_storage(o))
      return 2;
    add_roles_and_peers(o);
    live_runtime rt(std::move(o));
    rt_ = &rt;
    make_apis(rt);
    if (!start_listening(rt)) {
      rt_ = nullptr;
      return app::exit_code::runtime; // cannot listen
    }
    for (auto& [id, addr] : cfg_.address_book)
      rt.learn_address(id, addr);
    issue_config_commands();
    std::unique_ptr<app::control_reader> control;
    if (cfg_.control_stdin)
      control = std::make_unique<app::control_reader>(
        0, [this](const app::control_line& c) { on_control(c); },
        [this](std::uint64_t line, const std::string& error) {
          out_.line({{"event", "control_error"}, {"line", line}, {"error", error}});
        },
        [this] { stop(control_closed); });
    std::string reason = wait_until_done();
    control.reset();
    if (drop_listener_) // before the roles: it posts commands to them
      drop_listener_->stop();
    if (drop_upstream_)
      drop_upstream_->stop();
    if (cfg_.drop_http)
      print_drop_metrics();
    if (proxy_client_) // before the roles: the proxies post commands to them
      proxy_client_->stop();
    if (proxy_provider_)
      proxy_provider_->stop();
    if (fileset_)
      fileset_->stop();
    if (api_)
      api_->stop();
    rt.stop(); // the signal role's goodbyes still reach the site's WebSockets
    json counters = json::object();
    if (cdn_site_) {
      cdn_site_->stop();
      for (auto& [k, v] : cdn_site_->counters())
        counters[k] = number(v);
      cdn_site_.reset(); // it reaches the runtime: gone before the runtime
    }
    for (auto& [k, v] : rt.counters())
      counters[k] = number(v);
    bool failed = false;
    {
      std::lock_guard lock(mu_);
      failed = fetches_failed_ > 0;
    }
    out_.line({{"event", "stopped"}, {"reason", reason}, {"counters", counters}});
    rt_ = nullptr;
    return failed ? 1 : 0;
  }

private:
  void log(const std::string& m) { out_.error(cfg_.name, m); }
  std::filesystem::path token_file() const { return cfg_.data_dir / "api.token"; }

  // The node's rows (SQLite) and files on disk, with the config's files
  // provided; false (logged) if either cannot be opened or a file is unusable.
  bool open_storage(live_options& o) {
    auto logger = [this](const std::string& m) { log(m); };
    try {
      o.store =
        std::make_unique<sqlite_store>(cfg_.db_file.value_or(cfg_.data_dir / "node.db"), logger);
      auto content = std::make_unique<disk_content>(cfg_.data_dir, logger);
      for (std::size_t i = 0; i < cfg_.provide.size(); ++i) {
        file_info f;
        try {
          f = content->provide(cfg_.provide[i]);
        } catch (const store_error& e) {
          log("provide[" + std::to_string(i) + "]: " + e.what());
          return false;
        }
        out_.line({{"event", "providing"},
                   {"hash", to_hex(f.hash)},
                   {"name", f.name},
                   {"size", f.size},
                   {"price", f.price}});
        provided_.push_back(f.hash);
      }
      files_ = content.get();
      o.content = std::move(content);
    } catch (const store_error& e) {
      log(e.what());
      return false;
    }
    return true;
  }

  // The peers to dial, the config's roles, a client role for the config's
  // user-level commands, and the roles of the HTTP API.
  void add_roles_and_peers(live_options& o) {
    o.name = cfg_.name;
    o.listen = cfg_.listen;
    o.peers = cfg_.peers;
    auto dial = [&o](const std::string& p) {
      if (std::find(o.peers.begin(), o.peers.end(), p) == o.peers.end())
        o.peers.push_back(p);
    };
    for (auto& d : cfg_.downloads) // providers are dialed to learn their peer ids
      for (auto& p : d.providers)
        dial(p);
    for (auto& p : cfg_.kad_bootstrap) // dialed to learn their peer ids
      dial(p);
    o.seed = cfg_.seed;
    o.roles = cfg_.roles;
    o.drop_folders = cfg_.drop_folders;
    bool has_client = false;
    for (auto& r : cfg_.roles) {
      has_kad_ |= r->port() == ports::kad;
      has_client |= r->port() == ports::client;
    }
    // The user-level commands of the config (join, announce, fetch) run in the
    // client role, as the simulator's workloads do: add one if needed.
    if (!has_client && (has_kad_ || !cfg_.downloads.empty())) {
      client::config cc;
      cc.wait = cfg_.provider_wait;
      o.roles.push_back(client::make_client(cc));
    }
    for (auto& r : o.roles) {
      own_ports_.insert(r->port());
      role_ports_[r->name()] = r->port();
    }
    if (cfg_.api) // the HTTP API's role (account), and a downloader for lookups
      market_api::install_roles(*cfg_.api, o.roles, self_);
    o.on_event = [this](port_t port, const event& e) { on_event(port, e); };
    o.on_peer = [this](peer_id id, const std::string& addr) { on_peer(id, addr); };
    o.on_log = [this](const std::string& m) { log(m); };
  }

  void make_apis(live_runtime& rt) {
    auto logger = [this](const std::string& m) { log(m); };
    make_proxies(rt);
    if (cfg_.cdn_site) { // the CDN's site serves what the cdn_origin role serves
      const cdn::origin* origin = nullptr;
      for (auto& r : cfg_.roles)
        if (auto* o = dynamic_cast<const cdn::origin*>(r.get()))
          origin = o;
      cdn_site_ =
        std::make_unique<cdn_site>(*cfg_.cdn_site, origin->config(),
                                   own_ports_.count(ports::cdn_signal) ? &rt : nullptr, logger);
    }
    if (cfg_.drop_http && cfg_.drop_http->side_a) { // HTTP requests become `http` commands
      auto& d = *cfg_.drop_http;
      drop_listener_ = std::make_unique<drop_listener>(
        drop_listener_options{d.listen, d.peer, d.request_timeout, d.max_body, d.max_connections},
        [&rt](const command& c) { return rt.command(ports::droplog, c); }, logger);
    } else if (cfg_.drop_http) { // the droplog role's upstream, a local peer of it
      auto& d = *cfg_.drop_http;
      drop_upstream_ = std::make_unique<drop_upstream>(
        rt,
        drop_upstream_options{d.upstream, d.upstream_timeout, d.max_body, d.max_in_flight,
                              d.max_queue},
        logger);
    }
    if (cfg_.fileset_http) // the file-set REST API answers through the fileset role
      fileset_ = std::make_unique<fileset_api>(
        fileset_api_options{.listen = *cfg_.fileset_http, .token = api_token_},
        [&rt](const command& c) { return rt.command(ports::fileset, c); }, logger);
    if (cfg_.api)
      api_ = std::make_unique<market_api>(
        *cfg_.api,
        market_api_node{
          cfg_.name, rt.id(), own_ports_,
          [&rt](port_t p, std::uint64_t id, std::string verb, std::vector<std::string> args) {
            return rt.command(p, id, verb, args);
          },
          [&rt] { return rt.listen_address(); }, files_},
        logger);
  }

  // The live proxies of the proxy roles (net/proxy_shell.hpp): made before
  // the roles start, which announce what they serve and restored sessions.
  void make_proxies(live_runtime& rt) {
    auto logger = [this](const std::string& m) { log(m); };
    auto submit = [&rt](port_t p, std::uint64_t id, std::string verb,
                        std::vector<std::string> args) { return rt.command(p, id, verb, args); };
    if (own_ports_.count(ports::proxy)) {
      forward_proxy_options o;
      o.allow_internal_destinations = cfg_.proxy_allow_internal;
      o.identity = identity_; // TLS with the clients' nodes (plaintext nodes: plain)
      proxy_provider_ = std::make_unique<proxy_provider_shell>(o, submit, logger);
    }
    if (cfg_.proxy_listen) {
      local_proxy_options o;
      o.listen = *cfg_.proxy_listen;
      o.identity = identity_; // TLS to the provider's node, checked against its peer id
      proxy_client_ = std::make_unique<proxy_client_shell>(o, submit, logger);
    }
  }

  // Starts the node's listener, then the HTTP APIs; false (logged, all
  // stopped) if one cannot listen.
  bool start_listening(live_runtime& rt) {
    try {
      rt.start();
    } catch (const std::exception& e) {
      log(e.what());
      return false;
    }
    out_.line({{"event", "listening"},
               {"name", cfg_.name},
               {"peer_id", std::to_string(rt.id())},
               {"address", rt.listen_address()}});
    try {
      if (drop_upstream_)
        drop_upstream_->start();
      if (drop_listener_) {
        drop_listener_->start();
        out_.line({{"event", "drop_gateway_listening"}, {"port", drop_listener_->port()}});
      }
      if (fileset_) {
        fileset_->start();
        out_.line({{"event", "fileset_http"},
                   {"address", fileset_->address()},
                   {"token_file", token_file().string()}});
      }
      if (proxy_client_) {
        proxy_client_->start();
        out_.line({{"event", "proxy_listening"}, {"address", proxy_client_->address()}});
      }
      if (api_) {
        api_->start();
        out_.line({{"event", "api_listening"},
                   {"address", api_->address()},
                   {"token_file", token_file().string()}});
      }
      if (cdn_site_) {
        cdn_site_->start();
        out_.line({{"event", "cdn_site_listening"},
                   {"address", cdn_site_->address()},
                   {"signal", own_ports_.count(ports::cdn_signal) > 0}});
      }
    } catch (const std::exception& e) {
      log(e.what());
      if (drop_listener_)
        drop_listener_->stop();
      if (drop_upstream_)
        drop_upstream_->stop();
      if (cdn_site_)
        cdn_site_->stop();
      if (fileset_)
        fileset_->stop();
      if (proxy_client_)
        proxy_client_->stop();
      if (proxy_provider_)
        proxy_provider_->stop();
      rt.stop();
      fileset_.reset();
      api_.reset();
      cdn_site_.reset();
      return false;
    }
    return true;
  }

  // The config's user-level commands, for the client role (it waits for the
  // hellos of peers named by address, joins before DHT commands, retries).
  void issue_config_commands() {
    auto id = first_config_command;
    auto issue = [&](client::command c) {
      std::lock_guard lock(mu_);
      if (std::holds_alternative<client::fetch>(c))
        fetches_.insert(id);
      rt_->command(ports::client, command(id++, std::move(c)));
    };
    if (has_kad_) {
      issue(client::join{{}, cfg_.kad_bootstrap});
      if (cfg_.dht_provide)
        for (auto& h : provided_)
          issue(client::announce{h});
    }
    for (auto& d : cfg_.downloads)
      issue(client::fetch{d.hash, {}, d.providers});
  }

  std::string wait_until_done() {
    std::unique_lock lock(mu_);
    auto done = [&] { return stop_signal_ != 0 || (cfg_.exit_when_done && fetches_.empty()); };
    using clock = std::chrono::steady_clock;
    auto until = cfg_.run_for ? clock::now() + std::chrono::microseconds(*cfg_.run_for)
                              : clock::time_point::max();
    // A gateway prints its metrics line every metrics_interval meanwhile.
    const time_us every = cfg_.drop_http ? cfg_.drop_http->metrics_interval : 0;
    while (!done()) {
      auto wake = until;
      if (every > 0)
        wake = std::min(wake, clock::now() + std::chrono::microseconds(every));
      if (wake == clock::time_point::max()) {
        cv_.wait(lock, done);
        break;
      }
      if (cv_.wait_until(lock, wake, done))
        break;
      if (clock::now() >= until)
        return "run_for elapsed";
      lock.unlock();
      print_drop_metrics();
      lock.lock();
    }
    if (stop_signal_ == control_closed)
      return "control closed";
    if (stop_signal_ != 0)
      return stop_signal_ == SIGINT ? "SIGINT" : "SIGTERM";
    return "downloads ended";
  }

public:
  /// SIGINT/SIGTERM (from the signal thread).
  void stop(int sig) {
    std::lock_guard lock(mu_);
    stop_signal_ = sig;
    cv_.notify_all();
  }

private:
  static constexpr int control_closed = -1; // stop_signal_ when stdin ended

  // A command from the control channel, to the role it names; refusals are
  // the same command_failed event a role gives.
  void on_control(const app::control_line& c) {
    auto fail = [&](const std::string& why, int code) {
      out_.line({{"event", "command_failed"},
                 {"role", c.role},
                 {"t_us", rt_->now()},
                 {"command_id", c.id},
                 {"fields", {{"verb", c.verb}, {"reason", why}}},
                 {"values", {{"code", code}}}});
    };
    auto it = role_ports_.find(c.role);
    if (it == role_ports_.end())
      return fail("this node has no role \"" + c.role + "\"", 503);
    if (auto err = rt_->command(it->second, c.id, c.verb, c.args))
      fail(err->reason, static_cast<int>(err->code));
  }

  // One drop_gateway_metrics line: the gateway's HTTP counts and the droplog
  // role's and folder transport's counters.
  void print_drop_metrics() {
    if (!rt_)
      return;
    json http = json::object(), counters = json::object();
    if (drop_listener_) {
      auto st = drop_listener_->stats();
      http = {{"requests", st.requests},
              {"answered", st.answered},
              {"refused", st.refused},
              {"timeouts", st.timeouts}};
    }
    if (drop_upstream_) {
      auto st = drop_upstream_->stats();
      http = {
        {"upstream_calls", st.calls}, {"answered", st.answered}, {"refused_busy", st.refused_busy}};
    }
    for (auto& [k, v] : rt_->counters())
      if (k.starts_with("droplog_") || k.starts_with("http_") || k.starts_with("drop."))
        counters[k] = number(v);
    out_.line({{"event", "drop_gateway_metrics"},
               {"side", cfg_.drop_http->side_a ? "a" : "b"},
               {"t_us", rt_->now()},
               {"http", http},
               {"counters", counters}});
  }

  void on_event(port_t port, const event& e) {
    if (drop_listener_ && port == ports::droplog && drop_listener_->consume(e))
      return; // an answer to an HTTP client (carries the response): not printed
    if (fileset_ && port == ports::fileset && fileset_->consume(e))
      return; // an answer to the REST API (may carry a whole file): not printed
    // The proxies follow the proxy roles' events, whoever's commands they answer.
    if (proxy_provider_ && port == ports::proxy)
      proxy_provider_->consume(e);
    if (proxy_client_ && port == ports::proxy_client)
      proxy_client_->consume(e);
    if (api_ && api_->consume(port, e))
      return; // an answer to the market API (JSON lists): not printed
    json fields = json::object(), values = json::object();
    for (auto& [k, v] : e.fields)
      fields[k] = v;
    for (auto& [k, v] : e.values)
      values[k] = number(v);
    out_.line({{"event", e.kind},
               {"role", port_name(port)},
               {"t_us", rt_->now()},
               {"command_id", e.command_id},
               {"fields", fields},
               {"values", values}});
    if (port != ports::client || (e.kind != "fetch_done" && e.kind != "fetch_failed"))
      return;
    std::lock_guard lock(mu_);
    if (fetches_.erase(e.command_id) && e.kind == "fetch_failed")
      ++fetches_failed_;
    cv_.notify_all();
  }

  void on_peer(peer_id id, const std::string& addr) {
    // One event per hello: any peer can cause many, so they share a budget.
    auto v = peer_events_.take();
    if (v.suppressed_before > 0)
      out_.line({{"event", "peer_events_suppressed"}, {"count", v.suppressed_before}});
    if (v.allowed)
      out_.line({{"event", "peer"}, {"peer_id", std::to_string(id)}, {"address", addr}});
    if (api_) // asked in metadata lookups
      api_->peer_seen(id, addr);
    if (fileset_ && rt_) // the fileset role gossips with every peer that said hello
      rt_->command(ports::fileset, fileset_api::connect_command(id));
  }

  node_config cfg_;
  net::log_budget peer_events_;
  printer& out_;
  live_runtime* rt_ = nullptr;
  std::unique_ptr<fileset_api> fileset_;
  std::unique_ptr<market_api> api_;
  std::unique_ptr<proxy_provider_shell> proxy_provider_;
  std::unique_ptr<proxy_client_shell> proxy_client_;
  std::unique_ptr<cdn_site> cdn_site_;           // the CDN's demo site and signalling WebSocket
  std::unique_ptr<drop_listener> drop_listener_; // file-drop gateway, side a
  std::unique_ptr<drop_upstream> drop_upstream_; // file-drop gateway, side b
  disk_content* files_ = nullptr;                // the node's content store (owned by the runtime)
  std::mutex mu_;
  std::condition_variable cv_;
  int stop_signal_ = 0;
  std::set<std::uint64_t> fetches_; // config fetches not ended yet
  std::size_t fetches_failed_ = 0;
  bool has_kad_ = false;
  std::map<std::string, port_t> role_ports_; // role name -> port, for the control channel
  std::set<port_t> own_ports_; // ports of the node's own roles (before the API adds its own)
  std::vector<digest> provided_;
  peer_id self_ = 0; // the node's id: proven by its key, or (plaintext) from its name
  std::shared_ptr<const node_identity> identity_; // null for a plaintext node
  std::string api_token_; // required by the local APIs' state-changing routes
};

int run_node(const std::string& config) {
  return run_node_config(load_node_config(config)); // config_error: exit 2, nothing started
}

} // namespace

int run_node_config(node_config cfg) {
  printer out;
  session s(std::move(cfg), out);
  signal_waiter signals([&s](int sig) { s.stop(sig); });
  return s.run();
}

int node_command(int argc, char** argv) {
  return app::run_parsed(node_help, argc, argv, [](const app::args& a) {
    if (!a.positional().empty())
      throw app::usage_error("unexpected argument \"" + a.positional()[0] + "\"");
    return run_node(a.required("config"));
  });
}

int id_command(int argc, char** argv) {
  return app::run_parsed(id_help, argc, argv, [](const app::args& a) {
    if (!a.positional().empty())
      throw app::usage_error("unexpected argument \"" + a.positional()[0] + "\"");
    node_config cfg = load_node_config(a.required("config"));
    peer_id id = peer_id_from_name(cfg.name);
    if (!cfg.plaintext) {
      std::error_code ec;
      std::filesystem::create_directories(cfg.data_dir, ec);
      try {
        id = node_identity::load_or_create(cfg.data_dir / "node.key")->id();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "[%s] %s\n", cfg.name.c_str(), e.what());
        return app::exit_code::usage;
      }
    }
    printer{}.line({{"name", cfg.name}, {"peer_id", std::to_string(id)}});
    return app::exit_code::ok;
  });
}

} // namespace peerlab::net
