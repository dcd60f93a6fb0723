#include "protocols/client/client.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/text.hpp"
#include "protocols/filexfer/commands.hpp"
#include "protocols/kad/commands.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/kad/kad.hpp"

#include <algorithm>
#include <set>

namespace peerlab::client {

namespace {

// One user command in progress.
struct op {
  enum class kind : std::uint8_t { join, announce, fetch } what = kind::fetch;
  enum class step : std::uint8_t {
    resolving,
    waiting_join,
    asking,
    retry_wait
  } at = step::resolving;
  std::uint64_t user_id = 0; // the user's command id: replies carry it
  digest hash{};
  std::vector<peer_id> peers;          // seeds or providers known by id
  std::vector<std::string> unresolved; // by address, not met yet
  time_us started = 0, deadline = 0;
  std::map<peer_id, std::string> address_of; // peers met by address (join seeds)
  bool unresolved_given_up = false;          // the wait for peers named by address is over
  // DHT lookups of a fetch: how many, and the figures of the last one.
  std::uint32_t lookups = 0;
  double lookup_hops = 0, lookup_messages = 0, lookup_us = 0, lookup_found = 0;
};

std::vector<peer_id> split_peers(const std::string* list) {
  std::vector<peer_id> out;
  if (!list)
    return out;
  std::string_view s = *list;
  while (!s.empty()) {
    auto comma = s.find(',');
    if (auto p = parse_u64(s.substr(0, comma)))
      out.push_back(*p);
    if (comma == std::string_view::npos)
      break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

class client_role final : public role {
public:
  explicit client_role(config c) : cfg_(c) {}

  port_t port() const override { return ports::client; }
  const char* name() const override { return "client"; }

  // The client talks only to roles of its own node.
  void frame(context&, peer_id, byte_view, effects& fx) override { fx.count("frames_rejected"); }

  void start(context&, effects&) override {
    ops_.clear();
    asks_.clear();
    known_.clear();
    ++epoch_;
  }

  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, client::parse_command(verb, args, err));
  }

  void peer_up(context& ctx, peer_id peer, std::string_view address, effects& fx) override {
    if (address.empty())
      return;
    known_[std::string(address)] = peer;
    for (auto& [key, o] : ops_)
      if (o.at == op::step::resolving)
        resolve(o);
    advance_all(ctx, fx);
  }

  void command(context& ctx, const peerlab::command& c, effects& fx) override {
    auto* body = c.as<client::command>();
    if (!body)
      return fx.fail(c, fail_code::bad_request, "the client knows join, announce and fetch");
    if (ops_.size() >= cfg_.max_pending)
      return fx.fail(c, fail_code::unavailable, "too many user commands in progress");
    op o;
    o.user_id = c.id;
    o.started = ctx.now;
    o.deadline = ctx.now + cfg_.wait;
    if (auto* j = std::get_if<join>(body)) {
      o.what = op::kind::join;
      o.peers = j->seeds;
      o.unresolved = j->seed_addresses;
    } else if (auto* a = std::get_if<announce>(body)) {
      o.what = op::kind::announce;
      o.hash = a->hash;
    } else {
      auto& f = std::get<fetch>(*body);
      o.what = op::kind::fetch;
      o.hash = f.hash;
      o.peers = f.providers;
      o.unresolved = f.provider_addresses;
    }
    resolve(o);
    auto key = next_key_++;
    ops_.emplace(key, std::move(o));
    fx.after(cfg_.wait, timer_token(key));
    advance(ctx, key, fx);
  }

  void reply(context& ctx, port_t from, const event& e, effects& fx) override {
    auto it = asks_.find(e.command_id);
    if (it == asks_.end())
      return;
    auto key = it->second;
    auto oi = ops_.find(key);
    if (oi == ops_.end())
      return (void)asks_.erase(it);
    auto& o = oi->second;
    const bool failed = e.kind == "command_failed";
    if (o.what == op::kind::join && (e.kind == "bootstrap_done" || failed)) {
      asks_.erase(it);
      if (failed || e.value("success") == 0)
        emit(fx, o, "join_failed", {{"reason", reason_of(e, "no seed answered the bootstrap")}},
             {});
      else
        emit(fx, o, "joined", {}, {{"peers", e.value("count")}});
      ops_.erase(oi);
      return advance_all(ctx, fx);
    }
    if (o.what == op::kind::announce &&
        (e.kind == "put_done" || e.kind == "put_failed" || failed)) {
      asks_.erase(it);
      if (e.kind == "put_done")
        emit(fx, o, "announced", {{"hash", to_hex(o.hash)}}, {{"stored", e.value("acks")}});
      else
        emit(fx, o, "announce_failed",
             {{"hash", to_hex(o.hash)}, {"reason", reason_of(e, "no peer stored the record")}}, {});
      ops_.erase(oi);
      return;
    }
    if (o.what != op::kind::fetch)
      return;
    if (from == ports::kad && (e.kind == "providers_found" || failed)) {
      asks_.erase(it);
      auto found = split_peers(e.field("providers"));
      std::erase(found, ctx.self);
      ++o.lookups;
      o.lookup_hops = e.value("hops");
      o.lookup_messages = e.value("messages");
      o.lookup_us = e.value("duration_us");
      o.lookup_found = static_cast<double>(found.size());
      if (!found.empty()) {
        // Every fetcher would otherwise start with the same provider.
        for (std::size_t k = found.size(); k > 1; --k)
          std::swap(found[k - 1], found[ctx.random.below(k)]);
        o.peers = std::move(found);
        return download(ctx, key, o, fx);
      }
      if (ctx.now + cfg_.lookup_retry > o.deadline)
        return finish_fetch(ctx, oi, false, "no provider found in the DHT", fx);
      o.at = op::step::retry_wait;
      fx.after(cfg_.lookup_retry, timer_token(key));
      return;
    }
    if (from == ports::file_downloader &&
        (e.kind == "download_done" || e.kind == "download_failed" || failed)) {
      asks_.erase(it);
      if (e.kind == "download_done")
        return finish_fetch(ctx, oi, true, "", fx, e.value("bytes"));
      return finish_fetch(ctx, oi, false, reason_of(e, "the download failed"), fx);
    }
  }

  void timer(context& ctx, std::uint64_t token, effects& fx) override {
    if ((token >> 40) != (epoch_ & 0xffffff))
      return; // from before a restart
    auto key = token & ((std::uint64_t{1} << 40) - 1);
    auto it = ops_.find(key);
    if (it == ops_.end())
      return;
    auto& o = it->second;
    if (o.at == op::step::retry_wait) {
      o.at = op::step::waiting_join;
      return advance(ctx, key, fx);
    }
    if (o.at == op::step::resolving && ctx.now >= o.deadline) {
      o.unresolved_given_up = true;
      advance(ctx, key, fx);
    }
  }

private:
  // Moves addresses of `o` that the transport has met into its peers.
  void resolve(op& o) {
    std::vector<std::string> still;
    for (auto& a : o.unresolved) {
      auto k = known_.find(a);
      if (k == known_.end()) {
        still.push_back(a);
      } else if (std::find(o.peers.begin(), o.peers.end(), k->second) == o.peers.end()) {
        o.peers.push_back(k->second);
        o.address_of[k->second] = a;
      }
    }
    o.unresolved = std::move(still);
  }

  static std::uint64_t timer_token_of(std::uint64_t epoch, std::uint64_t key) {
    return ((epoch & 0xffffff) << 40) | (key & ((std::uint64_t{1} << 40) - 1));
  }
  std::uint64_t timer_token(std::uint64_t key) const { return timer_token_of(epoch_, key); }

  static std::string reason_of(const event& e, const char* fallback) {
    auto* r = e.field("reason");
    return r && !r->empty() ? *r : fallback;
  }

  void emit(effects& fx, const op& o, const char* kind,
            std::vector<std::pair<std::string, std::string>> fields,
            std::vector<std::pair<std::string, double>> values) {
    fx.emit(event{kind, o.user_id, std::move(fields), std::move(values)});
  }

  std::uint64_t ask(effects& fx, port_t to, std::uint64_t key, auto body) {
    auto id = local_command_id(ports::client, next_ask_++);
    asks_[id] = key;
    fx.ask(to, peerlab::command(id, std::move(body)));
    return id;
  }

  void advance_all(context& ctx, effects& fx) {
    std::vector<std::uint64_t> keys;
    for (auto& [k, _] : ops_)
      keys.push_back(k);
    for (auto k : keys)
      if (ops_.count(k))
        advance(ctx, k, fx);
  }

  // Takes the op as far as it can go now.
  void advance(context& ctx, std::uint64_t key, effects& fx) {
    auto it = ops_.find(key);
    auto& o = it->second;
    if (o.at == op::step::asking || o.at == op::step::retry_wait)
      return;
    // Peers named by address are awaited until met or until the deadline.
    if (!o.unresolved.empty() && ctx.now < o.deadline && !o.unresolved_given_up) {
      o.at = op::step::resolving;
      return;
    }
    switch (o.what) {
    case op::kind::join: {
      if (o.peers.empty() && !o.unresolved.empty()) {
        emit(fx, o, "join_failed", {{"reason", "no seed reachable: " + join_text(o.unresolved)}},
             {});
        ops_.erase(it);
        return advance_all(ctx, fx);
      }
      if (o.peers.empty()) { // the first node: the others join through it
        emit(fx, o, "joined", {}, {{"peers", 0}});
        ops_.erase(it);
        return advance_all(ctx, fx);
      }
      kad::bootstrap b;
      for (auto p : o.peers) {
        auto a = o.address_of.find(p);
        b.seeds.push_back({p, a == o.address_of.end() ? "" : a->second});
      }
      o.at = op::step::asking;
      ask(fx, ports::kad, key, kad::command{std::move(b)});
      return;
    }
    case op::kind::announce:
      if (joining()) {
        o.at = op::step::waiting_join;
        return;
      }
      o.at = op::step::asking;
      ask(fx, ports::kad, key, kad::command{kad::provide{o.hash}});
      return;
    case op::kind::fetch:
      if (!o.peers.empty())
        return download(ctx, key, o, fx);
      if (!o.unresolved.empty())
        return finish_fetch(ctx, it, false, "no provider reachable: " + join_text(o.unresolved),
                            fx);
      if (joining()) {
        o.at = op::step::waiting_join;
        return;
      }
      o.at = op::step::asking;
      ask(fx, ports::kad, key, kad::command{kad::find_providers{o.hash, cfg_.want}});
      return;
    }
  }

  void download(context&, std::uint64_t key, op& o, effects& fx) {
    o.at = op::step::asking;
    if (o.peers.size() > limits::providers_per_download_max)
      o.peers.resize(limits::providers_per_download_max);
    ask(fx, ports::file_downloader, key,
        filexfer::command{filexfer::download_file{o.hash, o.peers}});
  }

  void finish_fetch(context& ctx, std::map<std::uint64_t, op>::iterator it, bool ok,
                    std::string reason, effects& fx, double bytes = 0) {
    auto& o = it->second;
    std::vector<std::pair<std::string, double>> values{
      {"duration_us", static_cast<double>(ctx.now - o.started)}, {"lookups", double(o.lookups)}};
    if (o.lookups > 0)
      values.insert(values.end(), {{"lookup_hops", o.lookup_hops},
                                   {"lookup_messages", o.lookup_messages},
                                   {"lookup_us", o.lookup_us},
                                   {"lookup_found", o.lookup_found}});
    if (ok) {
      values.insert(values.end(), {{"bytes", bytes}, {"providers", double(o.peers.size())}});
      emit(fx, o, "fetch_done", {{"hash", to_hex(o.hash)}}, std::move(values));
    } else {
      emit(fx, o, "fetch_failed", {{"hash", to_hex(o.hash)}, {"reason", std::move(reason)}},
           std::move(values));
    }
    ops_.erase(it);
  }

  // DHT commands wait while a join is in progress (a node that never joins
  // through this role, e.g. bootstrapped by a workload, does not wait).
  bool joining() const {
    for (auto& [_, o] : ops_)
      if (o.what == op::kind::join)
        return true;
    return false;
  }

  static std::string join_text(const std::vector<std::string>& v) {
    std::string s;
    for (auto& a : v)
      s += (s.empty() ? "" : ", ") + a;
    return s;
  }

  config cfg_;
  std::map<std::uint64_t, op> ops_;             // by key
  std::map<std::uint64_t, std::uint64_t> asks_; // local command id -> op key
  std::map<std::string, peer_id> known_;        // address -> peer, from the transport
  std::uint64_t epoch_ = 0, next_key_ = 1, next_ask_ = 1;
};

} // namespace

std::optional<std::string> validate(const config& c) {
  if (c.wait <= 0)
    return "wait must be positive";
  if (c.lookup_retry <= 0)
    return "lookup_retry must be positive";
  if (c.max_pending == 0 || c.max_pending > 65536)
    return "max_pending must be 1..65536";
  if (c.want > 4096)
    return "want must be 0 (all) .. 4096";
  return std::nullopt;
}

std::shared_ptr<role> make_client(const config& c) {
  if (auto e = validate(c))
    throw std::invalid_argument("client: " + *e);
  return std::make_shared<client_role>(c);
}

} // namespace peerlab::client
