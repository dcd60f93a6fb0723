#include "protocols/droplog/host.hpp"

#include <algorithm>
#include <stdexcept>

namespace peerlab::droplog {

host::host(peer_id self, const std::vector<peer_id>& peers, session_config base, table_store* store)
    : self_(self) {
  if (peers.empty())
    throw std::invalid_argument("droplog host: no peers");
  for (auto p : peers) {
    if (p == self)
      throw std::invalid_argument("droplog host: a node cannot be its own peer");
    auto c = base;
    c.local = self;
    c.remote = p;
    if (!sessions_.emplace(p, std::make_unique<session>(std::move(c), store)).second)
      throw std::invalid_argument("droplog host: peer " + std::to_string(p) + " listed twice");
  }
}

session* host::find(peer_id peer) {
  auto it = sessions_.find(peer);
  return it == sessions_.end() ? nullptr : it->second.get();
}

host::incoming host::on_file(time_us now, byte_view data) {
  incoming in;
  auto fail = [&](std::string why) {
    ++unrouted_;
    in.unrouted = true;
    in.unrouted_reason = std::move(why);
    return std::move(in);
  };
  auto r = peek_route(data);
  if (!r)
    return fail("not a droplog packet header");
  if (r->recipient != self_)
    return fail("addressed to " + std::to_string(r->recipient));
  auto* s = find(r->sender);
  if (!s)
    return fail("from unknown sender " + std::to_string(r->sender));
  in.from = r->sender;
  in.result = s->on_packet(now, data);
  return in;
}

host::poll_result host::poll(time_us now) {
  poll_result out;
  for (auto& [peer, s] : sessions_) { // map order: deterministic
    auto r = s->poll(now);
    for (auto& p : r.packets)
      out.files.push_back({peer, std::move(p)});
    for (auto& e : r.events)
      out.events.emplace_back(peer, std::move(e));
    out.next_wake = std::min(out.next_wake, r.next_wake);
  }
  return out;
}

std::vector<std::pair<peer_id, deletable_packet>> host::take_deletable() {
  std::vector<std::pair<peer_id, deletable_packet>> out;
  for (auto& [peer, s] : sessions_)
    for (auto& d : s->take_deletable())
      out.emplace_back(peer, d);
  return out;
}

} // namespace peerlab::droplog
