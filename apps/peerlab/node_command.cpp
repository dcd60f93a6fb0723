#include "apps/peerlab/node_command.hpp"

#include "apps/peerlab/args.hpp"

#include "net/address.hpp"
#include "net/disk_content.hpp"
#include "net/fileset_api.hpp"
#include "net/live_runtime.hpp"
#include "net/market_api.hpp"
#include "net/node_config.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/common/limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace peerlab::net {

namespace {

using nlohmann::json;

volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int s) { stop_signal = s; }

const app::command_help node_help{
  "node",
  "--config FILE",
  "Runs one live node as described by FILE (JSON; see docs/live.md).",
  {{"config", "FILE", "the node's configuration (required)"}},
  "Prints one JSON line per event on stdout; stops on SIGINT/SIGTERM.\n"
  "Exit 1 means a download failed."};

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

// Restores the previous handlers when node_command returns.
class signal_scope {
public:
  signal_scope() {
    stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~signal_scope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

private:
  struct sigaction old_int_ {
  }, old_term_{};
};

struct tracked_download {
  download_spec spec;
  std::uint64_t command_id = 0;
  bool issued = false;
  bool ended = false;
  bool ok = false;
  // Providers found through the DHT (spec.providers empty).
  bool lookup_running = false;
  time_us first_lookup = -1, next_lookup = 0;
};

// Kademlia commands of the session get ids far from the download ids.
constexpr std::uint64_t first_kad_command = 1u << 20;
// A DHT lookup that found no provider is repeated this long after it ended.
constexpr time_us dht_retry = us_per_s;

class session {
public:
  session(node_config cfg, printer& out) : cfg_(std::move(cfg)), out_(out) {
    for (std::size_t i = 0; i < cfg_.downloads.size(); ++i)
      downloads_.push_back({cfg_.downloads[i], i + 1});
  }

  int run() {
    auto log = [this](const std::string& m) { out_.error(cfg_.name, m); };
    std::error_code ec;
    std::filesystem::create_directories(cfg_.data_dir, ec);
    if (ec) {
      log("data_dir " + cfg_.data_dir.string() + ": cannot create: " + ec.message());
      return 2;
    }
    live_options o;
    try {
      o.store = std::make_unique<sqlite_store>(cfg_.data_dir / "node.db", log);
      auto content = std::make_unique<disk_content>(cfg_.data_dir, log);
      for (std::size_t i = 0; i < cfg_.provide.size(); ++i) {
        file_info f;
        try {
          f = content->provide(cfg_.provide[i]);
        } catch (const store_error& e) {
          log("provide[" + std::to_string(i) + "]: " + e.what());
          return 2;
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
      return 2;
    }
    o.name = cfg_.name;
    o.listen = cfg_.listen;
    o.peers = cfg_.peers;
    for (auto& d : cfg_.downloads) // providers are dialed to learn their peer ids
      for (auto& p : d.providers)
        if (std::find(o.peers.begin(), o.peers.end(), p) == o.peers.end())
          o.peers.push_back(p);
    for (auto& p : cfg_.kad_bootstrap) // dialed to learn their peer ids
      if (std::find(o.peers.begin(), o.peers.end(), p) == o.peers.end())
        o.peers.push_back(p);
    o.seed = cfg_.seed;
    o.roles = cfg_.roles;
    for (auto& r : cfg_.roles)
      has_kad_ |= r->port() == ports::kad;
    std::set<port_t> own_ports;
    for (auto& r : o.roles)
      own_ports.insert(r->port());
    if (cfg_.api) // the HTTP API's roles: market agent, metadata lookups beside the downloader
      market_api::install_roles(*cfg_.api, o.roles, *files_, peer_id_from_name(cfg_.name));
    o.on_event = [this](port_t port, const event& e) { on_event(port, e); };
    o.on_peer = [this](peer_id id, const std::string& addr) { on_peer(id, addr); };
    o.on_log = log;

    live_runtime rt(std::move(o));
    rt_ = &rt;
    if (cfg_.fileset_http) // the file-set REST API answers through the fileset role
      fileset_ = std::make_unique<fileset_api>(
        fileset_api_options{*cfg_.fileset_http},
        [&rt](const command& c) { return rt.command(ports::fileset, c); }, log);
    if (cfg_.api)
      api_ = std::make_unique<market_api>(
        *cfg_.api,
        market_api_node{cfg_.name, rt.id(), own_ports,
                        [&rt](port_t p, const command& c) { return rt.command(p, c); },
                        [&rt] { return rt.listen_address(); }, files_},
        log);
    try {
      rt.start();
    } catch (const std::exception& e) {
      log(e.what());
      rt_ = nullptr;
      return app::exit_code::runtime; // cannot listen
    }
    out_.line({{"event", "listening"},
               {"name", cfg_.name},
               {"peer_id", std::to_string(rt.id())},
               {"address", rt.listen_address()}});
    if (fileset_) {
      try {
        fileset_->start();
      } catch (const std::exception& e) {
        log(e.what());
        rt.stop();
        fileset_.reset();
        rt_ = nullptr;
        return app::exit_code::runtime; // cannot listen
      }
      out_.line({{"event", "fileset_http"}, {"address", fileset_->address()}});
    }
    if (api_) {
      try {
        api_->start();
      } catch (const std::exception& e) {
        log(e.what());
        rt.stop();
        api_.reset();
        rt_ = nullptr;
        return app::exit_code::runtime; // cannot listen
      }
      out_.line({{"event", "api_listening"}, {"address", api_->address()}});
    }
    std::string reason = loop();
    if (fileset_)
      fileset_->stop();
    if (api_)
      api_->stop();
    rt.stop();
    json counters = json::object();
    for (auto& [k, v] : rt.counters())
      counters[k] = number(v);
    bool failed = false;
    for (auto& d : downloads_)
      failed |= d.ended && !d.ok;
    out_.line({{"event", "stopped"}, {"reason", reason}, {"counters", counters}});
    rt_ = nullptr;
    return failed ? 1 : 0;
  }

private:
  std::string loop() {
    auto t0 = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    for (;;) {
      // Signals cannot notify a condition variable safely: poll the flag.
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      if (stop_signal)
        return stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
      auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
      advance_dht(elapsed);
      issue_downloads(elapsed >= cfg_.provider_wait);
      if (cfg_.exit_when_done && all_ended())
        return "downloads ended";
      if (cfg_.run_for && elapsed >= *cfg_.run_for)
        return "run_for elapsed";
    }
  }

  bool all_ended() const {
    for (auto& d : downloads_)
      if (!d.ended)
        return false;
    return true;
  }

  // Called with mu_ held. A download is issued once every provider answered
  // its hello, or after provider_wait with the ones that did.
  void issue_downloads(bool waited_enough) {
    for (auto& d : downloads_) {
      if (d.issued || d.ended || d.spec.providers.empty())
        continue;
      command c{d.command_id, "download", {to_hex(d.spec.hash)}};
      std::string missing;
      for (auto& p : d.spec.providers) {
        auto it = ids_.find(p);
        if (it != ids_.end())
          c.args.push_back(std::to_string(it->second));
        else
          missing += (missing.empty() ? "" : ", ") + p;
      }
      if (!missing.empty() && !waited_enough)
        continue;
      if (c.args.size() == 1) {
        d.ended = true;
        out_.line(
          {{"event", "download_failed"},
           {"role", "node"},
           {"command_id", d.command_id},
           {"fields",
            {{"hash", to_hex(d.spec.hash)}, {"reason", "no provider reachable: " + missing}}},
           {"values", json::object()}});
        continue;
      }
      d.issued = true;
      rt_->command(ports::file_downloader, c);
    }
  }

  // Called with mu_ held. The DHT part of a node: join through the bootstrap
  // nodes once they said hello, then announce provided files and find the
  // providers of downloads given without providers (find_providers, then the
  // downloader's "download" with the peers found: the composition the
  // simulator's dht driver runs too).
  void advance_dht(time_us elapsed) {
    if (!has_kad_)
      return;
    if (dht_ == dht_state::idle) {
      command c{next_kad_id_++, "bootstrap", {}};
      std::string missing;
      for (auto& a : cfg_.kad_bootstrap) {
        auto it = ids_.find(a);
        if (it != ids_.end())
          c.args.push_back(std::to_string(it->second) + "@" + a);
        else
          missing += (missing.empty() ? "" : ", ") + a;
      }
      if (!missing.empty() && elapsed < cfg_.provider_wait)
        return; // wait for the hellos of the bootstrap nodes
      if (cfg_.kad_bootstrap.empty()) {
        dht_ = dht_state::joined; // a first node: the others join through it
      } else if (c.args.empty()) {
        out_.error(cfg_.name, "kad: no bootstrap node reachable: " + missing);
        dht_ = dht_state::joined; // lookups will find nothing and fail
      } else {
        bootstrap_id_ = c.id;
        dht_ = dht_state::joining;
        rt_->command(ports::kad, c);
      }
    }
    if (dht_ != dht_state::joined)
      return;
    if (cfg_.dht_provide && !provides_issued_) {
      provides_issued_ = true;
      for (auto& h : provided_)
        rt_->command(ports::kad, command{next_kad_id_++, "provide", {to_hex(h)}});
    }
    for (auto& [index, providers] : found_) {
      auto& d = downloads_[index];
      d.lookup_running = false;
      command c{d.command_id, "download", {to_hex(d.spec.hash)}};
      for (auto p : providers)
        if (p != rt_->id() && c.args.size() <= limits::max_providers_per_download)
          c.args.push_back(std::to_string(p));
      if (c.args.size() > 1) {
        d.issued = true;
        rt_->command(ports::file_downloader, c);
      } else if (elapsed - d.first_lookup >= cfg_.provider_wait) {
        d.ended = true;
        out_.line(
          {{"event", "download_failed"},
           {"role", "node"},
           {"command_id", d.command_id},
           {"fields", {{"hash", to_hex(d.spec.hash)}, {"reason", "no provider found in the DHT"}}},
           {"values", json::object()}});
      } else {
        d.next_lookup = elapsed + dht_retry;
      }
    }
    found_.clear();
    for (std::size_t i = 0; i < downloads_.size(); ++i) {
      auto& d = downloads_[i];
      if (!d.spec.providers.empty() || d.issued || d.ended || d.lookup_running ||
          elapsed < d.next_lookup)
        continue;
      if (d.first_lookup < 0)
        d.first_lookup = elapsed;
      d.lookup_running = true;
      command c{next_kad_id_++, "find_providers", {to_hex(d.spec.hash)}};
      lookups_[c.id] = i;
      rt_->command(ports::kad, c);
    }
  }

  // A kad event the session waits for (any thread).
  void on_kad_event(const event& e) {
    std::lock_guard lock(mu_);
    if (e.kind == "bootstrap_done" && e.command_id == bootstrap_id_) {
      dht_ = dht_state::joined;
    } else if (auto it = lookups_.find(e.command_id);
               it != lookups_.end() &&
               (e.kind == "providers_found" || e.kind == "command_rejected")) {
      std::vector<peer_id> providers;
      if (const std::string* list = e.field("providers"))
        for (std::size_t pos = 0; pos < list->size();) {
          auto comma = std::min(list->find(',', pos), list->size());
          peer_id p = 0;
          auto [end, ec] = std::from_chars(list->data() + pos, list->data() + comma, p);
          if (ec == std::errc() && end == list->data() + comma)
            providers.push_back(p);
          pos = comma + 1;
        }
      found_.push_back({it->second, std::move(providers)});
      lookups_.erase(it);
    }
    cv_.notify_all();
  }

  void on_event(port_t port, const event& e) {
    if (fileset_ && port == ports::fileset && fileset_->consume(e))
      return; // an answer to the REST API (may carry a whole file): not printed
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
    if (port == ports::kad && e.command_id != 0)
      return on_kad_event(e);
    if (port != ports::file_downloader || e.command_id == 0)
      return;
    if (e.kind != "download_done" && e.kind != "download_failed")
      return;
    std::lock_guard lock(mu_);
    for (auto& d : downloads_)
      if (d.command_id == e.command_id) {
        d.ended = true;
        d.ok = e.kind == "download_done";
      }
    cv_.notify_all();
  }

  void on_peer(peer_id id, const std::string& addr) {
    out_.line({{"event", "peer"}, {"peer_id", std::to_string(id)}, {"address", addr}});
    if (api_) // asked in metadata lookups
      api_->peer_seen(id, addr);
    if (fileset_ && rt_) // the fileset role gossips with every peer that said hello
      rt_->command(ports::fileset, fileset_api::connect_command(id));
    std::lock_guard lock(mu_);
    if (!addr.empty())
      ids_[addr] = id;
    cv_.notify_all();
  }

  node_config cfg_;
  printer& out_;
  live_runtime* rt_ = nullptr;
  std::unique_ptr<fileset_api> fileset_;
  std::unique_ptr<market_api> api_;
  disk_content* files_ = nullptr; // the node's content store (owned by the runtime)
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<tracked_download> downloads_;
  std::map<std::string, peer_id> ids_; // address -> peer id, from hellos
  // Kademlia (net/node_config.hpp kad_bootstrap, dht_provide).
  enum class dht_state { idle, joining, joined };
  bool has_kad_ = false;
  dht_state dht_ = dht_state::idle;
  std::uint64_t next_kad_id_ = first_kad_command;
  std::uint64_t bootstrap_id_ = 0;
  bool provides_issued_ = false;
  std::vector<digest> provided_;
  std::map<std::uint64_t, std::size_t> lookups_; // find_providers command id -> download
  std::vector<std::pair<std::size_t, std::vector<peer_id>>> found_; // lookups that ended
};

int run_node(const std::string& config) {
  node_config cfg = load_node_config(config); // config_error: exit 2, nothing started
  signal_scope signals;
  printer out;
  session s(std::move(cfg), out);
  return s.run();
}

} // namespace

int node_command(int argc, char** argv) {
  return app::run_parsed(node_help, argc, argv, [](const app::args& a) {
    if (!a.positional().empty())
      throw app::usage_error("unexpected argument \"" + a.positional()[0] + "\"");
    return run_node(a.required("config"));
  });
}

} // namespace peerlab::net
