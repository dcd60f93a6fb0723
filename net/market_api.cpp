#include "protocols/registry.hpp"
#include "net/market_api.hpp"

#include "protocols/proxy/proxy.hpp"

#include "net/address.hpp"
#include "net/api_inputs.hpp"
#include "net/folder_walk.hpp"
#include "net/http_server.hpp"
#include "protocols/filexfer/downloader.hpp"
#include "protocols/market/market.hpp"
#include "protocols/common/limits.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/ledger/ledger.hpp"
#include "protocols/market/market.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <unistd.h>

namespace peerlab::net {

namespace {

using api_inputs::bad_input;
using nlohmann::json;
namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

constexpr std::size_t max_hashing = 4; // files hashed at once or waiting
constexpr std::size_t max_tracked_downloads =
  256; // API downloads remembered (finished ones go first)
constexpr std::size_t max_known_peers = 4096;

// Row fields that hold amounts, sizes or times print as JSON numbers; ids
// (peers, nonces, transactions) stay strings: they may not fit a double.
bool numeric_field(std::string_view k) {
  static const char* names[] = {"amount", "from",  "to",         "paying", "size",
                                "price",  "sales", "paid_sales", "bytes",  "deadline"};
  for (auto* n : names)
    if (k == n)
      return true;
  return k.ends_with("_at") || k.ends_with("_us");
}

/// A typed row as a JSON object: blobs in hex, amounts, sizes and times as
/// numbers, ids as decimal strings.
json row_json(const table_schema& t, const row& r) {
  json j = json::object();
  for (std::size_t i = 0; i < t.columns.size() && i < r.cells.size(); ++i) {
    auto& name = t.columns[i].name;
    auto& c = r.cells[i];
    if (auto* n = std::get_if<std::int64_t>(&c)) {
      bool is_signed = name.ends_with("_at") || name.ends_with("_us") || name == "deadline";
      auto u = static_cast<std::uint64_t>(*n);
      if (numeric_field(name) && is_signed && *n > -(1ll << 53) && *n < (1ll << 53))
        j[name] = *n;
      else if (numeric_field(name) && !is_signed && u < (1ull << 53))
        j[name] = u;
      else
        j[name] = is_signed ? std::to_string(*n) : std::to_string(u);
    } else if (auto* s = std::get_if<std::string>(&c)) {
      j[name] = *s;
    } else if (auto* b = std::get_if<bytes>(&c)) {
      j[name] = to_hex(byte_view{b->data(), b->size()});
    } else {
      j[name] = std::get<double>(c);
    }
  }
  return j;
}

// The rows of the account's list answer (api_list), as JSON objects.
json parse_list(const event& e) {
  json out = json::array();
  if (e.rows_schema)
    for (auto& r : e.rows)
      out.push_back(row_json(*e.rows_schema, r));
  return out;
}

http_server_answer answer(unsigned status, const json& body) {
  http_server_answer a;
  a.status = status;
  a.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return a;
}

std::string field(const event& e, const char* k) {
  auto* v = e.field(k);
  return v ? *v : std::string();
}

/// An answer to a command that failed in a role: its code is an HTTP status.
std::optional<http_server_answer> role_refusal(const event& e) {
  if (e.kind == "command_failed")
    return json_error(static_cast<unsigned>(e.value("code", 409)), field(e, "reason"));
  return std::nullopt;
}

} // namespace

class market_api::impl {
public:
  impl(api_config cfg, market_api_node node, log_fn log)
      : cfg_(std::move(cfg)), node_(std::move(node)), log_(std::move(log)),
        server_(server_options(cfg_), routes(), log_) {
    if (!log_)
      log_ = [](const std::string& m) { std::fprintf(stderr, "api: %s\n", m.c_str()); };
  }

  ~impl() { stop(); }

  void start() { server_.start(); }

  void stop() {
    stopping_ = true;
    server_.stop();
    hash_pool_.join();
  }

  const std::string& address() const { return server_.address(); }

  bool consume(port_t port, const event& e) {
    if (e.command_id < market_api_first_command_id ||
        e.command_id >= 2 * market_api_first_command_id)
      return false;
    server_.post([this, port, e] { on_event(port, e); });
    return port == ports::api || e.kind == "lookup_done" || e.kind == "lookup_answer";
  }

  void peer_seen(peer_id id, const std::string& address) {
    server_.post([this, id, address] {
      if (known_.size() < max_known_peers || known_.count(id))
        known_[id] = address;
    });
  }

private:
  using respond_fn = http_server::respond_fn;
  using handler = void (impl::*)(const http_server_request&, const std::string& param, respond_fn&);
  struct waiter {
    std::function<bool(const event&)> on_event; // true: done
    clock::time_point since;
    bool long_lived = false; // a download: waits for its end however long it takes
  };
  struct tracked_download {
    std::uint64_t command_id = 0;
    std::string hash;
    fs::path dest;
    std::string status; // downloading, done, failed
    std::string reason;
    json providers = json::array();
    std::uint64_t price = 0;
    clock::time_point since;
  };
  struct lookup_result {
    json providers = json::array();
    json failed = json::array();
  };

  static http_server_options server_options(const api_config& c) {
    http_server_options o;
    o.listen = c.listen;
    o.max_connections = c.max_connections;
    o.max_body = c.max_body;
    o.read_timeout = c.read_timeout;
    o.idle_timeout = c.read_timeout; // as before the server was shared: one bound for both
    o.reply_timeout = c.reply_timeout;
    o.server_name = "peerlab-market-api";
    o.token = c.token;
    return o;
  }

  bool runs(port_t p) const { return node_.ports.count(p) != 0; }

  // -- commands and their events (io thread) ---------------------------------

  bool submit(port_t port, std::string verb, std::vector<std::string> args,
              std::function<bool(const event&)> on_event, bool long_lived = false) {
    auto now = clock::now();
    auto stale = std::chrono::microseconds(cfg_.reply_timeout) + std::chrono::seconds(60);
    std::erase_if(waiting_,
                  [&](auto& w) { return !w.second.long_lived && now - w.second.since > stale; });
    auto id = next_id_++;
    waiting_[id] = waiter{std::move(on_event), now, long_lived};
    std::string v = verb;
    auto err = node_.submit(port, id, std::move(verb), std::move(args));
    if (!err)
      return true;
    if (err->code == fail_code::unavailable) { // no such role on this node
      waiting_.erase(id);
      return false;
    }
    // Refused before it reached the role: answered as the role would, and
    // later, as a role's answer comes (the caller may still be setting up).
    effects fx;
    fx.fail(id, v, err->code, err->reason);
    server_.post([this, port, e = std::move(fx.events.back())] { this->on_event(port, e); });
    return true;
  }

  void on_event(port_t, const event& e) {
    auto it = waiting_.find(e.command_id);
    if (it == waiting_.end())
      return;
    bool done = true;
    auto fn = it->second.on_event; // the call may add and sweep waiters
    try {
      done = fn(e);
    } catch (const std::exception& x) {
      log_(std::string("answer to ") + e.kind + ": " + x.what());
    }
    if (done)
      waiting_.erase(e.command_id);
  }

  /// Sends a command whose first answer completes the request.
  void ask(port_t port, std::string verb, std::vector<std::string> args, respond_fn respond,
           std::function<http_server_answer(const event&)> ok, const char* unavailable) {
    auto r = std::make_shared<respond_fn>(std::move(respond));
    bool sent =
      submit(port, std::move(verb), std::move(args), [r, ok = std::move(ok)](const event& e) {
        if (auto refusal = role_refusal(e)) {
          (*r)(*refusal);
          return true;
        }
        (*r)(ok(e));
        return true;
      });
    if (!sent)
      (*r)(json_error(503, unavailable));
  }

  // -- routing -----------------------------------------------------------------

  std::vector<http_server::route> routes() {
    const std::pair<const char*, const char*> paths[] = {
      {"GET", "/api/health"},
      {"POST", "/api/file/provide-file"},
      {"POST", "/api/file/stop-providing/{}"},
      {"GET", "/api/file/get-provided-files"},
      {"GET", "/api/file/get-providers/{}"},
      {"POST", "/api/file/download-file"},
      {"GET", "/api/file/get-downloaded-files"},
      {"GET", "/api/wallet/balance"},
      {"GET", "/api/wallet/payments"},
      {"POST", "/api/ledger/fund"},
      {"POST", "/api/proxy/provide"},
      {"POST", "/api/proxy/stop-providing"},
      {"GET", "/api/proxy/providers"},
      {"POST", "/api/proxy/open"},
      {"POST", "/api/proxy/close"},
      {"GET", "/api/proxy/usage"},
    };
    const handler fns[] = {
      &impl::health,        &impl::provide_file,  &impl::stop_providing,   &impl::provided_files,
      &impl::get_providers, &impl::download_file, &impl::downloaded_files, &impl::balance,
      &impl::payments,      &impl::fund,          &impl::proxy_provide,    &impl::proxy_stop,
      &impl::proxy_list,    &impl::proxy_open,    &impl::proxy_close,      &impl::proxy_usage};
    std::vector<http_server::route> out;
    for (std::size_t i = 0; i < std::size(paths); ++i)
      out.push_back({paths[i].first, paths[i].second,
                     [this, fn = fns[i]](http_server_request req, respond_fn respond) {
                       call(fn, req, respond);
                     }});
    return out;
  }

  void call(handler fn, const http_server_request& req, respond_fn& respond) {
    try {
      (this->*fn)(req, req.params.empty() ? std::string() : req.params[0], respond);
    } catch (const bad_input& e) {
      respond(json_error(e.status, e.what()));
    } catch (const std::exception& e) {
      log_(req.method + " " + req.path + ": " + e.what());
      respond(json_error(500, std::string("internal error: ") + e.what()));
    }
  }

  static void no_body(const http_server_request& req) {
    if (!req.body.empty())
      throw bad_input(400, req.method + " " + req.path + " takes no body");
  }

  // -- endpoints -----------------------------------------------------------------

  void health(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    json roles = json::array();
    for (auto p : node_.ports)
      roles.push_back(port_name(p));
    respond(answer(200, {{"success", true},
                         {"name", node_.name},
                         {"peer_id", std::to_string(node_.self)},
                         {"address", node_.address ? node_.address() : ""},
                         {"roles", roles}}));
  }

  void provide_file(const http_server_request& req, const std::string&, respond_fn& respond) {
    auto body = api_inputs::object_body(req.body, {"file_path", "path", "name", "price"});
    if (body.contains("file_path") == body.contains("path"))
      throw bad_input(400, "give the file as \"file_path\" (or \"path\")");
    auto& pv = body.contains("file_path") ? body["file_path"] : body["path"];
    auto path = api_inputs::text(pv, "file_path", 4096);
    std::string name;
    if (body.contains("name"))
      name = api_inputs::text(body["name"], "name", limits::file_name_max);
    std::uint64_t price =
      body.contains("price") ? api_inputs::amount(body["price"], "price", cfg_.max_price) : 0;
    if (!runs(ports::file_provider))
      throw bad_input(409, "this node runs no provider role");
    auto real = api_inputs::file_to_provide(path, cfg_.provide_dirs);
    if (hashing_ >= max_hashing)
      throw bad_input(503,
                      "already hashing " + std::to_string(max_hashing) + " files; try again later");
    ++hashing_;
    boost::asio::post(hash_pool_, [this, real, name, price, respond]() mutable {
      hashed h = hash(real);
      server_.post([this, real, name, price, respond, h]() mutable {
        --hashing_;
        if (!h.error.empty())
          return respond(json_error(h.status, h.error));
        serve(real, name, price, h, std::move(respond));
      });
    });
  }

  // -- the paid proxy (protocols/proxy): commands to its roles; the node's
  // live proxies follow the roles' events (net/proxy_shell.hpp) ---------------

  static http_server_answer providing_answer(const event& e) {
    return answer(200, {{"success", true},
                        {"active", field(e, "active") == "1"},
                        {"address", field(e, "address")},
                        {"fee_per_kb", static_cast<std::uint64_t>(e.value("fee_per_kb"))}});
  }

  void need(port_t p, const char* role) const {
    if (!runs(p))
      throw bad_input(409, std::string("this node runs no ") + role + " role");
  }

  void proxy_provide(const http_server_request& req, const std::string&, respond_fn& respond) {
    auto body = api_inputs::object_body(req.body, {"fee_per_kb", "address"});
    if (!body.contains("fee_per_kb"))
      throw bad_input(400, "give \"fee_per_kb\" (ledger units per 1000 bytes proxied)");
    auto fee = api_inputs::amount(body["fee_per_kb"], "fee_per_kb", cfg_.max_price);
    std::vector<std::string> args{"start", std::to_string(fee)};
    if (body.contains("address"))
      args.push_back(api_inputs::text(body["address"], "address", 255));
    need(ports::proxy, "proxy_provider");
    ask(ports::proxy, "provide_proxy", args, respond, providing_answer,
        "the proxy_provider role is not running");
  }

  void proxy_stop(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    need(ports::proxy, "proxy_provider");
    ask(ports::proxy, "provide_proxy", {"stop"}, respond, providing_answer,
        "the proxy_provider role is not running");
  }

  void proxy_list(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    need(ports::proxy_client, "proxy_client");
    ask(
      ports::proxy_client, "proxy_providers", {}, respond,
      [](const event& e) {
        json list = json::array(); // "peer:fee_per_kb:rtt_us,..." cheapest first
        std::string all = field(e, "providers");
        for (std::size_t at = 0; at < all.size();) {
          auto end = std::min(all.find(',', at), all.size());
          auto item = all.substr(at, end - at);
          auto c1 = item.find(':'), c2 = item.rfind(':');
          if (c1 != std::string::npos && c2 > c1)
            list.push_back({{"peer_id", item.substr(0, c1)},
                            {"fee_per_kb", std::stoull(item.substr(c1 + 1, c2 - c1 - 1))},
                            {"rtt_us", std::stoull(item.substr(c2 + 1))}});
          at = end + 1;
        }
        return answer(200, {{"success", true}, {"providers", list}});
      },
      "the proxy_client role is not running");
  }

  void proxy_open(const http_server_request& req, const std::string&, respond_fn& respond) {
    auto body = api_inputs::object_body(req.body, {"provider"});
    std::string provider = "best";
    if (body.contains("provider") && body["provider"] != "best")
      provider = std::to_string(api_inputs::peer_text(body["provider"], "provider"));
    need(ports::proxy_client, "proxy_client");
    ask(
      ports::proxy_client, "proxy_open", {provider}, respond,
      [](const event& e) { // the token stays in the node: its local proxy uses it
        return answer(200, {{"success", true},
                            {"provider", field(e, "provider")},
                            {"client_id", field(e, "client")},
                            {"proxy_address", field(e, "address")},
                            {"fee_per_kb", static_cast<std::uint64_t>(e.value("fee_per_kb"))}});
      },
      "the proxy_client role is not running");
  }

  void proxy_close(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    need(ports::proxy_client, "proxy_client");
    ask(
      ports::proxy_client, "proxy_close", {}, respond,
      [](const event& e) {
        return answer(200,
                      {{"success", true}, {"bytes", static_cast<std::uint64_t>(e.value("bytes"))}});
      },
      "the proxy_client role is not running");
  }

  // The rows of ProxyClients (provider) and ProxySessions (client): bytes,
  // fees requested, sent, confirmed and unconfirmed, status. Auth tokens are
  // left out.
  void proxy_usage(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    std::vector<std::pair<port_t, const char*>> sides;
    if (runs(ports::proxy))
      sides.push_back({ports::proxy, "provider"});
    if (runs(ports::proxy_client))
      sides.push_back({ports::proxy_client, "client"});
    if (sides.empty())
      throw bad_input(409, "this node runs no proxy_provider or proxy_client role");
    struct gather {
      respond_fn respond;
      json out = {{"success", true}};
      std::size_t left = 0;
      bool answered = false;
    };
    auto g = std::make_shared<gather>();
    g->respond = std::move(respond);
    g->left = sides.size();
    for (auto [port, side] : sides) {
      bool sent = submit(port, "proxy_usage", {}, [g, side = std::string(side)](const event& e) {
        if (g->answered)
          return true;
        if (auto refusal = role_refusal(e)) {
          g->answered = true;
          g->respond(*refusal);
          return true;
        }
        json rows = parse_list(e);
        for (auto& r : rows)
          r.erase("auth_token");
        g->out[side] = rows;
        if (--g->left == 0) {
          g->answered = true;
          g->respond(answer(200, g->out));
        }
        return true;
      });
      if (!sent && !g->answered) {
        g->answered = true;
        g->respond(json_error(503, "the proxy roles are not running"));
      }
    }
  }

  struct hashed {
    digest hash{};
    file_stamp stamp;
    unsigned status = 0;
    std::string error;
  };

  // Runs on the hash thread: streaming SHA-256, refused if the file changes meanwhile.
  hashed hash(const fs::path& file) {
    hashed h;
    auto before = stamp_of(file);
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (!before || fd < 0) {
      if (fd >= 0)
        ::close(fd);
      return {{}, {}, 404, "cannot open " + file.string()};
    }
    sha256 s;
    bytes buf(1 << 20);
    std::uint64_t total = 0;
    for (;;) {
      if (stopping_) {
        ::close(fd);
        return {{}, {}, 503, "the node is stopping"};
      }
      auto n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        ::close(fd);
        return {{}, {}, 500, "cannot read " + file.string()};
      }
      if (n == 0)
        break;
      s.update(byte_view{buf.data(), static_cast<std::size_t>(n)});
      total += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    auto after = stamp_of(file);
    if (!after || *after != *before || total != before->size)
      return {{}, {}, 409, file.string() + " changed while it was hashed; provide it again"};
    h.hash = s.finish();
    h.stamp = *before;
    return h;
  }

  void serve(const fs::path& real, const std::string& name, std::uint64_t price, const hashed& h,
             respond_fn respond) {
    auto hex = to_hex(h.hash);
    ask(
      ports::api, "provide",
      {real.string(), name, std::to_string(price), hex, std::to_string(h.stamp.size),
       std::to_string(h.stamp.mtime_ns)},
      std::move(respond),
      [this, hex](const event& e) {
        if (runs(ports::kad)) // announce it in the DHT; the answer is printed, not awaited
          submit(ports::kad, "provide", {hex}, [](const event&) { return true; });
        return answer(201, {{"hash", hex},
                            {"name", field(e, "name")},
                            {"path", field(e, "path")},
                            {"size", static_cast<std::uint64_t>(e.value("size"))},
                            {"price", static_cast<std::uint64_t>(e.value("price"))}});
      },
      "the node's account role is not running");
  }

  void stop_providing(const http_server_request& req, const std::string& param,
                      respond_fn& respond) {
    no_body(req);
    auto hex = to_hex(api_inputs::hash_text(param, "the file hash"));
    ask(
      ports::api, "unprovide", {hex}, respond,
      [this, hex](const event&) {
        if (runs(ports::kad))
          submit(ports::kad, "stop_providing", {hex}, [](const event&) { return true; });
        return answer(200, {{"hash", hex}, {"stopped", true}});
      },
      "the node's account role is not running");
  }

  void list(const char* verb, const char* key, respond_fn& respond) {
    ask(
      ports::api, verb, {}, respond,
      [key](const event& e) {
        return answer(
          200, {{key, parse_list(e)}, {"total", static_cast<std::uint64_t>(e.value("total"))}});
      },
      "the node's account role is not running");
  }

  void provided_files(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    list("provided", "files", respond);
  }

  void payments(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    list("payments", "payments", respond);
  }

  void balance(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    std::vector<std::string> args;
    if (auto a = req.query.find("account"); a != req.query.end())
      args.push_back(std::to_string(api_inputs::peer_text(a->second, "account")));
    ask(
      ports::api, "balance", args, respond,
      [](const event& e) {
        return answer(200, {{"account", field(e, "account")},
                            {"balance", static_cast<std::uint64_t>(e.value("balance"))},
                            {"pending_out", static_cast<std::uint64_t>(e.value("pending_out"))},
                            {"tip", static_cast<std::uint64_t>(e.value("tip"))}});
      },
      "the node's account role is not running");
  }

  void fund(const http_server_request& req, const std::string&, respond_fn& respond) {
    auto body = api_inputs::object_body(req.body, {"account", "amount"});
    if (!body.contains("account")) // names prove nothing: accounts are peer ids
      throw bad_input(400, "give the account to fund as \"account\" (the node's decimal peer id)");
    peer_id account = api_inputs::peer_text(body["account"], "account");
    if (!body.contains("amount"))
      throw bad_input(400, "missing \"amount\"");
    auto amount = api_inputs::amount(body["amount"], "amount", cfg_.max_fund);
    if (amount == 0)
      throw bad_input(400, "amount must be positive");
    if (!runs(ports::ledger))
      throw bad_input(404, "this node runs no ledger role");
    ask(
      ports::ledger, "fund", {std::to_string(account), std::to_string(amount)}, respond,
      [](const event& e) {
        return answer(200, {{"tx", field(e, "tx")},
                            {"account", field(e, "account")},
                            {"amount", static_cast<std::uint64_t>(e.value("amount"))}});
      },
      "the node's ledger is not running");
  }

  // -- lookups -------------------------------------------------------------------

  void lookup(const digest& hash, std::vector<peer_id> only,
              std::function<void(lookup_result)> done, respond_fn fail) {
    auto hex = to_hex(hash);
    auto ask_peers = [this, hex, done, fail](std::vector<peer_id> peers) {
      std::vector<std::string> args{hex};
      for (auto p : peers)
        if (args.size() <= cfg_.max_lookup_peers)
          args.push_back(std::to_string(p));
      // Answers arrive one per peer, then lookup_done.
      auto r = std::make_shared<lookup_result>();
      bool sent =
        submit(ports::file_downloader, "lookup", args, [this, r, done, fail](const event& e) {
          if (auto refusal = role_refusal(e)) {
            fail(*refusal);
            return true;
          }
          if (e.kind == "lookup_answer") {
            auto id = field(e, "peer");
            json p{{"peer_id", id}};
            if (auto k = known_.find(std::strtoull(id.c_str(), nullptr, 10)); k != known_.end())
              p["address"] = k->second;
            if (auto* err = e.field("error")) {
              p["error"] = *err;
              r->failed.push_back(std::move(p));
            } else {
              p["name"] = field(e, "name");
              p["size"] = static_cast<std::uint64_t>(e.value("size"));
              p["price"] = static_cast<std::uint64_t>(e.value("price"));
              r->providers.push_back(std::move(p));
            }
            return false;
          }
          if (e.kind != "lookup_done")
            return false;
          done(std::move(*r));
          return true;
        });
      if (!sent)
        fail(json_error(503, "the node's metadata lookup is not running"));
    };
    if (!only.empty())
      return ask_peers(std::move(only));
    std::vector<peer_id> peers;
    for (auto& [id, _] : known_)
      if (id != cfg_.ledger) // a ledger provides no files
        peers.push_back(id);
    if (!runs(ports::kad))
      return ask_peers(std::move(peers));
    // Providers from the DHT first, then every peer we know.
    bool sent = submit(ports::kad, "find_providers", {hex}, [ask_peers, peers](const event& e) {
      if (e.kind == "command_failed") {
        ask_peers(peers);
        return true;
      }
      if (e.kind != "providers_found")
        return false;
      std::vector<peer_id> all;
      std::string list = field(e, "providers");
      for (std::size_t pos = 0; pos < list.size();) {
        auto comma = list.find(',', pos);
        if (comma == std::string::npos)
          comma = list.size();
        all.push_back(std::strtoull(list.substr(pos, comma - pos).c_str(), nullptr, 10));
        pos = comma + 1;
      }
      for (auto p : peers)
        if (std::find(all.begin(), all.end(), p) == all.end())
          all.push_back(p);
      ask_peers(std::move(all));
      return true;
    });
    if (!sent)
      ask_peers(std::move(peers));
  }

  void get_providers(const http_server_request& req, const std::string& param,
                     respond_fn& respond) {
    no_body(req);
    auto h = api_inputs::hash_text(param, "the file hash");
    auto hex = to_hex(h);
    lookup(
      h, {},
      [respond, hex](lookup_result r) {
        if (r.providers.empty())
          return respond(json_error(404, "no provider of " + hex + " answered (" +
                                           std::to_string(r.failed.size()) + " peer(s) asked)"));
        respond(answer(200, {{"hash", hex}, {"providers", r.providers}, {"failed", r.failed}}));
      },
      respond);
  }

  // -- downloads -----------------------------------------------------------------

  void download_file(const http_server_request& req, const std::string&, respond_fn& respond) {
    auto body = api_inputs::object_body(
      req.body, {"file_id", "hash", "dest_path", "path", "peer_id", "max_price"});
    if (body.contains("file_id") == body.contains("hash"))
      throw bad_input(400, "give the file as \"file_id\" (or \"hash\"): its SHA-256 in hex");
    auto& hv = body.contains("file_id") ? body["file_id"] : body["hash"];
    auto h = api_inputs::hash_text(api_inputs::text(hv, "file_id", 66), "file_id");
    if (body.contains("dest_path") == body.contains("path"))
      throw bad_input(400, "give the destination as \"dest_path\" (or \"path\")");
    auto& dv = body.contains("dest_path") ? body["dest_path"] : body["path"];
    auto dest_text = api_inputs::text(dv, "dest_path", 4096);
    std::uint64_t max_price = body.contains("max_price")
                                ? api_inputs::amount(body["max_price"], "max_price", cfg_.max_price)
                                : cfg_.max_price;
    std::vector<peer_id> only;
    if (body.contains("peer_id")) {
      auto& pv = body["peer_id"];
      if (pv.is_array()) {
        if (pv.empty() || pv.size() > limits::providers_per_download_max)
          throw bad_input(400, "peer_id must list 1 to " +
                                 std::to_string(limits::providers_per_download_max) + " peers");
        for (std::size_t i = 0; i < pv.size(); ++i)
          only.push_back(api_inputs::peer_text(pv[i], "peer_id[" + std::to_string(i) + "]"));
      } else {
        only.push_back(api_inputs::peer_text(pv, "peer_id"));
      }
    }
    auto dest = api_inputs::new_file_inside(dest_text, cfg_.download_dir);
    if (!runs(ports::file_downloader))
      throw bad_input(409, "this node runs no downloader role");
    auto hex = to_hex(h);
    for (auto& [_, d] : downloads_) {
      if (d.status == "downloading" && d.hash == hex)
        throw bad_input(409, "this file is already being downloaded");
      if (d.status == "downloading" && d.dest == dest)
        throw bad_input(409, "another download goes to this dest_path");
    }
    lookup(
      h, std::move(only),
      [this, respond, hex, dest, max_price](lookup_result r) {
        start_download(hex, dest, max_price, std::move(r), respond);
      },
      respond);
  }

  void start_download(const std::string& hex, const fs::path& dest, std::uint64_t max_price,
                      lookup_result r, respond_fn respond) {
    if (r.providers.empty())
      return respond(json_error(404, "no provider of " + hex + " answered (" +
                                       std::to_string(r.failed.size()) + " peer(s) asked)"));
    // The cheapest first; equal prices by peer id.
    std::vector<json> offers;
    for (auto& p : r.providers)
      if (p.value("price", std::uint64_t{0}) <= max_price)
        offers.push_back(p);
    if (offers.empty())
      return respond(json_error(409, "every provider of " + hex + " asks more than max_price " +
                                       std::to_string(max_price)));
    std::stable_sort(offers.begin(), offers.end(), [](const json& a, const json& b) {
      return a.value("price", std::uint64_t{0}) < b.value("price", std::uint64_t{0});
    });
    if (offers.size() > limits::providers_per_download_max)
      offers.resize(limits::providers_per_download_max);
    // Checked again: another request may have started meanwhile.
    for (auto& [_, d] : downloads_)
      if (d.status == "downloading" && (d.hash == hex || d.dest == dest))
        return respond(json_error(409, "this file or dest_path is already being downloaded"));
    std::error_code ec;
    if (fs::symlink_status(dest, ec).type() != fs::file_type::not_found)
      return respond(json_error(409, "dest_path " + dest.string() + " already exists"));
    if (downloads_.size() >= max_tracked_downloads && !forget_finished_download())
      return respond(json_error(503, "too many downloads running"));
    std::vector<std::string> args{hex};
    for (auto& o : offers)
      args.push_back(o.value("peer_id", std::string("0")));
    // The payer pays no more than this for the whole download.
    args.push_back("max_price=" + std::to_string(max_price));
    auto id = next_id_; // submit() takes this one
    tracked_download d;
    d.command_id = id;
    d.hash = hex;
    d.dest = dest;
    d.status = "starting";
    d.providers = json(offers);
    d.price = offers.front().value("price", std::uint64_t{0});
    d.since = clock::now();
    downloads_[id] = d;
    auto r2 = std::make_shared<respond_fn>(std::move(respond));
    bool sent = submit(
      ports::file_downloader, "download", args,
      [this, id, r2](const event& e) { return download_event(id, e, *r2); }, true);
    if (!sent) {
      downloads_.erase(id);
      (*r2)(json_error(503, "the node's downloader is not running"));
    }
  }

  bool forget_finished_download() {
    for (auto it = downloads_.begin(); it != downloads_.end(); ++it)
      if (it->second.status != "downloading" && it->second.status != "starting") {
        downloads_.erase(it);
        return true;
      }
    return false;
  }

  static json download_json(const tracked_download& d) {
    json j{{"hash", d.hash},
           {"status", d.status},
           {"dest_path", d.dest.string()},
           {"providers", d.providers},
           {"price", d.price}};
    if (!d.reason.empty())
      j["reason"] = d.reason;
    return j;
  }

  // Every event of one download; true once it ended.
  bool download_event(std::uint64_t id, const event& e, respond_fn& respond) {
    auto it = downloads_.find(id);
    if (it == downloads_.end())
      return true;
    auto& d = it->second;
    const bool first = d.status == "starting";
    if (e.kind == "download_started") {
      d.status = "downloading";
      respond(answer(202, download_json(d)));
      return false;
    }
    if (e.kind == "download_done") {
      place(d);
      if (first)
        respond(answer(200, download_json(d)));
      return true;
    }
    if (e.kind == "download_failed" || e.kind == "command_failed") {
      d.status = "failed";
      d.reason = field(e, "reason");
      if (first) { // refused at once: nothing started
        respond(json_error(409, d.reason));
        downloads_.erase(it);
      }
      return true;
    }
    return false; // corrupt_detected and the like: the download goes on
  }

  // The downloader saved the verified file under data_dir/downloads; the
  // user asked for dest_path.
  void place(tracked_download& d) {
    auto committed =
      node_.files ? node_.files->committed_path(*digest_from_hex(d.hash)) : std::nullopt;
    d.status = "failed";
    if (!committed) {
      d.reason = "the node did not keep the downloaded file";
      return;
    }
    // Relative to the download folder opened once, each folder below it
    // without following links: a folder swapped for a link since the request
    // was checked cannot move the file elsewhere (net/folder_walk.hpp).
    const auto root = cfg_.download_dir.lexically_normal();
    try {
      place_file_below(*committed, root, d.dest.lexically_relative(root));
    } catch (const placement_error& e) {
      d.reason = "verified and saved as " + committed->string() +
                 ", but not placed at dest_path: " + e.what();
      log_("download " + d.hash + ": " + d.reason);
      return;
    }
    d.status = "done";
  }

  void downloaded_files(const http_server_request& req, const std::string&, respond_fn& respond) {
    no_body(req);
    ask(
      ports::api, "downloads", {}, respond,
      [this](const event& e) {
        // History rows (verified downloads) with what the API knows of its own requests.
        std::map<std::string, json> by_hash;
        for (auto& row : parse_list(e)) {
          row["status"] = "done";
          by_hash[row.value("hash", std::string())] = row;
        }
        for (auto& [_, d] : downloads_) { // the latest request for a hash wins
          auto& j = by_hash[d.hash];
          if (j.is_null())
            j = json{{"hash", d.hash}};
          j["status"] = d.status == "starting" ? "downloading" : d.status;
          j["dest_path"] = d.dest.string();
          if (!d.reason.empty())
            j["reason"] = d.reason;
        }
        json out = json::array();
        for (auto& [_, j] : by_hash)
          out.push_back(j);
        return answer(
          200, {{"downloads", out}, {"total", static_cast<std::uint64_t>(e.value("total"))}});
      },
      "the node's account role is not running");
  }

  api_config cfg_;
  market_api_node node_;
  log_fn log_;
  std::atomic<bool> stopping_{false};
  // io thread only
  std::map<std::uint64_t, waiter> waiting_;
  std::map<std::uint64_t, tracked_download> downloads_; // by command id
  std::map<peer_id, std::string> known_;
  std::uint64_t next_id_ = market_api_first_command_id;
  std::size_t hashing_ = 0;
  boost::asio::thread_pool hash_pool_{1};
  http_server server_; // last: stopped (and its handlers gone) before the rest goes
};

market_api::market_api(api_config cfg, market_api_node node, log_fn log)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(node), std::move(log))) {}
market_api::~market_api() = default;
void market_api::start() { impl_->start(); }
void market_api::stop() { impl_->stop(); }
const std::string& market_api::address() const { return impl_->address(); }
bool market_api::consume(port_t port, const event& e) { return impl_->consume(port, e); }
void market_api::peer_seen(peer_id id, const std::string& address) {
  impl_->peer_seen(id, address);
}

void market_api::install_roles(const api_config& cfg, std::vector<std::shared_ptr<role>>& roles,
                               peer_id self) {
  market::account_config a;
  if (cfg.ledger != 0) // live node ids are hashes of names: 0 means none given
    a.ledger = cfg.ledger;
  a.ledger_address = cfg.ledger_address;
  a.ledger_timeout = cfg.ledger_timeout;
  a.max_list = cfg.max_list;
  if (!a.ledger)
    for (auto& r : roles)
      if (r->port() == ports::ledger)
        a.ledger = self;
  roles.push_back(market::make_account(a));
  // Lookups run in the downloader (providers answer metadata on its port); a
  // node without one gets one for them. The API's lookup bounds apply.
  std::shared_ptr<filexfer::downloader> d;
  for (auto& r : roles)
    if (r->port() == ports::file_downloader)
      d = std::dynamic_pointer_cast<filexfer::downloader>(r);
  if (!d) {
    d = std::make_shared<filexfer::downloader>(filexfer::downloader_config{});
    roles.push_back(d);
  }
  d->set_lookup_limits(cfg.lookup_timeout, cfg.max_lookup_peers);
}

} // namespace peerlab::net
