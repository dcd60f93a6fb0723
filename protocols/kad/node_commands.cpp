// Local commands (protocols/kad/commands.hpp). Commands that cannot run get
// the one failure reply, command_failed.
#include "protocols/kad/commands.hpp"
#include "protocols/kad/node.hpp"
#include "protocols/kad/tables.hpp"

namespace peerlab::kad {

void node::reject(const peerlab::command& c, fail_code code, const std::string& error,
                  effects& fx) {
  fx.fail(c, code, error);
  fx.count("kad.commands_rejected");
}

void node::command(context& ctx, const peerlab::command& c, effects& fx) {
  auto* body = c.as<kad::command>();
  if (!body)
    return reject(c, fail_code::bad_request,
                  "kad does not know the command \"" + std::string(c.verb()) + "\"", fx);
  if (!table_)
    return reject(c, fail_code::conflict, "the node has not started", fx);
  std::visit([&](const auto& cmd) { run(ctx, c, cmd, fx); }, *body);
}

void node::run(context& ctx, const peerlab::command& c, const bootstrap& b, effects& fx) {
  std::vector<contact> seeds;
  for (auto& s : b.seeds) {
    if (s.address.size() > limits::address_bytes_max)
      return reject(c, fail_code::bad_request, "seed address longer than 255 bytes", fx);
    if (s.peer != ctx.self)
      seeds.push_back(contact{s.peer, id_of(s.peer), s.address});
  }
  if (!seeds.empty())
    bootstrap_seeds_ = seeds;
  query* q = start_query(ctx, query_kind::bootstrap, table_->self(), seeds, fx);
  if (!q)
    return reject(c, fail_code::unavailable, "too many queries running", fx);
  q->command_id = c.id;
  drive(ctx, *q, fx);
}

void node::run(context& ctx, const peerlab::command& c, const find_node& f, effects& fx) {
  query* q = start_query(ctx, query_kind::find_node, f.target, {}, fx);
  if (!q)
    return reject(c, fail_code::unavailable, "too many queries running", fx);
  q->command_id = c.id;
  drive(ctx, *q, fx);
}

void node::run(context& ctx, const peerlab::command& c, const find_providers& f, effects& fx) {
  if (f.want > limits::wanted_providers_max)
    return reject(c, fail_code::bad_request,
                  "count must be 0 (all) to " + std::to_string(limits::wanted_providers_max), fx);
  query* q = start_query(ctx, query_kind::get_providers, f.key, {}, fx);
  if (!q)
    return reject(c, fail_code::unavailable, "too many queries running", fx);
  q->command_id = c.id;
  q->want = f.want;
  // Providers this node stores itself come first (as in libp2p).
  for (auto& p : records_.get(f.key, ctx.now, limits::providers_per_message_max))
    if (q->found_set.insert(p.peer).second)
      q->found.push_back(p);
  drive(ctx, *q, fx);
}

void node::run(context& ctx, const peerlab::command& c, const provide& p, effects& fx) {
  if (!provided_.count(p.key) && provided_.size() >= limits::provided_keys_max)
    return reject(
      c, fail_code::unavailable,
      "this node already provides " + std::to_string(limits::provided_keys_max) + " keys", fx);
  ctx.store.put(provided_keys_table(), {cell_digest(p.key)});
  unpublished_.erase(p.key);
  schedule_republish(p.key, cfg_.republish_interval, fx);
  provide_key(ctx, p.key, c.id, false, fx);
}

void node::run(context& ctx, const peerlab::command& c, const stop_providing& s, effects& fx) {
  bool was = false;
  if (auto it = provided_.find(s.key); it != provided_.end()) {
    republish_serials_.erase(it->second);
    provided_.erase(it);
    was = true;
  }
  unpublished_.erase(s.key);
  ctx.store.erase(provided_keys_table(), {cell_digest(s.key)});
  records_.remove(s.key, ctx.self);
  // Records held by other peers stay until they expire (as in libp2p).
  event e;
  e.kind = "provide_stopped";
  e.command_id = c.id;
  e.fields = {{"key", to_hex(s.key)}};
  e.values = {{"was_providing", was ? 1.0 : 0.0}};
  fx.emit(std::move(e));
}

} // namespace peerlab::kad
