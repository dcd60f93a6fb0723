#include "protocols/cdn/signal_server.hpp"

#include "protocols/cdn/geo.hpp"

#include <algorithm>
#include <vector>

namespace peerlab::cdn {

namespace {
constexpr std::uint64_t tick_token = 1;
constexpr time_us tick_every = 1'000'000;
constexpr std::size_t needy_per_tick = 64;
constexpr std::size_t addresses_max = 1'000'000;
} // namespace

void signal_server::start(context&, effects& fx) { fx.after(tick_every, tick_token); }

void signal_server::stop(context&, effects& fx) {
  // A graceful restart closes every client's socket: they all hear it at once.
  signal_msg bye{msg::bye};
  bye.reason = "server restarting";
  for (auto& [id, c] : clients_)
    send(id, bye, fx);
}

void signal_server::peer_up(context&, peer_id peer, std::string_view address, effects&) {
  if (addresses_.size() < addresses_max || addresses_.contains(peer))
    addresses_[peer] = std::string(address.substr(0, 64));
}

void signal_server::send(peer_id to, const signal_msg& m, effects& fx) {
  fx.send(to, encode_signal(ports::cdn_client, m));
}

void signal_server::error(peer_id to, std::string reason, effects& fx) {
  signal_msg e{msg::error};
  e.reason = std::move(reason);
  send(to, e, fx);
  fx.count("cdn_signal_errors");
}

void signal_server::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  ++msgs_this_second_;
  fx.count("cdn_signal_msgs");
  auto it = clients_.find(from);
  if (it != clients_.end()) {
    // Token bucket: a client may send `rate` messages a second, `burst` at once.
    auto& c = it->second;
    c.tokens = std::min<double>(cfg_.burst, c.tokens + static_cast<double>(ctx.now - c.refill_at) *
                                                         cfg_.rate / 1e6);
    c.refill_at = ctx.now;
    if (c.tokens < 1) {
      fx.count("cdn_signal_rate_limited");
      return; // dropped silently: an answer would be more traffic
    }
    c.tokens -= 1;
    c.last_heard = ctx.now;
  }
  std::string err;
  std::string_view text(reinterpret_cast<const char*>(data.data()) + 1,
                        data.empty() ? 0 : data.size() - 1);
  auto m = parse_signal(text, err);
  if (!m) {
    fx.count("frames_rejected");
    if (it != clients_.end())
      error(from, "bad message: " + err, fx);
    return;
  }
  handle(ctx, from, *m, fx);
}

void signal_server::handle(context& ctx, peer_id from, const signal_msg& m, effects& fx) {
  if (m.type == msg::join) {
    join(ctx, from, m, fx);
    return;
  }
  if (m.type == msg::leave) // a closed WebSocket says leave even if it never joined
    addresses_.erase(from);
  auto it = clients_.find(from);
  if (it == clients_.end()) {
    if (m.type != msg::leave)
      error(from, "join first", fx); // e.g. a client that missed the server's restart
    return;
  }
  auto& c = it->second;
  switch (m.type) {
  case msg::want:
    c.want =
      static_cast<std::uint32_t>(std::min<std::size_t>(bounds::want_max, c.pairs.size() + m.count));
    try_pair(ctx, from, fx);
    break;
  case msg::signal: {
    if (!pairs_.contains(key(from, m.peer))) {
      error(from, "not paired with " + std::to_string(m.peer), fx);
      break;
    }
    signal_msg relay{msg::signal};
    relay.peer = from;
    relay.data = m.data;
    send(m.peer, relay, fx);
    fx.count("cdn_signal_relayed");
    break;
  }
  case msg::linked: {
    auto p = pairs_.find(key(from, m.peer));
    if (p == pairs_.end())
      break;
    (from < m.peer ? p->second.a_linked : p->second.b_linked) = true;
    p->second.linked = p->second.a_linked && p->second.b_linked;
    break;
  }
  case msg::unpair: {
    // Every unpair blocks the two for this server's lifetime, so a refused
    // pairing is never offered again (an evicted peer, a link that failed).
    if (c.blocked.size() < bounds::blocked_max) {
      c.blocked.insert(m.peer);
      if (auto o = clients_.find(m.peer);
          o != clients_.end() && o->second.blocked.size() < bounds::blocked_max)
        o->second.blocked.insert(from);
    }
    if (pairs_.contains(key(from, m.peer))) {
      drop_pair(from, m.peer, false, true, fx);
      try_pair(ctx, m.peer, fx);
    }
    try_pair(ctx, from, fx);
    break;
  }
  case msg::ping:
    send(from, signal_msg{msg::pong}, fx);
    break;
  case msg::leave:
    remove_client(ctx, from, fx);
    break;
  default:
    error(from, std::string("a client does not send ") + msg_name(m.type), fx);
  }
}

void signal_server::join(context& ctx, peer_id from, const signal_msg& m, effects& fx) {
  ++joins_this_second_;
  fx.count("cdn_signal_joins");
  auto it = clients_.find(from);
  if (it == clients_.end()) {
    if (clients_.size() >= std::min<std::size_t>(cfg_.max_clients, bounds::clients_max)) {
      error(from, "full", fx);
      return;
    }
    it = clients_.emplace(from, client{}).first;
    it->second.seq = next_seq_++;
    it->second.tokens = cfg_.burst - 1.0;
    it->second.refill_at = ctx.now;
  }
  auto& c = it->second;
  c.last_heard = ctx.now;
  c.want = static_cast<std::uint32_t>(std::min<std::size_t>(m.count, bounds::want_max));
  c.lat = m.lat;
  c.lon = m.lon;
  c.asn = m.asn;
  c.peerlab_links = m.link == "peerlab";
  if (!c.lat) {
    // No coordinates from the client: the configured IP table, if it knows the address.
    auto a = addresses_.find(from);
    if (a != addresses_.end())
      if (auto ip = ipv4_of(a->second))
        if (auto* l = lookup_ip(cfg_.locations, *ip)) {
          c.lat = l->lat;
          c.lon = l->lon;
          if (!c.asn)
            c.asn = l->asn;
        }
  }
  // Links both sides still have survive a server restart: rebuild them.
  c.claims.clear();
  for (auto q : m.peers) {
    if (c.claims.size() >= bounds::want_max * 4 || q == from)
      continue;
    c.claims.insert(q);
    auto o = clients_.find(q);
    if (o != clients_.end() && o->second.claims.contains(from) && !pairs_.contains(key(from, q)) &&
        c.pairs.size() < cfg_.max_peers && o->second.pairs.size() < cfg_.max_peers)
      add_pair(ctx, from, q, true);
  }
  signal_msg w{msg::welcome};
  w.peer = from;
  send(from, w, fx);
  update_open(from);
  try_pair(ctx, from, fx);
}

double signal_server::score(const client& a, const client& b) const {
  if (cfg_.pairing == pairing::first_come)
    return 0; // join order alone decides
  double d = (a.lat && b.lat) ? distance_km(*a.lat, *a.lon, *b.lat, *b.lon) : cfg_.unknown_km;
  if (!(a.asn && a.asn == b.asn))
    d += cfg_.asn_penalty_km;
  return d;
}

void signal_server::try_pair(context& ctx, peer_id id, effects& fx) {
  auto it = clients_.find(id);
  if (it == clients_.end())
    return;
  auto& c = it->second;
  std::size_t room = std::min<std::size_t>(cfg_.max_peers, c.want);
  if (c.pairs.size() >= room) {
    needy_.erase(id);
    return;
  }
  std::size_t need = room - c.pairs.size();
  // Candidates: open clients in join order, at most scan_max of them.
  std::vector<std::pair<double, std::uint64_t>> ranked; // (score, seq)
  std::size_t scanned = 0;
  for (auto& [seq, other] : open_) {
    if (scanned++ >= cfg_.scan_max)
      break;
    if (other == id || c.pairs.contains(other) || c.blocked.contains(other))
      continue;
    auto& o = clients_.at(other);
    if (o.blocked.contains(id) || o.peerlab_links != c.peerlab_links)
      continue; // a browser cannot link to a native node, nor the reverse
    ranked.push_back({score(c, o), seq});
    if (cfg_.pairing == pairing::first_come && ranked.size() == need)
      break;
  }
  std::sort(ranked.begin(), ranked.end());
  for (std::size_t i = 0; i < ranked.size() && i < need; ++i) {
    peer_id other = open_.at(ranked[i].second);
    add_pair(ctx, id, other, false);
    signal_msg p{msg::paired};
    p.peer = other;
    p.initiator = true; // the asking client creates the offer (the original's alice)
    p.address = address_for(other);
    send(id, p, fx);
    p.peer = id;
    p.initiator = false;
    p.address = address_for(id);
    send(other, p, fx);
    fx.count("cdn_signal_pairs");
  }
  for (auto p : std::vector<peer_id>(c.pairs.begin(), c.pairs.end()))
    update_open(p);
  update_open(id);
  if (c.pairs.size() < room)
    needy_.insert(id);
  else
    needy_.erase(id);
}

void signal_server::add_pair(context& ctx, peer_id a, peer_id b, bool linked) {
  pair_state s;
  s.since = ctx.now;
  s.linked = s.a_linked = s.b_linked = linked;
  pairs_[key(a, b)] = s;
  clients_.at(a).pairs.insert(b);
  clients_.at(b).pairs.insert(a);
  update_open(a);
  update_open(b);
}

void signal_server::drop_pair(peer_id a, peer_id b, bool notify_a, bool notify_b, effects& fx) {
  pairs_.erase(key(a, b));
  signal_msg left{msg::peer_left};
  if (auto it = clients_.find(a); it != clients_.end()) {
    it->second.pairs.erase(b);
    update_open(a);
    if (notify_a) {
      left.peer = b;
      send(a, left, fx);
    }
  }
  if (auto it = clients_.find(b); it != clients_.end()) {
    it->second.pairs.erase(a);
    update_open(b);
    if (notify_b) {
      left.peer = a;
      send(b, left, fx);
    }
  }
}

void signal_server::remove_client(context& ctx, peer_id id, effects& fx) {
  auto it = clients_.find(id);
  if (it == clients_.end())
    return;
  auto partners = std::vector<peer_id>(it->second.pairs.begin(), it->second.pairs.end());
  for (auto p : partners)
    drop_pair(id, p, false, true, fx);
  open_.erase(it->second.seq);
  needy_.erase(id);
  clients_.erase(it); // its address stays until it leaves: a silent client may join again
  for (auto p : partners)
    try_pair(ctx, p, fx); // a client whose peer vanished gets another
}

std::string signal_server::address_for(peer_id id) const {
  // Only native nodes learn each other's listen address (a browser's is of no
  // use to its peers, and WebRTC finds its own).
  auto c = clients_.find(id);
  auto a = addresses_.find(id);
  if (c == clients_.end() || !c->second.peerlab_links || a == addresses_.end())
    return {};
  return a->second;
}

void signal_server::update_open(peer_id id) {
  auto it = clients_.find(id);
  if (it == clients_.end())
    return;
  if (it->second.pairs.size() < cfg_.max_peers)
    open_[it->second.seq] = id;
  else
    open_.erase(it->second.seq);
}

void signal_server::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != tick_token)
    return;
  fx.after(tick_every, tick_token);
  if (msgs_this_second_ > 0)
    fx.emit(event{"cdn_signal_load",
                  0,
                  {},
                  {{"msgs", static_cast<double>(msgs_this_second_)},
                   {"joins", static_cast<double>(joins_this_second_)},
                   {"clients", static_cast<double>(clients_.size())}}});
  msgs_this_second_ = joins_this_second_ = 0;
  // Silent clients are gone (a crashed browser never says goodbye).
  std::vector<peer_id> silent;
  for (auto& [id, c] : clients_)
    if (ctx.now - c.last_heard > cfg_.client_timeout)
      silent.push_back(id);
  for (auto id : silent) {
    fx.count("cdn_signal_expired");
    remove_client(ctx, id, fx);
  }
  // Pairings that never linked are dissolved; both sides get another peer.
  std::vector<pair_key> stale;
  for (auto& [k, s] : pairs_)
    if (!s.linked && ctx.now - s.since > cfg_.pair_timeout)
      stale.push_back(k);
  for (auto& k : stale) {
    fx.count("cdn_signal_pair_timeouts");
    drop_pair(k.first, k.second, true, true, fx);
    try_pair(ctx, k.first, fx);
    try_pair(ctx, k.second, fx);
  }
  // Clients still short of peers try again (new candidates may have joined).
  std::vector<peer_id> retry;
  for (auto id : needy_) {
    if (retry.size() == needy_per_tick)
      break;
    retry.push_back(id);
  }
  for (auto id : retry)
    try_pair(ctx, id, fx);
}

} // namespace peerlab::cdn
