#include "net/metadata_lookup.hpp"

#include "protocols/common/limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace peerlab::net {

namespace {

using nlohmann::json;

} // namespace

metadata_lookup::metadata_lookup(metadata_lookup_config cfg, std::shared_ptr<role> inner)
    : cfg_(cfg), inner_(std::move(inner)) {}

void metadata_lookup::start(context& ctx, effects& fx) {
  lookups_.clear();
  pending_.clear();
  // Request ids and tokens far from those of a previous run of this node.
  next_id_ = (ctx.random.next() >> 2) | 1;
  if (inner_)
    inner_->start(ctx, fx);
}

void metadata_lookup::stop(context& ctx, effects& fx) {
  if (inner_)
    inner_->stop(ctx, fx);
}

std::optional<peerlab::command> metadata_lookup::parse_command(std::uint64_t id,
                                                               std::string_view verb,
                                                               const std::vector<std::string>& args,
                                                               command_error& err) const {
  auto c = filexfer::parse_command(verb, args, err);
  if (!c)
    return std::nullopt;
  return peerlab::command(id, std::move(*c));
}

void metadata_lookup::command(context& ctx, const peerlab::command& c, effects& fx) {
  auto* body = c.as<filexfer::command>();
  auto* q = body ? std::get_if<filexfer::lookup_metadata>(body) : nullptr;
  if (!q) {
    if (inner_)
      return inner_->command(ctx, c, fx);
    return fx.fail(c, fail_code::unavailable, "this node runs no downloader");
  }
  if (lookups_.size() >= cfg_.max_lookups)
    return fx.fail(c, fail_code::unavailable, "too many lookups running");
  lookup l;
  l.command_id = c.id;
  l.hash = q->hash;
  for (auto p : q->peers)
    if (p != ctx.self && std::find(l.asked.begin(), l.asked.end(), p) == l.asked.end() &&
        l.asked.size() < cfg_.max_peers)
      l.asked.push_back(p);
  l.token = next_id_++;
  for (auto p : l.asked) {
    auto req = next_id_++;
    pending_[{p, req}] = l.token;
    fx.send(p, filexfer::encode(filexfer::meta_req{req, q->hash}));
  }
  auto token = l.token;
  lookups_.emplace(token, std::move(l));
  if (lookups_.at(token).asked.empty())
    return finish(token, fx);
  fx.after(cfg_.timeout, token);
}

bool metadata_lookup::take_reply(peer_id from, byte_view data, effects& fx) {
  auto type = static_cast<filexfer::msg_type>(data[1]);
  if (type != filexfer::msg_type::meta_ok && type != filexfer::msg_type::meta_err)
    return false;
  auto d = filexfer::decode(data);
  if (!d.ok())
    return false; // the downloader counts it
  std::uint64_t req = 0;
  if (auto* ok = std::get_if<filexfer::meta_ok>(&d.msg))
    req = ok->req_id;
  else if (auto* err = std::get_if<filexfer::meta_err>(&d.msg))
    req = err->req_id;
  auto it = pending_.find({from, req});
  if (it == pending_.end())
    return false;
  auto token = it->second;
  pending_.erase(it);
  auto& l = lookups_.at(token);
  answer a;
  a.peer = from;
  if (auto* ok = std::get_if<filexfer::meta_ok>(&d.msg)) {
    a.ok = true;
    a.meta = *ok;
  } else {
    a.error = std::get<filexfer::meta_err>(d.msg).text;
  }
  l.answers[from] = std::move(a);
  if (l.answers.size() == l.asked.size())
    finish(token, fx);
  return true;
}

void metadata_lookup::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (data.size() >= 2 && !pending_.empty() && take_reply(from, data, fx))
    return;
  if (inner_)
    inner_->frame(ctx, from, data, fx);
}

void metadata_lookup::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (lookups_.count(token))
    return finish(token, fx);
  if (inner_)
    inner_->timer(ctx, token, fx);
}

void metadata_lookup::finish(std::uint64_t token, effects& fx) {
  auto it = lookups_.find(token);
  if (it == lookups_.end())
    return;
  auto& l = it->second;
  json found = json::array(), failed = json::array();
  for (auto p : l.asked) {
    auto a = l.answers.find(p);
    if (a == l.answers.end()) {
      failed.push_back({{"peer_id", std::to_string(p)}, {"error", "no answer"}});
    } else if (a->second.ok) {
      found.push_back({{"peer_id", std::to_string(p)},
                       {"name", a->second.meta.name},
                       {"size", a->second.meta.size},
                       {"price", a->second.meta.price}});
    } else {
      failed.push_back({{"peer_id", std::to_string(p)}, {"error", a->second.error}});
    }
  }
  fx.emit(event{"lookup_done",
                l.command_id,
                {{"hash", to_hex(l.hash)},
                 {"found", found.dump(-1, ' ', false, json::error_handler_t::replace)},
                 {"failed", failed.dump(-1, ' ', false, json::error_handler_t::replace)}},
                {{"asked", static_cast<double>(l.asked.size())},
                 {"answered", static_cast<double>(l.answers.size())},
                 {"found", static_cast<double>(found.size())}}});
  std::erase_if(pending_, [&](auto& e) { return e.second == token; }); // unanswered requests
  lookups_.erase(it);
}

void install_metadata_lookup(std::vector<std::shared_ptr<role>>& roles,
                             metadata_lookup_config cfg) {
  for (auto& r : roles)
    if (r->port() == ports::file_downloader) {
      r = std::make_shared<metadata_lookup>(cfg, r);
      return;
    }
  roles.push_back(std::make_shared<metadata_lookup>(cfg, nullptr));
}

} // namespace peerlab::net
