#include "net/node_command.hpp"

#include "net/disk_content.hpp"
#include "net/fileset_api.hpp"
#include "net/live_runtime.hpp"
#include "net/node_config.hpp"
#include "net/sqlite_store.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace peerlab::net {

namespace {

using nlohmann::json;

volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int s) { stop_signal = s; }

constexpr const char* usage =
  "usage: peerlab node --config FILE\n"
  "  Runs one live node as described by FILE (JSON; see docs/live.md).\n"
  "  Prints one JSON line per event on stdout; stops on SIGINT/SIGTERM.\n";

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
  struct sigaction old_int_ {}, old_term_ {};
};

struct tracked_download {
  download_spec spec;
  std::uint64_t command_id = 0;
  bool issued = false;
  bool ended = false;
  bool ok = false;
};

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
        out_.line({{"event", "providing"}, {"hash", to_hex(f.hash)}, {"name", f.name},
                   {"size", f.size}, {"price", f.price}});
      }
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
    o.seed = cfg_.seed;
    o.roles = cfg_.roles;
    o.on_event = [this](port_t port, const event& e) { on_event(port, e); };
    o.on_peer = [this](peer_id id, const std::string& addr) { on_peer(id, addr); };
    o.on_log = log;

    live_runtime rt(std::move(o));
    rt_ = &rt;
    if (cfg_.fileset_http) // the file-set REST API answers through the fileset role
      fileset_ = std::make_unique<fileset_api>(
          fileset_api_options{*cfg_.fileset_http},
          [&rt](const command& c) { return rt.command(ports::fileset, c); }, log);
    try {
      rt.start();
    } catch (const std::exception& e) {
      log(e.what());
      rt_ = nullptr;
      return 1;
    }
    out_.line({{"event", "listening"}, {"name", cfg_.name}, {"peer_id", std::to_string(rt.id())},
               {"address", rt.listen_address()}});
    if (fileset_) {
      try {
        fileset_->start();
      } catch (const std::exception& e) {
        log(e.what());
        rt.stop();
        fileset_.reset();
        rt_ = nullptr;
        return 1;
      }
      out_.line({{"event", "fileset_http"}, {"address", fileset_->address()}});
    }
    std::string reason = loop();
    if (fileset_)
      fileset_->stop();
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
      auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count();
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
      if (d.issued || d.ended)
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
        out_.line({{"event", "download_failed"}, {"role", "node"}, {"command_id", d.command_id},
                   {"fields",
                    {{"hash", to_hex(d.spec.hash)}, {"reason", "no provider reachable: " + missing}}},
                   {"values", json::object()}});
        continue;
      }
      d.issued = true;
      rt_->command(ports::file_downloader, c);
    }
  }

  void on_event(port_t port, const event& e) {
    if (fileset_ && port == ports::fileset && fileset_->consume(e))
      return; // an answer to the REST API (may carry a whole file): not printed
    json fields = json::object(), values = json::object();
    for (auto& [k, v] : e.fields)
      fields[k] = v;
    for (auto& [k, v] : e.values)
      values[k] = number(v);
    out_.line({{"event", e.kind}, {"role", port_name(port)}, {"t_us", rt_->now()},
               {"command_id", e.command_id}, {"fields", fields}, {"values", values}});
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<tracked_download> downloads_;
  std::map<std::string, peer_id> ids_; // address -> peer id, from hellos
};

} // namespace

int node_command(int argc, char** argv) {
  std::string config;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (a == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (a.rfind("--config=", 0) == 0) {
      config = a.substr(9);
    } else {
      std::fprintf(stderr, "peerlab node: unexpected argument \"%s\"\n%s", a.c_str(), usage);
      return 2;
    }
  }
  if (config.empty()) {
    std::fprintf(stderr, "peerlab node: --config FILE is required\n%s", usage);
    return 2;
  }
  node_config cfg;
  try {
    cfg = load_node_config(config);
  } catch (const config_error& e) {
    std::fprintf(stderr, "peerlab node: %s\n", e.what());
    return 2;
  }
  signal_scope signals;
  printer out;
  session s(std::move(cfg), out);
  return s.run();
}

} // namespace peerlab::net
