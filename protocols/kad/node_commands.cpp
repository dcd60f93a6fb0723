// Local commands: bootstrap, provide, stop_providing, find_providers,
// find_node. Bad arguments get a "command_rejected" event naming the problem.
#include "protocols/kad/node.hpp"
#include "protocols/kad/tables.hpp"

#include "protocols/common/limits.hpp"

#include <charconv>

namespace peerlab::kad {

namespace {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    return std::nullopt;
  return v;
}

} // namespace

void node::reject(const peerlab::command& c, const std::string& error, effects& fx) {
  event e;
  e.kind = "command_rejected";
  e.command_id = c.id;
  e.fields = {{"verb", c.verb}, {"error", error}};
  fx.emit(std::move(e));
  fx.count("kad.commands_rejected");
}

void node::command(context& ctx, const peerlab::command& c, effects& fx) {
  if (!table_)
    return reject(c, "the node has not started", fx);
  if (c.args.size() > peerlab::limits::max_command_args)
    return reject(
      c, "too many arguments (at most " + std::to_string(peerlab::limits::max_command_args) + ")",
      fx);
  auto key_arg = [&](std::size_t min_args, std::size_t max_args) -> std::optional<kad_id> {
    if (c.args.size() < min_args || c.args.size() > max_args) {
      reject(c,
             c.verb + " takes " + std::to_string(min_args) +
               (max_args > min_args ? " or " + std::to_string(max_args) : "") +
               " argument(s), got " + std::to_string(c.args.size()),
             fx);
      return std::nullopt;
    }
    auto key = parse_key(c.args[0]);
    if (!key)
      reject(c, "expected 64 hex digits or http_proxy_providers, got \"" + c.args[0] + "\"", fx);
    return key;
  };

  if (c.verb == "bootstrap") {
    std::vector<contact> seeds;
    for (auto& a : c.args) {
      auto at = a.find('@');
      auto peer = parse_u64(std::string_view(a).substr(0, at));
      if (!peer)
        return reject(c, "expected a decimal peer id[@address], got \"" + a + "\"", fx);
      std::string address = at == std::string::npos ? std::string() : a.substr(at + 1);
      if (address.size() > limits::max_address_bytes)
        return reject(c, "address longer than 255 bytes in \"" + a.substr(0, 40) + "...\"", fx);
      if (*peer == ctx.self)
        continue;
      seeds.push_back(contact{*peer, id_of(*peer), address});
    }
    if (!seeds.empty())
      bootstrap_seeds_ = seeds;
    query* q = start_query(ctx, query_kind::bootstrap, table_->self(), seeds, fx);
    if (!q)
      return reject(c, "too many queries running", fx);
    q->command_id = c.id;
    return drive(ctx, *q, fx);
  }
  if (c.verb == "find_node") {
    auto target = key_arg(1, 1);
    if (!target)
      return;
    query* q = start_query(ctx, query_kind::find_node, *target, {}, fx);
    if (!q)
      return reject(c, "too many queries running", fx);
    q->command_id = c.id;
    return drive(ctx, *q, fx);
  }
  if (c.verb == "find_providers") {
    auto key = key_arg(1, 2);
    if (!key)
      return;
    std::size_t want = 0;
    if (c.args.size() == 2) {
      auto n = parse_u64(c.args[1]);
      if (!n || *n > limits::max_wanted_providers)
        return reject(c,
                      "count must be 0 (all) to " + std::to_string(limits::max_wanted_providers) +
                        ", got \"" + c.args[1] + "\"",
                      fx);
      want = static_cast<std::size_t>(*n);
    }
    query* q = start_query(ctx, query_kind::get_providers, *key, {}, fx);
    if (!q)
      return reject(c, "too many queries running", fx);
    q->command_id = c.id;
    q->want = want;
    // Providers this node stores itself come first (as in libp2p).
    for (auto& p : records_.get(*key, ctx.now, limits::max_providers_per_message))
      if (q->found_set.insert(p.peer).second)
        q->found.push_back(p);
    return drive(ctx, *q, fx);
  }
  if (c.verb == "provide") {
    auto key = key_arg(1, 1);
    if (!key)
      return;
    if (!provided_.count(*key) && provided_.size() >= limits::max_provided_keys)
      return reject(
        c, "this node already provides " + std::to_string(limits::max_provided_keys) + " keys", fx);
    ctx.store.put(provided_keys_table(), {cell_digest(*key)});
    unpublished_.erase(*key);
    schedule_republish(*key, cfg_.republish_interval, fx);
    provide_key(ctx, *key, c.id, false, fx);
    return;
  }
  if (c.verb == "stop_providing") {
    auto key = key_arg(1, 1);
    if (!key)
      return;
    bool was = false;
    if (auto it = provided_.find(*key); it != provided_.end()) {
      republish_serials_.erase(it->second);
      provided_.erase(it);
      was = true;
    }
    unpublished_.erase(*key);
    ctx.store.erase(provided_keys_table(), {cell_digest(*key)});
    records_.remove(*key, ctx.self);
    // Records held by other peers stay until they expire (as in libp2p).
    event e;
    e.kind = "provide_stopped";
    e.command_id = c.id;
    e.fields = {{"key", to_hex(*key)}};
    e.values = {{"was_providing", was ? 1.0 : 0.0}};
    fx.emit(std::move(e));
    return;
  }
  reject(c,
         "unknown command \"" + c.verb +
           "\" (known: bootstrap, provide, stop_providing, find_providers, find_node)",
         fx);
}

} // namespace peerlab::kad
