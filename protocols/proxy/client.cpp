#include "protocols/proxy/client.hpp"

#include "protocols/common/text.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/kad/commands.hpp"
#include "protocols/kad/ids.hpp"
#include "protocols/kad/kad.hpp"
#include "protocols/proxy/tables.hpp"

#include <algorithm>

namespace peerlab::proxy {

namespace {

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

} // namespace

std::vector<const table_schema*> client::tables() const { return {&tables::sessions()}; }

// A ProxySessions row as the session it records (status and reason aside).
client::session client::session_of(const row& r) {
  session s;
  s.key = r.u64(0);
  s.provider = r.u64(1);
  s.client_id = r.u64(2);
  std::copy(r.blob(3).begin(), r.blob(3).end(), s.token.begin());
  s.info = metadata{r.text(4), r.u64(5), r.u64(6)};
  s.started = r.integer(7);
  s.up = r.u64(9);
  s.down = r.u64(10);
  s.unconfirmed = r.u64(11);
  s.confirmed = r.u64(12);
  return s;
}

void client::start(context& ctx, effects& fx) {
  phase_ = phase::idle;
  cands_.clear();
  excluded_.clear();
  fetches_.clear();
  notified_.clear();
  pay_.reset();
  s_.reset();
  open_cmd_ = list_cmd_ = close_cmd_ = 0;
  report_open_ = false;
  leaving_.reset();
  req_seq_ = ctx.random.next() >> 1;
  // Resume the session a crash interrupted: its figures are in ProxySessions.
  ctx.store.scan(tables::sessions(), {}, [&](const row& r) {
    if (r.text(13) != "active" && r.text(13) != "closing")
      return;
    auto s = session_of(r);
    if (!s_ || s.started > s_->started)
      s_ = std::move(s);
  });
  if (s_) {
    phase_ = phase::active;
    fx.emit(opened_event(*s_, 0)); // a live node's local proxy forwards through it again
  }
  if (!cfg_.ledger_address.empty())
    fx.learn_address(cfg_.ledger, cfg_.ledger_address);
  loop_token_ = ctx.random.next() | 1;
  fx.after(cfg_.interval, loop_token_);
}

// Where the provider's proxy listens and the bearer token: a live node's
// local proxy forwards there (net/proxy_shell.hpp).
event client::opened_event(const session& s, std::uint64_t cmd) {
  return event{"proxy_opened",
               cmd,
               {{"provider", std::to_string(s.provider)},
                {"client", std::to_string(s.client_id)},
                {"address", s.info.address},
                {"token", to_hex(byte_view{s.token.data(), s.token.size()})}},
               {{"fee_per_kb", static_cast<double>(s.info.fee_per_kb)}}};
}

void client::save(context& ctx) {
  if (!s_)
    return;
  auto& s = *s_;
  ctx.store.put(
    tables::sessions(),
    row{cell_u64(s.key), cell_u64(s.provider), cell_u64(s.client_id),
        bytes(s.token.begin(), s.token.end()), s.info.address, cell_u64(s.info.fee_per_kb),
        cell_u64(s.info.recipient), std::int64_t{s.started}, std::int64_t{s.ended}, cell_u64(s.up),
        cell_u64(s.down), cell_u64(s.unconfirmed), cell_u64(s.confirmed), s.status, s.reason});
}

void client::set_phase(context&, phase p, time_us timeout, effects& fx) {
  phase_ = p;
  phase_token_ = (phase_token_ + 2) | 2; // even and never a loop token (those are odd)
  if (timeout > 0)
    fx.after(timeout, phase_token_);
}

void client::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (ledger::is_reply_frame(data)) {
    auto d = ledger::decode(data);
    if (!d.ok() || from != cfg_.ledger)
      return fx.count("frames_rejected");
    note_settle(fx, data.size());
    return on_ledger(ctx, d.msg, fx);
  }
  auto d = decode(data);
  if (!d.ok())
    return fx.count("frames_rejected");
  std::visit(
    [&](const auto& m) {
      using M = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<M, meta>)
        on_meta(ctx, from, m.req_id, &m.info, fx);
      else if constexpr (std::is_same_v<M, meta_refused>)
        on_meta(ctx, from, m.req_id, nullptr, fx);
      else if constexpr (std::is_same_v<M, connect_ok>)
        on_connect_ok(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, connect_refused>)
        on_connect_refused(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, payment_request>)
        on_request(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, usage_refused>)
        on_refused(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, payment_status>)
        on_status(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, data_down>)
        on_data(ctx, from, m, fx);
      else if constexpr (std::is_same_v<M, session_ended>) {
        if (s_ && from == s_->provider && m.client_id == s_->client_id &&
            (phase_ == phase::active || phase_ == phase::closing)) {
          fx.count("proxy.sessions_ended_by_provider");
          end_session(ctx, m.reason, "the provider ended it: " + m.text, false, fx);
        }
      } else
        fx.count("frames_rejected"); // a provider-side message sent to the client
    },
    d.msg);
}

// Discovery: a DHT lookup, then PROXY_META_REQ to each provider found.
void client::look_up(context& ctx, effects& fx) {
  cands_.clear();
  set_phase(ctx, phase::looking, 4 * cfg_.probe_timeout, fx);
  fx.ask(ports::kad,
         peerlab::command(local_command_id(ports::proxy_client, ask_seq_++),
                          kad::command{kad::find_providers{kad::proxy_providers_key(), 0}}));
}

void client::reply(context& ctx, port_t from, const event& e, effects& fx) {
  if (from != ports::kad || phase_ != phase::looking)
    return;
  if (e.kind != "providers_found" && e.kind != "command_failed")
    return;
  auto found = split_peers(e.field("providers"));
  std::erase(found, ctx.self);
  probe(ctx, found, fx);
}

void client::probe(context& ctx, const std::vector<peer_id>& found, effects& fx) {
  cands_.clear();
  for (auto p : found) {
    if (cands_.size() >= cfg_.probe_max)
      break;
    if (list_cmd_ == 0 && excluded_.count(p))
      continue;
    candidate c;
    c.peer = p;
    c.req_id = ++req_seq_;
    c.sent = ctx.now;
    cands_.push_back(c);
    fx.send(p, encode(meta_req{c.req_id}));
  }
  if (cands_.empty())
    return probes_done(ctx, fx);
  set_phase(ctx, phase::probing, cfg_.probe_timeout, fx);
}

void client::on_meta(context& ctx, peer_id from, std::uint64_t req_id, const metadata* m,
                     effects& fx) {
  if (phase_ != phase::probing)
    return;
  bool pending = false;
  for (auto& c : cands_) {
    if (c.peer == from && c.req_id == req_id && c.rtt < 0 && !c.refused) {
      if (m) {
        c.rtt = ctx.now - c.sent;
        c.fee = m->fee_per_kb;
      } else {
        c.refused = true;
      }
    }
    pending = pending || (c.rtt < 0 && !c.refused);
  }
  if (!pending)
    probes_done(ctx, fx);
}

void client::probes_done(context& ctx, effects& fx) {
  std::vector<candidate> ok;
  for (auto& c : cands_)
    if (c.rtt >= 0)
      ok.push_back(c);
  // Cheapest first, then the fastest to answer, then the lower id (a total order).
  std::sort(ok.begin(), ok.end(), [](const candidate& a, const candidate& b) {
    return std::tie(a.fee, a.rtt, a.peer) < std::tie(b.fee, b.rtt, b.peer);
  });
  if (list_cmd_ != 0) {
    std::string list;
    for (auto& c : ok)
      list += (list.empty() ? "" : ",") + std::to_string(c.peer) + ":" + std::to_string(c.fee) +
              ":" + std::to_string(c.rtt);
    fx.emit(event{"proxy_providers",
                  list_cmd_,
                  {{"providers", list}},
                  {{"count", static_cast<double>(ok.size())}}});
    list_cmd_ = 0;
  }
  if (open_cmd_ == 0 && !auto_pick_) {
    set_phase(ctx, s_ ? phase::active : phase::idle, 0, fx);
    return;
  }
  if (ok.empty())
    return open_failed(ctx, fail_code::unavailable, "no proxy provider answered", fx);
  connect(ctx, ok.front().peer, fx);
}

void client::connect(context& ctx, peer_id p, effects& fx) {
  connecting_ = p;
  connect_req_ = ++req_seq_;
  fx.send(p, encode(connect_req{connect_req_}));
  set_phase(ctx, phase::connecting, cfg_.probe_timeout, fx);
}

void client::on_connect_ok(context& ctx, peer_id from, const connect_ok& m, effects& fx) {
  if (phase_ != phase::connecting || from != connecting_ || m.req_id != connect_req_)
    return;
  session s;
  s.key = ctx.random.next() >> 8;
  s.provider = from;
  s.client_id = m.client_id;
  s.token = m.token;
  s.info = m.info;
  s.started = ctx.now;
  // A provider that never heard our SESSION_END (it was down) gives us the
  // same client id again, with its count of the bytes so far: continue that
  // session from our own row, or the two counts would differ by all of it.
  ctx.store.scan(tables::sessions(), {}, [&](const row& r) {
    if (r.u64(1) != from || r.u64(2) != m.client_id)
      return;
    auto old = session_of(r);
    s.key = old.key;
    s.started = old.started;
    s.up = old.up;
    s.down = old.down;
    s.unconfirmed = old.unconfirmed;
    s.confirmed = old.confirmed;
  });
  if (s.started != ctx.now)
    fx.count("proxy.sessions_continued");
  s_ = s;
  report_open_ = false;
  reported_at_ = 0;
  payments_made_ = 0;
  pay_.reset();
  notified_.clear();
  set_phase(ctx, phase::active, 0, fx);
  save(ctx);
  fx.count("proxy.sessions_opened");
  fx.emit(opened_event(s, open_cmd_));
  open_cmd_ = 0;
}

void client::on_connect_refused(context& ctx, peer_id from, const connect_refused& m, effects& fx) {
  if (phase_ != phase::connecting || from != connecting_ || m.req_id != connect_req_)
    return;
  fx.count("proxy.connects_refused");
  excluded_.insert(from);
  if (auto_pick_)
    return next_provider(ctx, fx);
  open_failed(ctx, fail_code::unavailable,
              std::string("the provider refused: ") + refusal_name(m.why) + ": " + m.text, fx);
}

void client::open_failed(context& ctx, fail_code code, const std::string& reason, effects& fx) {
  set_phase(ctx, phase::idle, 0, fx);
  auto_pick_ = false;
  if (open_cmd_ != 0)
    fx.fail(open_cmd_, open_session::verb, code, reason);
  else
    fx.emit(event{"proxy_open_failed", 0, {{"reason", reason}}, {}});
  open_cmd_ = 0;
}

void client::next_provider(context& ctx, effects& fx) {
  if (++switches_ > cfg_.max_switches)
    return open_failed(
      ctx, fail_code::unavailable,
      "no provider worked after " + std::to_string(cfg_.max_switches) + " attempts", fx);
  fx.count("proxy.provider_switches");
  look_up(ctx, fx);
}

void client::end_session(context& ctx, end_reason why, const std::string& text, bool tell_provider,
                         effects& fx) {
  if (!s_)
    return;
  auto& s = *s_;
  if (tell_provider)
    fx.send(s.provider, encode(session_end{s.client_id, s.token, why, text}));
  s.status = why == end_reason::client_closed ? "closed" : "ended";
  s.reason = std::string(end_reason_name(why)) + ": " + text;
  s.reason.resize(std::min(s.reason.size(), bounds::reason_max));
  s.ended = ctx.now;
  save(ctx);
  fail_fetches("the session ended", fx);
  fx.emit(event{"proxy_session_ended",
                0,
                {{"provider", std::to_string(s.provider)},
                 {"client", std::to_string(s.client_id)},
                 {"reason", end_reason_name(why)},
                 {"text", text}},
                {{"bytes", static_cast<double>(s.used())},
                 {"sent", static_cast<double>(s.sent())},
                 {"owed", static_cast<double>(fee_of(s.used(), s.info.fee_per_kb))}}});
  if (close_cmd_ != 0) {
    fx.emit(event{"proxy_closed", close_cmd_, {}, {{"bytes", static_cast<double>(s.used())}}});
    close_cmd_ = 0;
  }
  report_open_ = false;
  pay_.reset();
  leaving_.reset();
  if (why != end_reason::client_closed)
    excluded_.insert(s.provider);
  set_phase(ctx, phase::idle, 0, fx);
  if (auto_pick_ && why != end_reason::client_closed)
    next_provider(ctx, fx);
}

bool client::meter(context& ctx, std::uint64_t id, std::uint64_t up, std::uint64_t down,
                   effects& fx) {
  if (!s_ || s_->client_id != id || (phase_ != phase::active && phase_ != phase::closing))
    return false;
  s_->up += up;
  s_->down += down;
  fx.count("proxy.client_bytes_metered", static_cast<double>(up + down));
  save(ctx);
  if (phase_ == phase::active && !report_open_ && !pay_ &&
      s_->used() - std::min(s_->used(), reported_at_) >= cfg_.pay_every)
    report(ctx, false, fx);
  return true;
}

void client::do_fetch(context& ctx, const peerlab::command& cmd, const fetch& f, effects& fx) {
  if (!s_ || phase_ != phase::active)
    return fx.fail(cmd, fail_code::conflict, "no open proxy session");
  if (fetches_.size() >= bounds::open_requests_max)
    return fx.fail(cmd, fail_code::unavailable, "too many requests in flight");
  auto id = ++fetch_seq_;
  fetches_[id] = pending_fetch{cmd.id, f.request, f.response, 0, ctx.now, ctx.now};
  fx.send(s_->provider,
          encode(data_up{s_->client_id, s_->token, id, static_cast<std::uint32_t>(f.response),
                         bytes(static_cast<std::size_t>(f.request), 0x47)}));
  meter(ctx, s_->client_id, f.request, 0, fx);
}

void client::on_data(context& ctx, peer_id from, const data_down& m, effects& fx) {
  if (!s_ || from != s_->provider || m.client_id != s_->client_id)
    return fx.count("proxy.stray_data");
  meter(ctx, m.client_id, 0, m.payload.size(), fx);
  auto it = fetches_.find(m.request_id);
  if (it == fetches_.end())
    return;
  auto& f = it->second;
  f.got += m.payload.size();
  f.last_byte = ctx.now;
  if (!m.last)
    return;
  fx.emit(event{"proxy_fetched",
                f.cmd_id,
                {{"provider", std::to_string(from)}},
                {{"request", static_cast<double>(f.request)},
                 {"response", static_cast<double>(f.got)},
                 {"latency_us", static_cast<double>(ctx.now - f.sent)}}});
  fetches_.erase(it);
}

void client::fail_fetches(const std::string& reason, effects& fx) {
  for (auto& [id, f] : fetches_)
    fx.emit(event{
      "proxy_fetch_failed",
      f.cmd_id,
      {{"reason", reason}},
      {{"request", static_cast<double>(f.request)}, {"response", static_cast<double>(f.got)}}});
  fetches_.clear();
}

void client::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<proxy::command>();
  if (!body)
    return fx.fail(cmd, fail_code::bad_request, "the proxy client takes proxy commands");
  const bool busy = phase_ == phase::looking || phase_ == phase::probing ||
                    phase_ == phase::connecting || phase_ == phase::closing;
  if (std::holds_alternative<list_providers>(*body)) {
    if (busy)
      return fx.fail(cmd, fail_code::conflict, "a lookup or connection is under way");
    list_cmd_ = cmd.id;
    return look_up(ctx, fx);
  }
  if (auto* o = std::get_if<open_session>(body)) {
    if (busy || (s_ && phase_ == phase::active))
      return fx.fail(cmd, fail_code::conflict, "a session is open or being opened");
    open_cmd_ = cmd.id;
    switches_ = 0;
    auto_pick_ = o->provider == 0;
    if (auto_pick_) {
      excluded_.clear();
      return look_up(ctx, fx);
    }
    return connect(ctx, o->provider, fx);
  }
  if (std::holds_alternative<close_session>(*body)) {
    if (!s_ || phase_ != phase::active)
      return fx.fail(cmd, fail_code::conflict, "no open proxy session");
    close_cmd_ = cmd.id;
    auto_pick_ = false;
    set_phase(ctx, phase::closing, 4 * cfg_.resend_interval, fx);
    s_->status = "closing";
    save(ctx);
    return report(ctx, false, fx);
  }
  if (auto* m = std::get_if<metered>(body)) {
    if (!meter(ctx, m->client_id, m->up, m->down, fx))
      return fx.fail(cmd, fail_code::not_found,
                     "no open session with client id " + std::to_string(m->client_id));
    return;
  }
  if (auto* f = std::get_if<fetch>(body))
    return do_fetch(ctx, cmd, *f, fx);
  if (auto* pf = std::get_if<provider_failed>(body)) {
    if (!s_ || s_->client_id != pf->client_id || phase_ != phase::active)
      return fx.fail(cmd, fail_code::not_found,
                     "no open session with client id " + std::to_string(pf->client_id));
    fx.count("proxy.data_plane_failures");
    return leave(ctx, end_reason::service_failed,
                 "the data plane failed" + (pf->why.empty() ? "" : ": " + pf->why), fx);
  }
  if (std::holds_alternative<usage>(*body)) {
    event e{"proxy_usage", cmd.id, {}, {}};
    e.rows_schema = &tables::sessions();
    ctx.store.scan(tables::sessions(), {}, [&](const row& r) { e.rows.push_back(r); });
    if (s_)
      e.values = {{"bytes", static_cast<double>(s_->used())},
                  {"sent", static_cast<double>(s_->sent())}};
    return fx.emit(std::move(e));
  }
  fx.fail(cmd, fail_code::bad_request, "the proxy client does not take " + std::string(cmd.verb()));
}

void client::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token == loop_token_) {
    loop(ctx, fx);
    return fx.after(cfg_.interval, loop_token_);
  }
  if (token != phase_token_)
    return;
  switch (phase_) {
  case phase::looking: // kad did not answer in time: this lookup ends here
    fx.count("proxy.lookups_timed_out");
    return probe(ctx, {}, fx);
  case phase::probing:
    return probes_done(ctx, fx);
  case phase::connecting:
    fx.count("proxy.connects_timed_out");
    excluded_.insert(connecting_);
    if (auto_pick_)
      return next_provider(ctx, fx);
    return open_failed(ctx, fail_code::timeout, "the provider did not answer", fx);
  case phase::closing: // settlement did not finish: close anyway
    return finish_close(ctx, fx);
  default:
    return;
  }
}

std::shared_ptr<role> make_client(const client_config& c) { return std::make_shared<client>(c); }

} // namespace peerlab::proxy
