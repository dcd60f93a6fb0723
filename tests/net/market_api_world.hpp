#pragma once
// Live nodes of the paid file market in this process, each with its local
// HTTP API on 127.0.0.1 (ephemeral ports): a ledger, providers and
// downloaders wired as `peerlab node` wires them (market_api::install_roles,
// events to market_api::consume, hellos to peer_seen).
#include "net/address.hpp"
#include "net/api_config.hpp"
#include "net/disk_content.hpp"
#include "net/fileset_client.hpp"
#include "net/live_runtime.hpp"
#include "net/market_api.hpp"
#include "net/private_file.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/kad/tables.hpp"
#include "protocols/ledger/tables.hpp"
#include "protocols/market/tables.hpp"
#include "protocols/market/tables.hpp"

#include "protocols/registry.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <fstream>
#include <thread>

namespace peerlab::test {

using nlohmann::json;
namespace fs = std::filesystem;

struct api_reply {
  unsigned status = 0;
  json body;
  std::string text;
};

class api_node {
public:
  /// `roles` as in a node config; `api` is the config's "api" object
  /// (folders relative to the node's data dir). The data dir may be reused
  /// (restart) by passing `reuse`.
  api_node(const std::string& name, const json& roles, json api = json::object(),
           std::vector<std::string> peers = {}, const fs::path* reuse = nullptr)
      : dir_(reuse ? nullptr : std::make_unique<temp_dir>("market-api")),
        root_(reuse ? *reuse : dir_->path()) {
    auto data = root_ / "data";
    fs::create_directories(data);
    fs::create_directories(root_ / "shared");
    if (!api.contains("listen"))
      api["listen"] = "127.0.0.1:0";
    cfg_ = net::parse_api_config(api, "api", root_, data);
    cfg_.token = net::load_or_create_api_token(data / "api.token"); // as `peerlab node` does
    net::live_options o;
    o.name = name;
    // Each node proves its id with a key kept in its data dir (a restart keeps it).
    o.identity = net::node_identity::load_or_create(data / "node.key");
    o.listen = "127.0.0.1:0";
    o.peers = std::move(peers);
    o.roles = make_roles(roles, "roles", "");
    auto store = std::make_unique<net::sqlite_store>(data / "node.db", [](const std::string&) {});
    store_ = store.get();
    auto content = std::make_unique<net::disk_content>(data, [](const std::string&) {});
    content_ = content.get();
    o.store = std::move(store);
    o.content = std::move(content);
    net::market_api_node n;
    n.name = name;
    n.self = o.identity->id();
    for (auto& r : o.roles)
      n.ports.insert(r->port());
    net::market_api::install_roles(cfg_, o.roles, n.self);
    n.submit = [this](port_t p, std::uint64_t id, std::string verb, std::vector<std::string> args) {
      return rt_->command(p, id, verb, args);
    };
    n.address = [this] { return rt_->listen_address(); };
    n.files = content_;
    o.on_event = [this](port_t p, const event& e) {
      if (!api_->consume(p, e)) {
        std::lock_guard lock(mu_);
        if (events_.size() < 10000)
          events_.push_back(e);
      }
    };
    o.on_peer = [this](peer_id id, const std::string& addr) { api_->peer_seen(id, addr); };
    o.on_log = [](const std::string&) {};
    rt_ = std::make_unique<net::live_runtime>(std::move(o));
    api_ = std::make_unique<net::market_api>(cfg_, n, [](const std::string&) {});
    rt_->start();
    api_->start();
    std::string err;
    url_ = *net::setclient::parse_url("http://" + api_->address(), err);
    url_.token = cfg_.token;
  }

  ~api_node() { stop(); }

  void stop() {
    if (!api_)
      return;
    api_->stop();
    rt_->stop();
    rt_.reset();
    api_.reset();
  }

  api_reply call(const std::string& method, const std::string& target,
                 const std::string& body = "") {
    auto r = net::setclient::http_request(url_, method, target, body, "application/json", 4 << 20,
                                          30 * us_per_s);
    api_reply out;
    out.status = r.status;
    out.text = r.body;
    out.body = json::parse(r.body, nullptr, false);
    return out;
  }
  api_reply get(const std::string& target) { return call("GET", target); }
  api_reply post(const std::string& target, const json& body) {
    return call("POST", target, body.dump());
  }

  /// Polls `fn` (every 50 ms, at most `limit`) until it returns true.
  template <typename F>
  static bool eventually(F fn, std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (fn())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return fn();
  }

  /// Every row of the market's tables and every served file, to show that a
  /// refused request changed nothing.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> out;
    auto tables = market::tables::all();
    for (auto* t : {&kad::provided_keys_table(), &ledger::accounts_table(), &ledger::txs_table()})
      tables.push_back(t);
    for (auto* t : tables)
      store_->scan(*t, {}, [&](const row& r) {
        out[t->name + "/" + describe(key_of(*t, r))] = describe(r.cells);
      });
    for (auto& f : content_->served_files())
      out["served/" + to_hex(f.info.hash)] = f.path + " " + std::to_string(f.info.price);
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(root_, ec))
      if (e.is_regular_file() && e.path().filename() != "node.db" &&
          e.path().filename().string().find("node.db-") == std::string::npos)
        out["file/" + e.path().string()] = std::to_string(e.file_size());
    return out;
  }

  /// A command to one of the node's roles (as the node's own session sends them).
  bool command(port_t port, const peerlab::command& c) { return rt_->command(port, c); }

  std::vector<event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  peer_id id() const { return rt_->id(); }
  const std::string& token() const { return cfg_.token; }
  std::string address() const { return rt_->listen_address(); }
  std::string api_address() const { return api_->address(); }
  const fs::path& root() const { return root_; }
  fs::path shared() const { return root_ / "shared"; }
  net::disk_content& content() { return *content_; }

private:
  std::unique_ptr<temp_dir> dir_;
  fs::path root_;
  net::api_config cfg_;
  net::sqlite_store* store_ = nullptr;
  net::disk_content* content_ = nullptr;
  std::unique_ptr<net::live_runtime> rt_;
  std::unique_ptr<net::market_api> api_;
  net::setclient::node_url url_;
  std::mutex mu_;
  std::vector<event> events_;
};

/// Sends raw bytes to an HTTP server and returns everything it answers
/// until it closes the connection (or `limit` passes).
inline std::string raw_exchange(const std::string& address, const std::string& request,
                                std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  auto colon = address.rfind(':');
  s.connect({asio::ip::make_address(address.substr(0, colon)),
             static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)))});
  boost::system::error_code ec;
  asio::write(s, asio::buffer(request), ec);
  std::string out;
  char buf[4096];
  auto until = std::chrono::steady_clock::now() + limit;
  s.non_blocking(true);
  while (std::chrono::steady_clock::now() < until) {
    auto n = s.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (ec)
      break;
    out.append(buf, n);
  }
  return out;
}

/// The status code of a raw HTTP answer ("HTTP/1.1 413 ..."), 0 if none.
inline unsigned raw_status(const std::string& answer) {
  if (answer.size() < 12 || answer.compare(0, 5, "HTTP/") != 0)
    return 0;
  return static_cast<unsigned>(std::stoi(answer.substr(9, 3)));
}

/// Deterministic bytes (a simple LCG), so a file's hash is the same every run.
inline std::string pattern_bytes(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

inline void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// A ledger and the roles of a provider and a downloader that use it.
/// A refused request: `status`, and a JSON error {"error", "status"} whose
/// text contains `words`.
inline void expect_error(const api_reply& r, unsigned status, const std::string& words) {
  INFO(r.status << " " << r.text);
  CHECK(r.status == status);
  REQUIRE(r.body.is_object());
  CHECK(r.body["status"] == status);
  REQUIRE(r.body["error"].is_string());
  CHECK(r.body["error"].get<std::string>().find(words) != std::string::npos);
}

struct market_roles {
  static json ledger() {
    return json::array({{{"role", "ledger"}, {"block_interval", "100ms"}, {"confirmations", 1}}});
  }
  static json provider(peer_id ledger, const std::string& ledger_address,
                       const std::string& policy = "pay_after") {
    return json::array(
      {{{"role", "provider"}, {"chunk_size", "64KiB"}, {"payment", {{"policy", policy}}}},
       {{"role", "payment_verifier"},
        {"ledger", ledger},
        {"ledger_address", ledger_address},
        {"poll_interval", "100ms"}}});
  }
  static json downloader(peer_id ledger, const std::string& ledger_address) {
    return json::array({{{"role", "downloader"},
                         {"chunk_size", "64KiB"},
                         {"request_timeout", "10s"},
                         {"initial_timeout", "3s"},
                         {"min_timeout", "2s"}},
                        {{"role", "payer"},
                         {"ledger", ledger},
                         {"ledger_address", ledger_address},
                         {"resend_interval", "500ms"}}});
  }
};

} // namespace peerlab::test
