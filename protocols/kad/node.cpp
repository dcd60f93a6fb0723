// Lifecycle, frame dispatch, the server side of every request, and request
// bookkeeping (ids, timeouts, routing-table liveness).
#include "protocols/kad/node.hpp"

#include "protocols/kad/tables.hpp"
#include "protocols/kad/timers.hpp"

#include <algorithm>
#include <stdexcept>

namespace peerlab::kad {

std::vector<const table_schema*> node::tables() const { return {&provided_keys_table()}; }

node::node(const config& c)
    : cfg_(c), records_({c.max_providers_per_key, c.max_records_per_peer, c.max_records_total}),
      rtt_(c.rtt_peers) {
  if (auto e = validate(c))
    throw std::invalid_argument("kad config: " + *e);
}

void node::start(context& ctx, effects& fx) {
  // A (re)start loses everything in memory; provided keys survive in the store.
  ++epoch_;
  if (next_request_ == 0)
    next_request_ = (ctx.random.next() >> 16) | 1;
  table_ = std::make_unique<routing_table>(id_of(ctx.self), cfg_.k, cfg_.replacement_cache);
  records_.clear();
  rtt_.clear();
  queries_.clear();
  pending_.clear();
  provided_.clear();
  republish_serials_.clear();
  unpublished_.clear();
  bootstrap_seeds_.clear();
  ctx.store.scan(provided_keys_table(), {}, [&](const row& r) {
    if (provided_.size() < limits::provided_keys_max) {
      auto key = r.hash(0);
      provided_[key] = 0;
      unpublished_.insert(key);
    }
  });
  fx.after(cfg_.refresh_interval, timers::token(timers::refresh, epoch_));
}

message node::header(context& ctx, msg_type t, std::uint64_t request_id) const {
  message m;
  m.type = t;
  m.request_id = request_id;
  m.sender_id = table_->self();
  m.sender_address = std::string(ctx.address.substr(0, limits::address_bytes_max));
  return m;
}

void node::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (!table_ || from == ctx.self)
    return;
  decoded d = decode(data);
  if (!d.ok) {
    fx.count("frames_rejected");
    fx.count("kad.malformed");
    return;
  }
  const message& m = d.msg;
  if (auto e = check_ids(m, from, [](peer_id p, const kad_id& id) { return id_of(p) == id; });
      !e.empty()) {
    fx.count("frames_rejected");
    fx.count("kad.bad_ids");
    return;
  }
  // Any valid message proves the sender is alive: update its bucket.
  contact sender{from, m.sender_id, m.sender_address};
  if (!sender.address.empty())
    fx.learn_address(from, sender.address);
  auto seen = table_->observe(sender, ctx.now, cfg_.request_timeout);
  if (seen.ping) {
    fx.count("kad.liveness_pings");
    send_request(ctx, *seen.ping, header(ctx, msg_type::ping, 0), 0, fx);
  }
  if (is_request(m.type))
    handle_request(ctx, from, m, fx);
  else
    handle_response(ctx, from, m, fx);
}

void node::handle_request(context& ctx, peer_id from, const message& m, effects& fx) {
  switch (m.type) {
  case msg_type::ping:
    fx.send(from, encode(header(ctx, msg_type::pong, m.request_id)));
    return;
  case msg_type::find_node: {
    message r = header(ctx, msg_type::nodes, m.request_id);
    r.closer = table_->closest(m.key, cfg_.k, from);
    fx.send(from, encode(r));
    return;
  }
  case msg_type::get_providers: {
    message r = header(ctx, msg_type::providers, m.request_id);
    r.providers = records_.get(m.key, ctx.now, limits::providers_per_message_max);
    r.closer = table_->closest(m.key, cfg_.k, from);
    fx.send(from, encode(r));
    return;
  }
  case msg_type::add_provider: {
    auto refuse = [&](err_code code, const char* text) {
      message r = header(ctx, msg_type::err, m.request_id);
      r.code = static_cast<std::uint8_t>(code);
      r.text = text;
      fx.send(from, encode(r));
      fx.count("kad.records_refused");
    };
    if (m.provider.peer != from)
      return refuse(err_code::provider_not_sender, "provider must be the sender");
    auto res = records_.add(m.key, m.provider, ctx.now + cfg_.provider_ttl, ctx.now);
    switch (res) {
    case provider_store::add_result::added:
    case provider_store::add_result::refreshed:
      fx.count(res == provider_store::add_result::added ? "kad.records_stored"
                                                        : "kad.records_refreshed");
      fx.send(from, encode(header(ctx, msg_type::ack, m.request_id)));
      return;
    case provider_store::add_result::key_full:
      return refuse(err_code::key_full, "too many providers for this key");
    case provider_store::add_result::peer_full:
      return refuse(err_code::peer_full, "too many records from this provider");
    case provider_store::add_result::store_full:
      return refuse(err_code::store_full, "record store full");
    }
    return;
  }
  default:
    return;
  }
}

void node::handle_response(context& ctx, peer_id from, const message& m, effects& fx) {
  auto it = pending_.find(m.request_id);
  bool expected = false;
  if (it != pending_.end() && it->second.to.peer == from) {
    switch (it->second.type) {
    case msg_type::ping:
      expected = m.type == msg_type::pong;
      break;
    case msg_type::find_node:
      expected = m.type == msg_type::nodes;
      break;
    case msg_type::get_providers:
      expected = m.type == msg_type::providers;
      break;
    case msg_type::add_provider:
      expected = m.type == msg_type::ack || m.type == msg_type::err;
      break;
    default:
      break;
    }
  }
  if (!expected) {
    // Late (after its timeout), duplicated, or never asked for.
    fx.count("kad.unexpected_responses");
    return;
  }
  std::uint64_t qid = it->second.query;
  rtt_.sample(from, ctx.now - it->second.sent);
  pending_.erase(it);
  if (qid == 0)
    return; // a liveness ping: observe() above already refreshed the entry
  auto q = queries_.find(qid);
  if (q != queries_.end())
    answered(ctx, q->second, from, m, fx);
}

time_us node::request_timeout_for(peer_id p) const {
  // Without any sample yet (a node's first requests) wait the full timeout.
  auto rto = rtt_.rto(p);
  if (!rto)
    return cfg_.request_timeout;
  return std::clamp(*rto, std::min(cfg_.min_request_timeout, cfg_.request_timeout),
                    cfg_.request_timeout);
}

time_us node::stall_time_for(peer_id p) const {
  time_us timeout = request_timeout_for(p);
  time_us rto = rtt_.rto(p).value_or(cfg_.min_request_timeout);
  return std::clamp(rto, std::min(cfg_.min_stall_time, timeout), timeout);
}

bool node::send_request(context& ctx, const contact& to, message m, std::uint64_t query_id,
                        effects& fx) {
  if (pending_.size() >= limits::pending_requests_max) {
    fx.count("kad.requests_refused_local");
    return false;
  }
  std::uint64_t rid = next_request_++ & timers::id_mask;
  m.request_id = rid;
  pending_.emplace(rid, pending{to, m.type, query_id, ctx.now});
  if (!to.address.empty())
    fx.learn_address(to.peer, to.address);
  fx.send(to.peer, encode(m));
  time_us timeout = request_timeout_for(to.peer);
  fx.after(timeout, timers::token(timers::request, rid));
  // Only lookup requests stall: a put's store phase and pings wait for the answer.
  time_us stall = stall_time_for(to.peer);
  if (query_id != 0 && m.type != msg_type::add_provider && stall < timeout)
    fx.after(stall, timers::token(timers::stall, rid));
  fx.count("kad.requests_sent");
  if (query_id != 0)
    if (auto q = queries_.find(query_id); q != queries_.end())
      ++q->second.messages;
  return true;
}

void node::request_failed(context& ctx, std::uint64_t request_id, effects& fx) {
  auto it = pending_.find(request_id);
  if (it == pending_.end())
    return; // answered in time
  pending p = std::move(it->second);
  pending_.erase(it);
  fx.count("kad.requests_timed_out");
  // An unanswered request evicts the peer (promoting a replacement): this is
  // also how a failed liveness ping of a full bucket's LRS entry ends.
  if (table_->failed(p.to.peer, p.to.id))
    fx.count("kad.evictions");
  if (p.query != 0)
    if (auto q = queries_.find(p.query); q != queries_.end())
      unanswered(ctx, q->second, p.to.peer, p.type, fx);
}

void node::request_stalled(context& ctx, std::uint64_t request_id, effects& fx) {
  auto it = pending_.find(request_id);
  if (it == pending_.end() || it->second.query == 0)
    return; // answered or timed out already
  auto q = queries_.find(it->second.query);
  if (q == queries_.end() || q->second.storing || !q->second.walk.stalled(it->second.to.peer))
    return;
  fx.count("kad.requests_stalled");
  drive(ctx, q->second, fx);
}

void node::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (!table_)
    return;
  std::uint64_t id = timers::id_of(token);
  switch (timers::kind_of(token)) {
  case timers::request:
    request_failed(ctx, id, fx);
    return;
  case timers::stall:
    request_stalled(ctx, id, fx);
    return;
  case timers::query:
    if (auto q = queries_.find(id); q != queries_.end() && !q->second.storing) {
      q->second.timed_out = true;
      fx.count("kad.query_timeouts");
      lookup_finished(ctx, q->second, fx);
    }
    return;
  case timers::republish: {
    auto s = republish_serials_.find(id);
    if (s == republish_serials_.end())
      return;
    kad_id key = s->second;
    republish_serials_.erase(s);
    auto p = provided_.find(key);
    if (p != provided_.end() && p->second == id) {
      // No free query slot: try again soon rather than a whole interval later.
      bool started = provide_key(ctx, key, 0, true, fx);
      schedule_republish(key, started ? cfg_.republish_interval : cfg_.request_timeout, fx);
    }
    return;
  }
  case timers::refresh:
    if (id != (epoch_ & timers::id_mask))
      return;
    records_.expire(ctx.now);
    if (table_->size() == 0 && !bootstrap_seeds_.empty()) {
      // Isolated (the bootstrap failed, or every contact left): try again.
      fx.count("kad.rebootstraps");
      query* q = start_query(ctx, query_kind::bootstrap, table_->self(), bootstrap_seeds_, fx);
      if (q)
        drive(ctx, *q, fx);
    }
    refresh_buckets(ctx, fx);
    publish_after_restart(fx);
    fx.after(cfg_.refresh_interval, timers::token(timers::refresh, epoch_));
    return;
  default:
    return;
  }
}

} // namespace peerlab::kad
