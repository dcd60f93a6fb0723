// Metadata lookups of the downloader: "lookup HASH PEER..." sends META_REQ to
// each peer and reports what each answered, without downloading. It lives in
// the downloader because providers answer metadata on the downloader's port.
//
// Replies (command id of the lookup):
//   lookup_answer {hash, peer, name | error; size, price}  one per peer asked,
//                 as it answers, or with error "no answer" at the deadline
//   lookup_done   {hash; asked, answered, found}           last
#include "protocols/filexfer/downloader.hpp"

#include <algorithm>

namespace peerlab::filexfer {

namespace {
constexpr std::uint64_t lookup_id_limit = 1ull << 24; // below every download's timer token
} // namespace

void downloader::set_lookup_limits(time_us timeout, std::size_t max_peers) {
  cfg_.lookup_timeout = std::max<time_us>(timeout, 1);
  cfg_.max_lookup_peers = std::max<std::size_t>(max_peers, 1);
}

void downloader::start_lookup(context& ctx, const peerlab::command& cmd, const lookup_metadata& q,
                              effects& fx) {
  if (lookups_.size() >= std::min<std::size_t>(cfg_.max_lookups, lookup_id_limit - 1))
    return fx.fail(cmd, peerlab::fail_code::unavailable, "too many lookups running");
  lookup l;
  l.command_id = cmd.id;
  l.hash = q.hash;
  for (auto p : q.peers)
    if (p != ctx.self && std::find(l.asked.begin(), l.asked.end(), p) == l.asked.end() &&
        l.asked.size() < cfg_.max_lookup_peers)
      l.asked.push_back(p);
  std::uint64_t id = next_lookup_;
  while (lookups_.count(id)) // ids wrap below lookup_id_limit; skip those still running
    id = id + 1 < lookup_id_limit ? id + 1 : 1;
  next_lookup_ = id + 1 < lookup_id_limit ? id + 1 : 1;
  for (auto p : l.asked) {
    std::uint64_t req = next_req_id_++;
    if (req == 0)
      req = next_req_id_++;
    asks_[{p, req}] = id;
    fx.send(p, encode(meta_req{req, q.hash}));
  }
  bool nobody = l.asked.empty();
  lookups_.emplace(id, std::move(l));
  if (nobody)
    return finish_lookup(id, fx);
  fx.after(cfg_.lookup_timeout, id);
}

bool downloader::lookup_reply(peer_id from, const message& msg, effects& fx) {
  auto* ok = std::get_if<meta_ok>(&msg);
  auto* err = std::get_if<meta_err>(&msg);
  if (!ok && !err)
    return false;
  auto it = asks_.find({from, ok ? ok->req_id : err->req_id});
  if (it == asks_.end())
    return false; // a download's, or stale
  auto id = it->second;
  asks_.erase(it);
  auto& l = lookups_.at(id);
  l.answered[from] = ok != nullptr;
  event e{
    "lookup_answer", l.command_id, {{"hash", to_hex(l.hash)}, {"peer", std::to_string(from)}}, {}};
  if (ok) {
    e.fields.emplace_back("name", ok->name);
    e.values = {{"size", static_cast<double>(ok->size)}, {"price", static_cast<double>(ok->price)}};
  } else {
    e.fields.emplace_back("error", err->text);
  }
  fx.emit(std::move(e));
  if (l.answered.size() == l.asked.size())
    finish_lookup(id, fx);
  return true;
}

void downloader::lookup_timer(std::uint64_t token, effects& fx) {
  if (lookups_.count(token))
    finish_lookup(token, fx);
}

void downloader::finish_lookup(std::uint64_t id, effects& fx) {
  auto it = lookups_.find(id);
  if (it == lookups_.end())
    return;
  auto& l = it->second;
  double found = 0;
  for (auto p : l.asked) {
    auto a = l.answered.find(p);
    if (a == l.answered.end())
      fx.emit(event{"lookup_answer",
                    l.command_id,
                    {{"hash", to_hex(l.hash)}, {"peer", std::to_string(p)}, {"error", "no answer"}},
                    {}});
    else
      found += a->second ? 1 : 0;
  }
  fx.emit(event{"lookup_done",
                l.command_id,
                {{"hash", to_hex(l.hash)}},
                {{"asked", static_cast<double>(l.asked.size())},
                 {"answered", static_cast<double>(l.answered.size())},
                 {"found", found}}});
  std::erase_if(asks_, [&](auto& e) { return e.second == id; }); // unanswered requests
  lookups_.erase(it);
}

} // namespace peerlab::filexfer
