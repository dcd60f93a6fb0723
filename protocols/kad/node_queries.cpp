// The client side: lookups (find_node, get_providers, refresh, bootstrap),
// puts (lookup, then ADD_PROVIDER to the k closest), republish, and the
// events and metrics that report each of them.
#include "protocols/kad/node.hpp"

#include "protocols/kad/timers.hpp"

#include <algorithm>

namespace peerlab::kad {

namespace {

struct metric_names {
  const char* hops;
  const char* messages;
  const char* latency;
  const char* success;
};
constexpr metric_names lookup_metrics{"kad.lookup.hops", "kad.lookup.messages",
                                      "kad.lookup.latency_us", "kad.lookup.success"};
constexpr metric_names providers_metrics{"kad.get_providers.hops", "kad.get_providers.messages",
                                         "kad.get_providers.latency_us",
                                         "kad.get_providers.success"};
constexpr metric_names put_metrics{"kad.put.hops", "kad.put.messages", "kad.put.latency_us",
                                   "kad.put.success"};
constexpr metric_names maintenance_metrics{"kad.maintenance.hops", "kad.maintenance.messages",
                                           "kad.maintenance.latency_us", "kad.maintenance.success"};

void observe(effects& fx, const metric_names& n, double hops, double messages, double latency,
             bool success) {
  fx.observe(n.hops, hops);
  fx.observe(n.messages, messages);
  fx.observe(n.latency, latency);
  fx.observe(n.success, success ? 1 : 0);
}

std::string join_peers(const std::vector<peer_id>& ps) {
  std::string s;
  for (auto p : ps) {
    if (!s.empty())
      s += ',';
    s += std::to_string(p);
  }
  return s;
}

} // namespace

node::query* node::start_query(context& ctx, query_kind kind, const kad_id& target,
                               const std::vector<contact>& extra_seeds, effects& fx) {
  if (queries_.size() >= limits::active_queries_max) {
    fx.count("kad.queries_refused");
    return nullptr;
  }
  std::uint64_t id = next_query_++ & timers::id_mask;
  lookup walk(target, ctx.self, cfg_.k, cfg_.alpha, cfg_.k * limits::lookup_candidates_per_k);
  for (auto& c : table_->closest(target, cfg_.k))
    walk.add(c, 1);
  for (auto& c : extra_seeds)
    walk.add(c, 1);
  table_->touch(target, ctx.now);
  auto it = queries_.try_emplace(id, id, kind, target, std::move(walk)).first;
  it->second.started = ctx.now;
  fx.after(cfg_.query_timeout, timers::token(timers::query, id));
  return &it->second;
}

void node::drive(context& ctx, query& q, effects& fx) {
  if (q.storing)
    return;
  if (q.kind == query_kind::get_providers && q.want > 0 && q.found.size() >= q.want)
    return finish(ctx, q, "count_reached", fx);
  msg_type type =
    q.kind == query_kind::get_providers ? msg_type::get_providers : msg_type::find_node;
  for (auto next = q.walk.next(); !next.empty(); next = q.walk.next())
    for (auto& c : next) {
      message m = header(ctx, type, 0);
      m.key = q.target;
      if (!send_request(ctx, c, std::move(m), q.id, fx))
        q.walk.failed(c.peer);
    }
  if (q.walk.done())
    lookup_finished(ctx, q, fx);
}

void node::answered(context& ctx, query& q, peer_id from, const message& m, effects& fx) {
  if (q.storing) {
    if (m.type != msg_type::ack && m.type != msg_type::err)
      return; // a phase-1 answer arriving after the lookup ended
    ++(m.type == msg_type::ack ? q.acks : q.refusals);
    if (--q.store_pending == 0)
      finish(ctx, q, "stored", fx);
    return;
  }
  if (!q.walk.succeeded(from, m.closer))
    return;
  if (q.kind == query_kind::get_providers) {
    bool fresh = false;
    for (auto& p : m.providers)
      if (q.found.size() < limits::wanted_providers_max && q.found_set.insert(p.peer).second) {
        q.found.push_back(p);
        fresh = true;
      }
    if (fresh)
      q.found_hops = std::max(q.found_hops, q.walk.hop_of(from));
  }
  drive(ctx, q, fx);
}

void node::unanswered(context& ctx, query& q, peer_id to, msg_type request, effects& fx) {
  if (q.storing) {
    if (request == msg_type::add_provider && --q.store_pending == 0)
      finish(ctx, q, "stored", fx);
    return;
  }
  q.walk.failed(to);
  drive(ctx, q, fx);
}

void node::lookup_finished(context& ctx, query& q, effects& fx) {
  if (q.kind == query_kind::put)
    return store_phase(ctx, q, fx);
  finish(ctx, q, q.timed_out ? "timeout" : "lookup_finished", fx);
}

void node::store_phase(context& ctx, query& q, effects& fx) {
  q.storing = true;
  q.lookup_hops = q.walk.hops();
  contact self{ctx.self, table_->self(),
               std::string(ctx.address.substr(0, limits::address_bytes_max))};
  for (auto* c : q.walk.closest_succeeded(cfg_.k)) {
    message m = header(ctx, msg_type::add_provider, 0);
    m.key = q.target;
    m.provider = self;
    if (send_request(ctx, c->c, std::move(m), q.id, fx))
      ++q.store_pending;
  }
  if (q.store_pending == 0)
    finish(ctx, q, "no_peers", fx);
}

void node::finish(context& ctx, query& q, const char* end, effects& fx) {
  event e;
  e.command_id = q.command_id;
  double duration = static_cast<double>(ctx.now - q.started);
  double messages = static_cast<double>(q.messages);
  bool run_bootstrap_followups = false;
  switch (q.kind) {
  case query_kind::find_node:
  case query_kind::refresh:
  case query_kind::bootstrap: {
    std::vector<peer_id> closest;
    for (auto* c : q.walk.closest_succeeded(cfg_.k))
      closest.push_back(c->c.peer);
    bool success = !q.timed_out && !closest.empty();
    double hops = q.walk.hops();
    if (q.kind == query_kind::find_node) {
      observe(fx, lookup_metrics, hops, messages, duration, success);
      e.kind = "lookup_done";
      e.fields = {{"target", to_hex(q.target)}, {"closest", join_peers(closest)}, {"end", end}};
      e.values = {{"hops", hops},
                  {"messages", messages},
                  {"duration_us", duration},
                  {"count", double(closest.size())},
                  {"success", success ? 1.0 : 0.0}};
      fx.emit(std::move(e));
    } else {
      observe(fx, maintenance_metrics, hops, messages, duration, success);
      if (q.kind == query_kind::bootstrap) {
        e.kind = "bootstrap_done";
        bool ok = table_->size() > 0;
        e.fields = {{"end", end}};
        e.values = {{"count", double(table_->size())},
                    {"hops", hops},
                    {"messages", messages},
                    {"duration_us", duration},
                    {"success", ok ? 1.0 : 0.0}};
        fx.emit(std::move(e));
        run_bootstrap_followups = true;
      }
    }
    break;
  }
  case query_kind::get_providers: {
    std::vector<peer_id> ps;
    for (auto& p : q.found)
      ps.push_back(p.peer);
    for (auto& p : q.found)
      if (!p.address.empty())
        fx.learn_address(p.peer, p.address);
    bool success = !ps.empty();
    double hops = ps.empty() ? q.walk.hops() : q.found_hops;
    observe(fx, providers_metrics, hops, messages, duration, success);
    e.kind = "providers_found";
    e.fields = {{"key", to_hex(q.target)}, {"providers", join_peers(ps)}, {"end", end}};
    e.values = {{"hops", hops},
                {"messages", messages},
                {"duration_us", duration},
                {"count", double(ps.size())},
                {"success", success ? 1.0 : 0.0}};
    fx.emit(std::move(e));
    break;
  }
  case query_kind::put: {
    bool success = q.acks > 0;
    observe(fx, put_metrics, q.lookup_hops, messages, duration, success);
    fx.observe("kad.put.acks", double(q.acks));
    e.kind = success ? "put_done" : "put_failed";
    e.fields = {{"key", to_hex(q.target)}, {"republish", q.republish ? "1" : "0"}};
    if (!success)
      e.fields.push_back({"reason", std::string(end) == "no_peers" ? "no peer answered the lookup"
                                    : q.refusals > 0               ? "every peer refused the record"
                                                     : "no peer acknowledged the record"});
    e.values = {{"acks", double(q.acks)},        {"refusals", double(q.refusals)},
                {"hops", double(q.lookup_hops)}, {"messages", messages},
                {"duration_us", duration},       {"success", success ? 1.0 : 0.0}};
    fx.emit(std::move(e));
    break;
  }
  }
  queries_.erase(q.id); // q is gone from here on
  if (run_bootstrap_followups) {
    refresh_buckets(ctx, fx);
    publish_after_restart(fx);
  }
}

void node::publish_after_restart(effects& fx) {
  // Keys provided before a restart are announced again once we know peers,
  // spread out so they do not all compete for query slots at once.
  if (table_->size() == 0)
    return;
  time_us delay = 0;
  for (auto& key : unpublished_) {
    delay += 100 * us_per_ms;
    schedule_republish(key, delay, fx);
  }
  unpublished_.clear();
}

void node::refresh_buckets(context& ctx, effects& fx) {
  int top = std::min(table_->max_cpl(), cfg_.max_refresh_cpl);
  for (int cpl = 0; cpl <= top; ++cpl) {
    if (ctx.now - table_->at(cpl).last_refreshed < cfg_.refresh_interval)
      continue;
    kad_id target = random_id_with_cpl(table_->self(), cpl, ctx.random);
    fx.count("kad.refresh_lookups");
    if (query* q = start_query(ctx, query_kind::refresh, target, {}, fx))
      drive(ctx, *q, fx);
  }
  // A self lookup keeps the nearest neighbours (who hold our records) fresh.
  if (table_->size() > 0)
    if (query* q = start_query(ctx, query_kind::refresh, table_->self(), {}, fx))
      drive(ctx, *q, fx);
}

bool node::provide_key(context& ctx, const kad_id& key, std::uint64_t command_id, bool republish,
                       effects& fx) {
  contact self{ctx.self, table_->self(),
               std::string(ctx.address.substr(0, limits::address_bytes_max))};
  records_.add(key, self, ctx.now + cfg_.provider_ttl, ctx.now);
  query* q = start_query(ctx, query_kind::put, key, {}, fx);
  if (!q) {
    event e;
    e.kind = "put_failed";
    e.command_id = command_id;
    e.fields = {{"key", to_hex(key)},
                {"republish", republish ? "1" : "0"},
                {"reason", "too many queries running"}};
    e.values = {{"acks", 0.0}, {"success", 0.0}};
    fx.emit(std::move(e));
    return false;
  }
  q->command_id = command_id;
  q->republish = republish;
  drive(ctx, *q, fx);
  return true;
}

void node::schedule_republish(const kad_id& key, time_us delay, effects& fx) {
  std::uint64_t serial = next_serial_++ & timers::id_mask;
  auto& current = provided_[key];
  republish_serials_.erase(current);
  current = serial;
  republish_serials_[serial] = key;
  fx.after(delay, timers::token(timers::republish, serial));
}

} // namespace peerlab::kad
