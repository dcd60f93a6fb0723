#include "protocols/proxy/provider.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/kad/commands.hpp"
#include "protocols/kad/ids.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/proxy/tables.hpp"

#include <algorithm>

namespace peerlab::proxy {

namespace {

template <class A>
A random_array(rng& r) {
  A a{};
  for (std::size_t i = 0; i < a.size(); i += 8) {
    std::uint64_t v = r.next();
    for (std::size_t k = 0; k < 8 && i + k < a.size(); ++k)
      a[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
  return a;
}

template <class A>
A array_of(const bytes& b) {
  A a{};
  if (b.size() == a.size())
    std::copy(b.begin(), b.end(), a.begin());
  return a;
}

} // namespace

std::vector<const table_schema*> provider::tables() const {
  return {&tables::clients(), &tables::payments(), &tables::offer()};
}

metadata provider::info(const context& ctx) const {
  return metadata{cfg_.address, cfg_.fee_per_kb, ctx.self};
}

std::size_t provider::active_clients() const {
  return static_cast<std::size_t>(std::count_if(
    clients_.begin(), clients_.end(), [](auto& c) { return c.second.status == "active"; }));
}

std::map<std::uint64_t, provider::client> provider::load_clients(const table_store& store) {
  std::map<std::uint64_t, client> out;
  store.scan(tables::clients(), {}, [&](const row& r) {
    client c;
    c.peer = r.u64(1);
    c.token = array_of<auth_token>(r.blob(2));
    c.started = r.integer(3);
    c.fee_per_kb = r.u64(4);
    c.up = r.u64(5);
    c.down = r.u64(6);
    c.reported = r.u64(7);
    c.requested = r.u64(8);
    c.unconfirmed = r.u64(9);
    c.confirmed = r.u64(10);
    c.strikes = static_cast<std::uint32_t>(r.integer(11));
    c.status = r.text(12);
    c.reason = r.text(13);
    out[r.u64(0)] = std::move(c);
  });
  return out;
}

void provider::start(context& ctx, effects& fx) {
  clients_.clear();
  bills_.clear();
  verifying_.clear();
  used_tx_.clear();
  queries_.clear();
  req_seq_ = ctx.random.next() >> 1;
  active_ = cfg_.fee_per_kb > 0;
  if (auto o = ctx.store.get(tables::offer(), {std::int64_t{1}})) {
    active_ = o->integer(1) != 0;
    cfg_.fee_per_kb = o->u64(2);
    cfg_.address = o->text(3);
  }
  clients_ = load_clients(ctx.store);
  ctx.store.scan(tables::payments(), {}, [&](const row& r) {
    auto ref = array_of<payment_ref>(r.blob(0));
    const auto& st = r.text(5);
    if (r.blob(3).size() == 32)
      used_tx_.insert(array_of<tx_id>(r.blob(3)));
    if (st == "requested")
      bills_[ref] = billed{r.u64(1), r.u64(2)};
    else if (st == "verifying")
      verifying_[ref] =
        verifying{r.u64(1), r.u64(2), array_of<tx_id>(r.blob(3)), r.integer(4), 0, ctx.now};
  });
  if (!cfg_.ledger_address.empty())
    fx.learn_address(cfg_.ledger, cfg_.ledger_address);
  announce_state(fx);
  if (active_ && cfg_.announce)
    fx.ask(ports::kad, peerlab::command(local_command_id(ports::proxy, ask_seq_++),
                                        kad::command{kad::provide{kad::proxy_providers_key()}}));
  tick_token_ = ctx.random.next() | 1;
  fx.after(cfg_.poll_interval, tick_token_);
}

// A (re)started provider says what it serves and which sessions are open, as
// the commands that set them up did: a live node's proxy serves them again.
void provider::announce_state(effects& fx) {
  if (!active_)
    return;
  fx.emit(event{"proxy_providing",
                0,
                {{"active", "1"}, {"address", cfg_.address}},
                {{"fee_per_kb", static_cast<double>(cfg_.fee_per_kb)}}});
  // Ended clients too (status named, newest last, at most ended_announced_max),
  // so the proxy answers their tokens 403 rather than 407 after a restart.
  std::vector<std::pair<time_us, std::uint64_t>> ended;
  for (auto& [id, c] : clients_)
    if (c.status != "active")
      ended.emplace_back(c.started, id);
  std::sort(ended.begin(), ended.end());
  const auto skip = ended.size() - std::min(ended.size(), bounds::ended_announced_max);
  for (auto it = ended.begin() + static_cast<std::ptrdiff_t>(skip); it != ended.end(); ++it)
    emit_connected(it->second, clients_.at(it->second), fx);
  for (auto& [id, c] : clients_)
    if (c.status == "active")
      emit_connected(id, c, fx);
}

void provider::emit_connected(std::uint64_t id, const client& c, effects& fx) {
  // The token lets a live node's forward proxy recognise the client's
  // Proxy-Authorization (net/proxy_shell.hpp); the status whether it may pass.
  fx.emit(event{"proxy_client_connected",
                0,
                {{"client", std::to_string(id)},
                 {"peer", std::to_string(c.peer)},
                 {"token", to_hex(byte_view{c.token.data(), c.token.size()})},
                 {"status", c.status}},
                {{"fee_per_kb", static_cast<double>(c.fee_per_kb)}}});
  if (c.status == "active")
    emit_allowance(id, c, fx);
}

std::uint64_t provider::allowance(const client& c) const {
  if (c.fee_per_kb == 0)
    return UINT64_MAX;
  // Cut off when fee_of(used) > paid + fee_of(window): the largest used with
  // floor(used * fee / 1000) <= limit is floor((1000 * (limit + 1) - 1) / fee).
  using u128 = unsigned __int128;
  u128 limit = u128{c.confirmed} + c.unconfirmed + fee_of(cfg_.credit_window, c.fee_per_kb);
  u128 most = (1000 * (limit + 1) - 1) / c.fee_per_kb;
  return most > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(most);
}

void provider::emit_allowance(std::uint64_t id, const client& c, effects& fx) {
  // A live node's forward proxy stops the client's traffic once its bytes
  // pass this, without waiting for its next metering report.
  fx.emit(event{"proxy_allowance",
                0,
                {{"client", std::to_string(id)}, {"peer", std::to_string(c.peer)}},
                {{"bytes", static_cast<double>(allowance(c))}}});
}

void provider::save(context& ctx, std::uint64_t id, const client& c) {
  ctx.store.put(tables::clients(),
                row{cell_u64(id), cell_u64(c.peer), bytes(c.token.begin(), c.token.end()),
                    std::int64_t{c.started}, cell_u64(c.fee_per_kb), cell_u64(c.up),
                    cell_u64(c.down), cell_u64(c.reported), cell_u64(c.requested),
                    cell_u64(c.unconfirmed), cell_u64(c.confirmed), std::int64_t{c.strikes},
                    c.status, c.reason});
}

void provider::save_offer(context& ctx) {
  ctx.store.put(tables::offer(), row{std::int64_t{1}, std::int64_t{active_ ? 1 : 0},
                                     cell_u64(cfg_.fee_per_kb), cfg_.address});
}

void provider::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (ledger::is_reply_frame(data)) {
    auto d = ledger::decode(data);
    auto* st = d.ok() ? std::get_if<ledger::tx_status_reply>(&d.msg) : nullptr;
    if (!st || from != cfg_.ledger)
      return fx.count("frames_rejected");
    note_settle(fx, data.size());
    return on_tx_status(ctx, *st, fx);
  }
  auto d = decode(data);
  if (!d.ok())
    return fx.count("frames_rejected");
  std::visit(
    [&](const auto& m) {
      using M = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<M, meta_req>)
        on_meta(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, connect_req>)
        on_connect(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, data_up>)
        on_data(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, usage_report>)
        on_report(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, payment_notify>)
        on_notify(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, session_end>)
        on_end(ctx, from, m, fx);
      else
        fx.count("frames_rejected"); // a client-side message sent to the provider
    },
    d.msg);
}

void provider::on_meta(context& ctx, peer_id from, const meta_req& m, effects& fx) {
  if (!active_)
    return fx.send(from,
                   encode(meta_refused{m.req_id, refusal::not_provider, "not a proxy provider"}));
  fx.send(from, encode(meta{m.req_id, info(ctx)}));
}

void provider::on_connect(context& ctx, peer_id from, const connect_req& m, effects& fx) {
  auto refuse = [&](refusal why, std::string text) {
    fx.count("proxy.connects_refused");
    fx.send(from, encode(connect_refused{m.req_id, why, std::move(text)}));
  };
  if (!active_)
    return refuse(refusal::not_provider, "not a proxy provider");
  for (auto& [id, c] : clients_) {
    if (c.peer != from)
      continue;
    if (c.status == "terminated")
      return refuse(refusal::terminated, "cut off: " + c.reason);
    if (c.status == "active") // our CONNECT_OK was lost: the same session again
      return fx.send(from, encode(connect_ok{m.req_id, id, c.token, info(ctx)}));
  }
  if (active_clients() >= cfg_.max_clients)
    return refuse(refusal::busy, "too many clients");
  std::uint64_t id = 0;
  while (id == 0 || clients_.count(id))
    id = ctx.random.next() >> 8;
  client c;
  c.peer = from;
  c.token = random_array<auth_token>(ctx.random);
  c.started = ctx.now;
  c.fee_per_kb = cfg_.fee_per_kb;
  if (ctx.store.count(tables::clients()) >= ctx.store.capacity(tables::clients()))
    return refuse(refusal::internal_error, "the ProxyClients table is full");
  save(ctx, id, c);
  fx.send(from, encode(connect_ok{m.req_id, id, c.token, info(ctx)}));
  fx.count("proxy.clients_connected");
  emit_connected(id, c, fx);
  clients_[id] = std::move(c);
}

provider::client* provider::authorised(peer_id from, std::uint64_t id, const auth_token& t) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.peer != from || it->second.token != t)
    return nullptr;
  return &it->second;
}

bool provider::meter(context& ctx, std::uint64_t id, std::uint64_t up, std::uint64_t down,
                     effects& fx) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.status != "active")
    return false;
  auto& c = it->second;
  c.up += up;
  c.down += down;
  fx.count("proxy.bytes_metered", static_cast<double>(up + down));
  if (c.used() > allowance(c)) {
    const std::uint64_t paid = c.confirmed + c.unconfirmed;
    const std::uint64_t owed = fee_of(c.used(), c.fee_per_kb);
    terminate(ctx, id, c, end_reason::unpaid,
              "owes " + std::to_string(owed - paid) + " past the credit window of " +
                std::to_string(cfg_.credit_window) + " B",
              fx);
    return false;
  }
  save(ctx, id, c);
  return true;
}

void provider::on_data(context& ctx, peer_id from, const data_up& m, effects& fx) {
  auto* c = authorised(from, m.client_id, m.token);
  if (!c)
    return fx.count("proxy.unauthorised");
  if (c->status != "active") { // the simulated 403: this client is cut off
    fx.count("proxy.refused_requests");
    return fx.send(from, encode(session_ended{m.client_id, end_reason::unpaid, c->reason}));
  }
  if (!meter(ctx, m.client_id, m.payload.size(), 0, fx))
    return;
  if (cfg_.cheat == provider_strategy::drops_after_paid && c->confirmed > 0)
    return fx.count("proxy.requests_dropped");
  std::uint64_t left = m.response_bytes;
  do {
    auto n = std::min<std::uint64_t>(left, bounds::data_payload_max);
    if (n > 0 && !meter(ctx, m.client_id, 0, n, fx))
      return;
    left -= n;
    fx.send(from, encode(data_down{m.client_id, m.request_id, left == 0,
                                   bytes(static_cast<std::size_t>(n), 0x5a)}));
  } while (left > 0);
}

void provider::on_end(context& ctx, peer_id from, const session_end& m, effects& fx) {
  auto* c = authorised(from, m.client_id, m.token);
  if (!c || c->status != "active")
    return;
  // Leaving with a debt (payments being verified count as paid) is a cut-off:
  // the client is refused from now on, as one that stopped paying would be.
  // A shortfall the two counts may honestly differ by (bytes in flight when
  // either side crashed: within the tolerance band, and at most one credit
  // window, so a cheater gains no more than its bound) is accepted.
  const std::uint64_t owed = fee_of(c->used(), c->fee_per_kb);
  const std::uint64_t paid = c->confirmed + c->unconfirmed;
  const std::uint64_t forgiven =
    fee_of(std::min(cfg_.tolerance.margin(c->used()), cfg_.credit_window), c->fee_per_kb);
  if (owed > paid + 1 + forgiven)
    return terminate(ctx, m.client_id, *c, end_reason::unpaid,
                     "left owing " + std::to_string(owed - paid), fx);
  c->status = "closed";
  c->reason = end_reason_name(m.reason);
  if (owed > paid + 1) {
    fx.count("proxy.shortfalls_accepted");
    c->reason += ": left owing " + std::to_string(owed - paid) + ", within the band";
  }
  save(ctx, m.client_id, *c);
  fx.emit(event{"proxy_client_closed",
                0,
                {{"client", std::to_string(m.client_id)}, {"reason", c->reason}},
                {{"bytes", static_cast<double>(c->used())},
                 {"confirmed", static_cast<double>(c->confirmed)},
                 {"unconfirmed", static_cast<double>(c->unconfirmed)}}});
}

void provider::provide(context& ctx, const provide_proxy& p, std::uint64_t cmd_id, effects& fx) {
  active_ = p.start;
  if (p.start) {
    cfg_.fee_per_kb = p.fee_per_kb;
    cfg_.address = p.address;
  } else {
    for (auto& [id, c] : clients_)
      if (c.status == "active")
        terminate(ctx, id, c, end_reason::provider_stopped, "the provider stopped", fx);
  }
  save_offer(ctx);
  if (cfg_.announce) {
    auto key = kad::proxy_providers_key();
    auto body = p.start ? kad::command{kad::provide{key}} : kad::command{kad::stop_providing{key}};
    fx.ask(ports::kad, peerlab::command(local_command_id(ports::proxy, ask_seq_++), body));
  }
  fx.emit(event{"proxy_providing",
                cmd_id,
                {{"active", p.start ? "1" : "0"}, {"address", cfg_.address}},
                {{"fee_per_kb", static_cast<double>(cfg_.fee_per_kb)}}});
}

void provider::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<proxy::command>();
  if (!body)
    return fx.fail(cmd, fail_code::bad_request, "the proxy provider takes proxy commands");
  if (auto* p = std::get_if<provide_proxy>(body))
    return provide(ctx, *p, cmd.id, fx);
  if (auto* m = std::get_if<metered>(body)) {
    auto it = clients_.find(m->client_id);
    if (it == clients_.end())
      return fx.fail(cmd, fail_code::not_found, "no proxy client " + std::to_string(m->client_id));
    if (!meter(ctx, m->client_id, m->up, m->down, fx))
      return fx.fail(cmd, fail_code::conflict,
                     "proxy client " + std::to_string(m->client_id) + " is " + it->second.status);
    return;
  }
  if (auto* st = std::get_if<stalled>(body)) {
    auto it = clients_.find(st->client_id);
    if (it == clients_.end())
      return fx.fail(cmd, fail_code::not_found, "no proxy client " + std::to_string(st->client_id));
    if (it->second.status != "active")
      return fx.fail(cmd, fail_code::conflict,
                     "proxy client " + std::to_string(st->client_id) + " is " + it->second.status);
    if (!it->second.stalled_since) {
      it->second.stalled_since = ctx.now;
      stalled_.insert(st->client_id);
      fx.count("proxy.clients_stalled");
    }
    return;
  }
  if (auto* a = std::get_if<authorize>(body)) {
    for (auto& [id, c] : clients_) {
      if (c.token != a->token)
        continue;
      if (c.status != "active")
        return fx.fail(cmd, fail_code::conflict,
                       "proxy client " + std::to_string(id) + " is " + c.status + ": " + c.reason);
      return fx.emit(event{"proxy_authorized",
                           cmd.id,
                           {{"client", std::to_string(id)}, {"peer", std::to_string(c.peer)}},
                           {}});
    }
    return fx.fail(cmd, fail_code::not_found, "no proxy client has this token");
  }
  if (std::holds_alternative<usage>(*body)) {
    event e{"proxy_usage", cmd.id, {}, {{"clients", static_cast<double>(clients_.size())}}};
    e.rows_schema = &tables::clients();
    ctx.store.scan(tables::clients(), {}, [&](const row& r) { e.rows.push_back(r); });
    return fx.emit(std::move(e));
  }
  fx.fail(
    cmd, fail_code::bad_request,
    std::string(
      "the proxy provider takes provide_proxy, proxy_authorize, proxy_usage and metered, not ") +
      std::string(cmd.verb()));
}

void provider::reply(context&, port_t from, const event& e, effects& fx) {
  if (from != ports::kad)
    return;
  if (e.kind == "put_done")
    fx.count("proxy.announced");
  else if (e.kind == "put_failed" || e.kind == "command_failed")
    fx.count("proxy.announce_failed"); // kad republishes on its own schedule
}

std::shared_ptr<role> make_provider(const provider_config& c) {
  return std::make_shared<provider>(c);
}

} // namespace peerlab::proxy
