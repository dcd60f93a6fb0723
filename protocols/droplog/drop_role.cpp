#include "protocols/droplog/drop_role.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/droplog.hpp"

#include <algorithm>

namespace peerlab::droplog {

namespace {

constexpr std::uint64_t forge_token = 1ull << 63; // wake-up tokens are times (< 2^63)
constexpr std::size_t max_armed_timers = 64;
constexpr std::size_t max_rejected_files = 4096; // named per pump at most

byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hex_digest(byte_view b) { return to_hex(sha256::of(b)); }

bytes with_port(const bytes& file) {
  bytes f;
  f.reserve(file.size() + 1);
  f.push_back(ports::droplog);
  f.insert(f.end(), file.begin(), file.end());
  return f;
}

const char* metric_of(event_kind k) {
  switch (k) {
  case event_kind::packet_rejected:
    return "droplog_packets_rejected";
  case event_kind::packet_duplicate:
    return "droplog_packets_duplicate";
  case event_kind::packet_truncated:
    return "droplog_packets_truncated";
  case event_kind::packet_damaged:
    return "droplog_packets_damaged";
  case event_kind::nack_received:
    return "droplog_nacks_received";
  case event_kind::packets_lost:
    return "droplog_loss_events";
  case event_kind::timeout:
    return "droplog_timeouts";
  case event_kind::window_overflow:
    return "droplog_window_overflows";
  case event_kind::protocol_error:
    return "droplog_protocol_errors";
  }
  return "droplog_other_events";
}

// A local peer of the node (net/local_peers.hpp: ids with the top 32 bits
// set, which the transport refuses from the network) that opened as the
// upstream: only it may answer requests.
bool is_local_upstream(peer_id peer, std::string_view address) {
  return (peer >> 32) == 0xFFFF'FFFFull && address.starts_with(upstream_peer_address);
}

http::response gateway_error(std::uint64_t id, std::uint16_t status, const std::string& text) {
  http::response p;
  p.id = id;
  p.status = status;
  p.reason = http::reason_phrase(status);
  p.headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"X-Droplog-Gateway", "b"}};
  p.body.assign(text.begin(), text.end());
  p.body.push_back('\n');
  return p;
}

std::string file_token(char side, peer_id peer, std::uint64_t packet_id) {
  return std::string(1, side) + ":" + std::to_string(peer) + ":" + std::to_string(packet_id);
}

} // namespace

std::string validate(const role_config& c) {
  if (c.peers.empty())
    return "needs at least one peer";
  if (c.max_http_body > http::limits::body_bytes_max)
    return "max_http_body above " + std::to_string(http::limits::body_bytes_max);
  if (c.http_timeout <= 0 || c.forge_interval <= 0)
    return "http_timeout and forge_interval must be positive";
  if (c.max_pending_http == 0)
    return "max_pending_http must be positive";
  if (c.external_upstream && !c.serve_http)
    return "an external upstream needs serve_http";
  auto s = c.session;
  s.local = 1;
  s.remote = 2;
  return validate(s);
}

drop_role::drop_role(role_config c) : cfg_(std::move(c)), pending_(cfg_.max_pending_http) {}

void drop_role::start(context& ctx, effects& fx) {
  timers_.clear();
  upstream_ = 0;
  relayed_.clear();
  held_.clear();
  if (cfg_.forge) {
    fx.after(cfg_.forge_interval, forge_token);
    return;
  }
  host_ = std::make_unique<host>(ctx.self, cfg_.peers, cfg_.session, &ctx.store);
  pump(ctx, fx);
}

void drop_role::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (data.empty() || data[0] != ports::droplog) {
    fx.count("frames_rejected");
    return;
  }
  if (!host_) // the forger ignores what it gets
    return;
  if (upstream_ != 0 && from == upstream_) {
    on_upstream_answer(ctx, data.subspan(1), fx);
    return pump(ctx, fx);
  }
  auto in = host_->on_file(ctx.now, data.subspan(1));
  fx.count("droplog_files_received");
  fx.count("droplog_bytes_received", static_cast<double>(data.size() - 1));
  bool useless = in.unrouted;
  for (auto& e : in.result.events)
    useless = useless || e.kind == event_kind::packet_rejected;
  if (useless) // forged, another pair's, or unreadable: nobody will ever need it
    reject_file(data.subspan(1));
  if (in.unrouted) {
    fx.count("droplog_packets_unrouted");
    fx.emit({"droplog_rejected", 0, {{"detail", in.unrouted_reason}}, {}});
  } else {
    report(in.from, in.result.events, fx);
    for (auto& m : in.result.delivered)
      deliver(ctx, in.from, m, fx);
  }
  pump(ctx, fx);
}

void drop_role::report(peer_id from, const std::vector<session_event>& events, effects& fx) {
  for (auto& e : events) {
    fx.count(metric_of(e.kind));
    if (e.kind == event_kind::packet_rejected)
      fx.emit({"droplog_rejected", 0, {{"from", std::to_string(from)}, {"detail", e.detail}}, {}});
  }
}

void drop_role::deliver(context& ctx, peer_id from, delivered_message& m, effects& fx) {
  byte_view msg{m.data.data(), m.data.size()};
  auto k = http::peek_kind(msg);
  if (!k) {
    ++metrics_.bad_messages;
    fx.count("droplog_bad_messages");
    fx.emit({"droplog_bad_message",
             0,
             {{"from", std::to_string(from)}, {"detail", "unknown envelope kind"}},
             {}});
    return;
  }
  if (*k == http::kind::request)
    return on_request(ctx, from, msg, fx);
  if (*k == http::kind::response)
    return on_response(ctx, msg, fx);
  auto payload = msg.subspan(1);
  fx.count("droplog_delivered");
  fx.count("droplog_delivered_bytes", static_cast<double>(payload.size()));
  fx.emit({"droplog_delivered",
           0,
           {{"from", std::to_string(from)},
            {"msg_id", std::to_string(m.id)},
            {"sha256", hex_digest(payload)},
            {"head", to_hex(payload.first(std::min<std::size_t>(16, payload.size())))}},
           {{"size", static_cast<double>(payload.size())}}});
}

void drop_role::on_request(context& ctx, peer_id from, byte_view msg, effects& fx) {
  http::decode_error err;
  auto q = http::decode_request(msg, cfg_.max_http_body, err);
  if (!q) {
    ++metrics_.bad_messages;
    fx.count("droplog_bad_messages");
    fx.emit({"droplog_bad_message", 0, {{"from", std::to_string(from)}, {"detail", err.what}}, {}});
    return;
  }
  ++metrics_.requests;
  metrics_.request_body_bytes += q->body.size();
  if (cfg_.serve_http && cfg_.external_upstream)
    return relay(ctx, from, *q, msg, fx);
  http::response p;
  if (cfg_.serve_http) {
    p = http::simulated_upstream(*q, cfg_.max_http_body);
  } else {
    p.id = q->id;
    p.status = 502;
    p.reason = http::reason_phrase(502);
    ++metrics_.upstream_errors;
  }
  metrics_.count_status(p.status);
  metrics_.response_body_bytes += p.body.size();
  auto bytes_out = http::encode(p);
  std::string why;
  auto* s = host_->find(from);
  if (!s->submit({bytes_out.data(), bytes_out.size()}, &why)) {
    fx.count("http_responses_dropped");
    fx.emit({"droplog_refused", 0, {{"to", std::to_string(from)}, {"reason", why}}, {}});
    return;
  }
  fx.count("http_served");
  (void)ctx;
  fx.emit(
    {"http_served",
     0,
     {{"from", std::to_string(from)}, {"target", q->target}},
     {{"status", static_cast<double>(p.status)}, {"size", static_cast<double>(p.body.size())}}});
}

void drop_role::on_response(context& ctx, byte_view msg, effects& fx) {
  http::decode_error err;
  auto p = http::decode_response(msg, cfg_.max_http_body, err);
  if (!p) {
    ++metrics_.bad_messages;
    fx.count("droplog_bad_messages");
    fx.emit({"droplog_bad_message", 0, {{"detail", err.what}}, {}});
    return;
  }
  auto e = pending_.complete(p->id);
  const bool with_message = want_message_.erase(p->id) > 0;
  if (!e) {
    ++metrics_.late_responses;
    fx.count("http_late_responses");
    return;
  }
  metrics_.count_status(p->status);
  metrics_.response_body_bytes += p->body.size();
  metrics_.add_latency(ctx.now - e->started);
  fx.count("http_responses");
  fx.observe("http_latency_s", static_cast<double>(ctx.now - e->started) / us_per_s);
  event ev{"http_response",
           e->tag,
           {{"sha256", hex_digest({p->body.data(), p->body.size()})}},
           {{"status", static_cast<double>(p->status)},
            {"size", static_cast<double>(p->body.size())},
            {"latency_us", static_cast<double>(ctx.now - e->started)}}};
  if (with_message) // the live listener answers its client from these bytes
    ev.fields.emplace_back("message",
                           std::string(reinterpret_cast<const char*>(msg.data()), msg.size()));
  fx.emit(std::move(ev));
}

void drop_role::refuse(const peerlab::command& c, peerlab::fail_code code, std::string why,
                       effects& fx) {
  fx.fail(c, code, std::move(why));
}

void drop_role::command(context& ctx, const peerlab::command& c, effects& fx) {
  using peerlab::fail_code;
  auto* body = c.as<droplog::command>();
  if (!body)
    return refuse(c, fail_code::bad_request, "droplog knows the commands send and http", fx);
  if (!host_)
    return refuse(c, fail_code::conflict, "this node forges packets and has no sessions", fx);
  const peer_id peer = std::visit([](const auto& b) { return b.peer; }, *body);
  session* s = host_->find(peer);
  if (!s)
    return refuse(c, fail_code::not_found, "no session with peer " + std::to_string(peer), fx);
  std::string why;
  if (auto* m = std::get_if<send_message>(body)) {
    auto msg = http::encode_app_message({m->payload.data(), m->payload.size()});
    auto id = s->submit({msg.data(), msg.size()}, &why);
    if (!id)
      return refuse(c, fail_code::unavailable, why, fx);
    fx.emit({"droplog_submitted",
             c.id,
             {{"to", std::to_string(peer)}, {"msg_id", std::to_string(*id)}},
             {}});
  } else {
    auto& r = std::get<http_request>(*body);
    http::request q;
    q.method = r.method;
    q.target = r.target;
    q.headers = r.headers;
    q.body = r.body;
    time_us timeout = cfg_.http_timeout;
    if (r.timeout_ms != 0) {
      if (r.timeout_ms > http::limits::timeout_ms_max)
        return refuse(c, fail_code::bad_request,
                      "timeout must be 1.." + std::to_string(http::limits::timeout_ms_max) + " ms",
                      fx);
      timeout = static_cast<time_us>(r.timeout_ms) * us_per_ms;
    }
    q.timeout_ms = static_cast<std::uint32_t>(
      std::min<time_us>(timeout / us_per_ms, http::limits::timeout_ms_max));
    if (auto e = http::check(q); !e.empty())
      return refuse(c, fail_code::bad_request, e, fx);
    if (q.body.size() > cfg_.max_http_body)
      return refuse(c, fail_code::too_large, "body above max_http_body", fx);
    auto id = pending_.begin(ctx.random, ctx.now, timeout, c.id, q.body.size());
    if (!id) {
      ++metrics_.rejected;
      return refuse(c, fail_code::unavailable, "too many requests waiting for a response", fx);
    }
    q.id = *id;
    if (r.want_message)
      want_message_.insert(*id);
    auto msg = http::encode(q);
    if (!s->submit({msg.data(), msg.size()}, &why)) {
      pending_.complete(*id);
      want_message_.erase(*id);
      ++metrics_.rejected;
      return refuse(c, fail_code::unavailable, why, fx);
    }
    ++metrics_.requests;
    metrics_.request_body_bytes += q.body.size();
    fx.count("http_requests");
  }
  pump(ctx, fx);
}

void drop_role::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token & forge_token) {
    send_forgery(ctx, fx);
    fx.after(cfg_.forge_interval, forge_token);
    return;
  }
  timers_.erase(static_cast<time_us>(token));
  if (host_)
    pump(ctx, fx);
}

void drop_role::pump(context& ctx, effects& fx) {
  for (auto& [id, e] : pending_.expire(ctx.now)) {
    want_message_.erase(id);
    ++metrics_.gateway_timeouts;
    metrics_.count_status(504);
    metrics_.add_latency(ctx.now - e.started);
    fx.count("http_gateway_timeouts");
    fx.emit({"http_response",
             e.tag,
             {{"sha256", ""}},
             {{"status", 504.0},
              {"size", 0.0},
              {"latency_us", static_cast<double>(ctx.now - e.started)}}});
  }
  auto r = host_->poll(ctx.now);
  std::uint64_t bytes_out = 0, data_files = 0;
  for (auto& f : r.files) {
    bytes_out += f.packet.data.size();
    data_files += f.packet.carries_messages;
    fx.send(f.to, with_port(f.packet.data));
  }
  for (auto& [peer, e] : r.events)
    fx.count(metric_of(e.kind));
  if (!r.files.empty()) {
    fx.count("droplog_files_sent", static_cast<double>(r.files.size()));
    fx.count("droplog_bytes_sent", static_cast<double>(bytes_out));
    fx.emit({"droplog_written",
             0,
             {},
             {{"files", static_cast<double>(r.files.size())},
              {"bytes", static_cast<double>(bytes_out)},
              {"data_files", static_cast<double>(data_files)}}});
  }
  // No folders in the simulator: what could be deleted is only counted. Live,
  // the folder transport deletes what the event names.
  auto gone = host_->take_deletable();
  if (!gone.empty())
    fx.count("droplog_files_deletable", static_cast<double>(gone.size()));
  if (cfg_.delete_files && (!gone.empty() || !rejected_files_.empty())) {
    std::string files;
    for (auto& [peer, d] : gone) {
      files += files.empty() ? "" : " ";
      files += file_token(d.side == folder_side::outgoing ? 'o' : 'i', peer, d.packet_id);
    }
    for (auto& t : rejected_files_) {
      files += files.empty() ? "" : " ";
      files += t;
    }
    rejected_files_.clear();
    fx.emit({"droplog_deletable", 0, {{"files", std::move(files)}}, {}});
  }
  arm(ctx, std::min(r.next_wake, pending_.next_deadline()), fx);
}

void drop_role::arm(context& ctx, time_us at, effects& fx) {
  if (at == never)
    return;
  if (!timers_.empty() && *timers_.begin() <= at)
    return; // an earlier wake-up is already set; it will re-arm
  timers_.insert(at);
  if (timers_.size() > max_armed_timers)
    timers_.erase(std::prev(timers_.end()));
  fx.after(std::max<time_us>(0, at - ctx.now), static_cast<std::uint64_t>(at));
}

void drop_role::send_forgery(context& ctx, effects& fx) {
  // The forger does not know the shared key: it guesses one.
  static const std::string wrong_key = "forged key, not the shared one!!";
  for (auto victim : cfg_.peers) {
    direction_keys keys(wrong_key, cfg_.impersonate, victim);
    message_frame m;
    m.seq = forged_ % 8; // inside the receive window
    auto payload = http::encode_app_message(as_bytes("FORGED " + std::to_string(forged_)));
    m.payload = payload;
    control_block c;
    c.cumulative_ack = 1u << 20; // would acknowledge everything, if it were believed
    const int variant = static_cast<int>(forged_ % 3);
    std::uint64_t id = variant == 1 ? 1 : 1 + ctx.random.below(1u << 16);
    auto file = encode_packet(variant == 2 && cfg_.session.encrypt ? packet_flags::encrypted : 0,
                              cfg_.impersonate, victim, id, c, {&m}, keys);
    if (variant == 2) // routable header, random tag and body
      for (std::size_t i = header_field_bytes; i < file.size(); ++i)
        file[i] = static_cast<std::uint8_t>(ctx.random.next());
    fx.send(victim, with_port(file));
    fx.count("droplog_forged_sent");
    fx.emit({"droplog_forged_sent",
             0,
             {{"to", std::to_string(victim)}},
             {{"variant", static_cast<double>(variant)}}});
    ++forged_;
  }
}

void drop_role::reject_file(byte_view file) {
  if (!cfg_.delete_files || rejected_files_.size() >= max_rejected_files)
    return;
  if (auto r = peek_route(file)) // the transport checked it matches the file's name
    rejected_files_.push_back(file_token('i', r->sender, r->packet_id));
}

void drop_role::peer_up(context& ctx, peer_id peer, std::string_view address, effects& fx) {
  if (!cfg_.external_upstream || !host_ || !is_local_upstream(peer, address))
    return;
  upstream_ = peer;
  fx.count("http_upstream_attached");
  // Requests taken while no upstream was up go now; those of an earlier
  // incarnation (a kill before their response was in the log) go again if
  // repeating them is harmless, else they are answered 502.
  for (auto& u : unanswered_requests(ctx.store)) {
    if (relayed_.count(u.request_id))
      continue;
    if (held_.erase(u.request_id)) {
      to_upstream({u.message.data(), u.message.size()}, fx);
      relayed_.insert(u.request_id);
      continue;
    }
    http::decode_error err;
    auto q = http::decode_request({u.message.data(), u.message.size()}, cfg_.max_http_body, err);
    fx.count("http_resumed_after_restart");
    if (q && idempotent(q->method)) {
      to_upstream({u.message.data(), u.message.size()}, fx);
      relayed_.insert(u.request_id);
      continue;
    }
    auto p = gateway_error(u.request_id, 502,
                           q ? "side b restarted while performing this " + q->method +
                                 " request; it is not repeated (the method is not idempotent), "
                                 "so it may or may not have taken effect"
                             : "side b restarted and its stored copy of this request is "
                               "unreadable: " +
                                 err.what);
    take_request(ctx.store, u.request_id);
    auto bytes_out = http::encode(p);
    answer(u.from, p, {bytes_out.data(), bytes_out.size()}, fx);
  }
  pump(ctx, fx);
}

void drop_role::relay(context& ctx, peer_id from, const http::request& q, byte_view msg,
                      effects& fx) {
  // Stored in this handler, with the log's acknowledgement of the request.
  if (!remember_request(ctx.store, {q.id, from, bytes(msg.begin(), msg.end())})) {
    auto p = gateway_error(q.id, 503, "too many requests waiting for the upstream server");
    auto bytes_out = http::encode(p);
    return answer(from, p, {bytes_out.data(), bytes_out.size()}, fx);
  }
  fx.count("http_relayed");
  if (upstream_ == 0) { // sent when the upstream peer comes up
    held_.insert(q.id);
    return;
  }
  to_upstream(msg, fx);
  relayed_.insert(q.id);
}

void drop_role::to_upstream(byte_view msg, effects& fx) {
  bytes f;
  f.reserve(msg.size() + 1);
  f.push_back(ports::droplog);
  f.insert(f.end(), msg.begin(), msg.end());
  fx.send(upstream_, std::move(f));
}

void drop_role::on_upstream_answer(context& ctx, byte_view msg, effects& fx) {
  http::decode_error err;
  auto p = http::decode_response(msg, cfg_.max_http_body, err);
  if (!p) { // made by this node's own upstream client: a bug, not an attack
    fx.count("droplog_bad_messages");
    fx.emit({"droplog_bad_message", 0, {{"detail", "from the upstream: " + err.what}}, {}});
    return;
  }
  relayed_.erase(p->id);
  // Erased in the handler that puts the response into the log.
  auto u = take_request(ctx.store, p->id);
  if (!u) {
    fx.count("http_upstream_late");
    return;
  }
  for (auto& h : p->headers)
    if (h.name == "X-Droplog-Gateway") {
      if (p->status == 502)
        ++metrics_.upstream_errors;
      if (p->status == 504)
        ++metrics_.gateway_timeouts;
    }
  answer(u->from, *p, msg, fx);
}

void drop_role::answer(peer_id to, const http::response& p, byte_view msg, effects& fx) {
  metrics_.count_status(p.status);
  metrics_.response_body_bytes += p.body.size();
  std::string why;
  auto* s = host_->find(to);
  if (!s || !s->submit(msg, &why)) {
    fx.count("http_responses_dropped");
    fx.emit({"droplog_refused",
             0,
             {{"to", std::to_string(to)}, {"reason", s ? why : "no session with that peer"}},
             {}});
    return;
  }
  fx.count("http_served");
  fx.emit(
    {"http_served",
     0,
     {{"from", std::to_string(to)}},
     {{"status", static_cast<double>(p.status)}, {"size", static_cast<double>(p.body.size())}}});
}

std::shared_ptr<role> make_drop_role(role_config c) {
  if (auto e = validate(c); !e.empty())
    throw std::invalid_argument("droplog role: " + e);
  return std::make_shared<drop_role>(std::move(c));
}

} // namespace peerlab::droplog
