#include "protocols/cdn/client.hpp"

#include <algorithm>

namespace peerlab::cdn {

namespace {

enum kind : std::uint8_t { heartbeat = 1, join_timeout = 2, reconnect = 3, maintenance = 4 };
constexpr time_us maintenance_every = 1'000'000;
constexpr std::uint64_t token(std::uint8_t k, std::uint64_t v) {
  return (static_cast<std::uint64_t>(k) << 56) | (v & ((1ull << 56) - 1));
}

} // namespace

std::size_t client::linked_peers() const {
  return static_cast<std::size_t>(std::count_if(
    links_.begin(), links_.end(), [](auto& l) { return l.second.state == link_state::linked; }));
}

void client::start(context& ctx, effects& fx) {
  fx.after(maintenance_every, token(maintenance, 0));
  if (cfg_.join_at_start && server_known())
    join(ctx, fx);
}

void client::peer_up(context& ctx, peer_id peer, std::string_view address, effects& fx) {
  // Live nodes name the server and the origin by address; the transport's
  // verified hello tells which peer id is there.
  if (!cfg_.origin_address.empty() && address == cfg_.origin_address)
    cfg_.origin = peer;
  if (cfg_.server_address.empty() || address != cfg_.server_address || server_met_)
    return;
  cfg_.server = peer;
  server_met_ = true;
  if (cfg_.join_at_start && conn_ == conn::idle)
    join(ctx, fx);
}

void client::stop(context&, effects& fx) {
  if (conn_ == conn::joined)
    to_server(signal_msg{msg::leave}, fx);
}

void client::to_server(const signal_msg& m, effects& fx) {
  fx.send(cfg_.server, encode_signal(ports::cdn_signal, m));
}

// --- the server connection ---

void client::join(context& ctx, effects& fx) {
  ++epoch_;
  conn_ = conn::joining;
  signal_msg j{msg::join};
  j.count = cfg_.want;
  j.link = cfg_.external_links ? "webrtc" : "peerlab";
  j.lat = lat_;
  j.lon = lon_;
  j.asn = asn_;
  for (auto& [p, l] : links_)
    if (l.state == link_state::linked)
      j.peers.push_back(p);
  to_server(j, fx);
  fx.count("cdn_joins_sent");
  fx.after(cfg_.join_timeout, token(join_timeout, epoch_));
  (void)ctx;
}

void client::lost(context& ctx, effects& fx, const char* why) {
  ++epoch_;
  conn_ = conn::waiting;
  // Exponential back-off, capped; full jitter spreads a crowd over the whole interval.
  const std::uint32_t n = std::min<std::uint32_t>(attempt_, 30);
  time_us delay = std::min<time_us>(cfg_.backoff_cap, cfg_.backoff_base << n);
  if (cfg_.jitter)
    delay = static_cast<time_us>(ctx.random.below(static_cast<std::uint64_t>(delay) + 1));
  ++attempt_;
  fx.after(delay, token(reconnect, epoch_));
  fx.emit(
    event{"cdn_server_lost",
          0,
          {{"reason", why}},
          {{"attempt", static_cast<double>(attempt_)}, {"delay_us", static_cast<double>(delay)}}});
}

void client::on_server(context& ctx, const signal_msg& m, effects& fx) {
  last_heard_ = ctx.now;
  switch (m.type) {
  case msg::welcome:
    if (conn_ != conn::joining)
      break;
    conn_ = conn::joined;
    attempt_ = 0;
    fx.emit(event{"cdn_joined", 0, {{"id", std::to_string(m.peer)}}, {}});
    fx.after(cfg_.heartbeat, token(heartbeat, epoch_));
    if (!cfg_.load.empty() && !page_loaded_) { // a live node's configured page
      page_loaded_ = true;
      auto id = next_load_++;
      loads_[id] = page_load{0, cfg_.load, 1, 0, 0};
      enqueue(ctx, queued{0, id, cfg_.load, {}, true}, fx);
    }
    break;
  case msg::paired:
    if (!cfg_.external_links && !m.address.empty())
      fx.learn_address(m.peer, m.address); // live: where the peer's node listens
    on_paired(ctx, m.peer, m.initiator, fx);
    break;
  case msg::signal:
    on_signal(ctx, m.peer, m.data, fx);
    break;
  case msg::peer_left:
    if (links_.contains(m.peer))
      drop_link(ctx, m.peer, false, fx);
    break;
  case msg::bye:
    if (conn_ == conn::joined || conn_ == conn::joining)
      lost(ctx, fx, "bye");
    break;
  case msg::error:
    fx.count("cdn_server_errors");
    if (m.reason == "full" || m.reason == "join first")
      if (conn_ == conn::joined || conn_ == conn::joining)
        lost(ctx, fx, m.reason == "full" ? "server full" : "server forgot us");
    break;
  case msg::pong:
    break;
  default:
    fx.count("frames_rejected"); // a client-to-server message sent to a client
  }
}

// --- links ---

void client::on_paired(context& ctx, peer_id peer, bool initiator, effects& fx) {
  if (auto it = links_.find(peer); it != links_.end()) {
    // A server that restarted pairs us again with a peer we are still linked
    // with: keep the link and tell it so (refusing would make it pair us again).
    if (it->second.state == link_state::linked) {
      signal_msg m{msg::linked};
      m.peer = peer;
      to_server(m, fx);
    }
    return;
  }
  if (peer == ctx.self || evicted_.contains(peer) || links_.size() >= bounds::want_max * 4) {
    signal_msg u{msg::unpair};
    u.peer = peer;
    u.block = true;
    to_server(u, fx);
    return;
  }
  link l;
  l.initiator = initiator;
  l.since = ctx.now;
  l.nonce = ctx.random.next();
  links_[peer] = l;
  if (cfg_.external_links) {
    // The host (a browser's simple-peer) creates the connection and hands us
    // its set-up data through signal_out.
    fx.emit(event{"cdn_link_open",
                  0,
                  {{"peer", std::to_string(peer)}, {"initiator", initiator ? "true" : "false"}},
                  {}});
    return;
  }
  if (initiator) {
    signal_msg s{msg::signal};
    s.peer = peer;
    s.data = R"({"offer":)" + std::to_string(l.nonce % 1000000007) + "}";
    to_server(s, fx);
  }
}

void client::on_signal(context& ctx, peer_id peer, const std::string& data, effects& fx) {
  auto it = links_.find(peer);
  if (it == links_.end())
    return; // a late signal for a link we gave up
  if (cfg_.external_links) {
    fx.emit(event{"cdn_signal_in", 0, {{"peer", std::to_string(peer)}, {"data", data}}, {}});
    return;
  }
  auto& l = it->second;
  if (!l.initiator && l.state == link_state::pairing) {
    signal_msg s{msg::signal};
    s.peer = peer;
    s.data = R"({"answer":)" + std::to_string(l.nonce % 1000000007) + "}";
    to_server(s, fx);
    l.state = link_state::connecting;
  } else if (l.initiator && l.state == link_state::pairing) {
    l.state = link_state::connecting;
    send_hello(ctx, peer, l, fx); // the connectivity check (ICE, DTLS) on the direct path
  }
}

void client::send_hello(context& ctx, peer_id peer, link& l, effects& fx) {
  l.hello_sent = ctx.now;
  fx.send(peer, encode_hello(ports::cdn_client, hello{l.nonce, false}));
}

void client::on_hello(context& ctx, peer_id from, const hello& h, effects& fx) {
  auto it = links_.find(from);
  if (it == links_.end()) {
    fx.count("cdn_hello_unpaired");
    return;
  }
  auto& l = it->second;
  if (!h.ack) {
    fx.send(from, encode_hello(ports::cdn_client, hello{h.nonce, true}));
    if (l.hello_sent < 0) {
      l.state = link_state::connecting;
      send_hello(ctx, from, l, fx); // measure the RTT from this side too
    }
    return;
  }
  if (h.nonce != l.nonce || l.state == link_state::linked)
    return;
  l.rtt = ctx.now - l.hello_sent;
  l.state = link_state::linked;
  signal_msg m{msg::linked};
  m.peer = from;
  to_server(m, fx);
  fx.observe("cdn_link_rtt_us", static_cast<double>(l.rtt));
  fx.emit(event{"cdn_linked",
                0,
                {{"peer", std::to_string(from)}},
                {{"rtt_us", static_cast<double>(l.rtt)},
                 {"setup_us", static_cast<double>(ctx.now - l.since)}}});
  link_ready(ctx, fx);
}

void client::drop_link(context& ctx, peer_id peer, bool tell_server, effects& fx) {
  if (!links_.erase(peer))
    return;
  if (cfg_.external_links)
    fx.emit(event{"cdn_link_close", 0, {{"peer", std::to_string(peer)}}, {}});
  if (tell_server) {
    signal_msg u{msg::unpair};
    u.peer = peer;
    u.block = evicted_.contains(peer);
    to_server(u, fx);
  }
  jobs_using(ctx, peer, fx);
}

void client::evict(context& ctx, peer_id peer, const std::string& reason, effects& fx) {
  if (evicted_.contains(peer) && !links_.contains(peer))
    return; // two fetches caught the same peer
  if (evicted_.size() < bounds::blocked_max)
    evicted_.insert(peer);
  fx.count("cdn_evictions");
  fx.emit(event{"cdn_evicted", 0, {{"peer", std::to_string(peer)}, {"reason", reason}}, {}});
  drop_link(ctx, peer, true, fx);
}

std::vector<peer_id> client::sources(const std::set<peer_id>& exclude) const {
  std::vector<std::pair<time_us, peer_id>> ranked;
  for (auto& [p, l] : links_)
    if (l.state == link_state::linked && !exclude.contains(p))
      ranked.push_back({l.rtt, p});
  std::sort(ranked.begin(), ranked.end()); // nearest first
  std::vector<peer_id> out;
  for (auto& r : ranked)
    out.push_back(r.second);
  return out;
}

// --- inputs ---

void client::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  if (data.size() >= 2 && data[1] == json_type) {
    if (from != cfg_.server) {
      fx.count("frames_rejected"); // signalling comes only from the server
      return;
    }
    std::string err;
    auto m = parse_signal(
      std::string_view(reinterpret_cast<const char*>(data.data()) + 1, data.size() - 1), err);
    if (!m) {
      fx.count("frames_rejected");
      return;
    }
    on_server(ctx, *m, fx);
    return;
  }
  message m;
  std::string err;
  if (!decode(data, m, err)) {
    fx.count("frames_rejected");
    return;
  }
  std::visit(
    [&](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, hello>)
        on_hello(ctx, from, x, fx);
      else if constexpr (std::is_same_v<T, request>)
        on_request(ctx, from, x, fx);
      else if constexpr (std::is_same_v<T, cdn::data>)
        on_data(ctx, from, x, fx);
      else
        on_reject(ctx, from, x, fx);
    },
    m);
}

void client::timer(context& ctx, std::uint64_t tok, effects& fx) {
  const auto k = static_cast<std::uint8_t>(tok >> 56);
  const std::uint64_t v = tok & ((1ull << 56) - 1);
  const bool current = v == (epoch_ & ((1ull << 56) - 1));
  switch (k) {
  case heartbeat:
    if (!current || conn_ != conn::joined)
      return;
    if (ctx.now - last_heard_ > 3 * cfg_.heartbeat) {
      lost(ctx, fx, "server silent");
      return;
    }
    to_server(signal_msg{msg::ping}, fx);
    fx.after(cfg_.heartbeat, token(heartbeat, epoch_));
    return;
  case join_timeout:
    if (current && conn_ == conn::joining)
      lost(ctx, fx, "no welcome");
    return;
  case reconnect:
    if (current && conn_ == conn::waiting)
      join(ctx, fx);
    return;
  case maintenance: {
    fx.after(maintenance_every, token(maintenance, 0));
    std::vector<peer_id> stale;
    for (auto& [p, l] : links_)
      if (l.state != link_state::linked && ctx.now - l.since > cfg_.link_timeout)
        stale.push_back(p);
    for (auto p : stale) {
      fx.count("cdn_link_timeouts");
      drop_link(ctx, p, true, fx);
    }
    std::vector<std::uint32_t> late;
    for (auto& [id, j] : jobs_)
      if (ctx.now - j.started > cfg_.fetch_timeout)
        late.push_back(id);
    for (auto id : late)
      end_job(ctx, id, false, "timed out", fx);
    return;
  }
  default:
    break;
  }
  // Fetch deadlines and stall checks (client_fetch.cpp).
  const auto id = static_cast<std::uint32_t>(v >> 24);
  const auto gen = static_cast<std::uint32_t>(v & 0xffffff);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || (it->second.gen & 0xffffff) != gen)
    return;
  auto& j = it->second;
  if (k == 5 && j.waiting_link) { // no link came up in time: race decides (the origin)
    j.waiting_link = false;
    race(ctx, id, j, fx);
  } else if (k == 5 && !j.streaming) { // the peers did not answer in time: the origin
    fx.count("cdn_peer_deadlines");
    for (auto& [req, p] : j.racing)
      reqs_.erase(req);
    j.racing.clear();
    use_origin(ctx, id, j, fx);
  } else if (k == 6 && j.streaming) {
    const time_us idle = ctx.now - j.last_progress;
    if (idle < cfg_.stall_timeout) {
      arm(ctx, id, j, 6, cfg_.stall_timeout - idle, fx);
      return;
    }
    fx.count("cdn_stalls");
    if (!j.from_origin)
      evict(ctx, j.src, "stalled", fx); // evict() switches every job using it
    else
      switch_source(ctx, id, j, fx);
  }
}

void client::command(context& ctx, const peerlab::command& c, effects& fx) {
  auto* cmd = c.as<cdn::command>();
  if (!cmd) {
    fx.fail(c, fail_code::bad_request, "not a cdn command");
    return;
  }
  auto ensure_joined = [&] {
    if (conn_ == conn::idle)
      join(ctx, fx);
  };
  std::visit(
    [&](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, locate>) {
        lat_ = x.lat;
        lon_ = x.lon;
        asn_ = x.asn;
        fx.emit(event{"located", c.id, {}, {{"lat", x.lat}, {"lon", x.lon}}});
        ensure_joined();
      } else if constexpr (std::is_same_v<T, load>) {
        ensure_joined();
        auto id = next_load_++;
        loads_[id] = page_load{c.id, x.page, 1, 0, 0};
        enqueue(ctx, queued{0, id, x.page, {}, true}, fx);
      } else if constexpr (std::is_same_v<T, fetch>) {
        ensure_joined();
        enqueue(ctx, queued{c.id, 0, x.url, x.sha, false}, fx);
      } else if constexpr (std::is_same_v<T, link_up>) {
        auto it = links_.find(x.peer);
        if (!cfg_.external_links || it == links_.end()) {
          fx.fail(c, fail_code::not_found, "no pairing with " + std::to_string(x.peer));
          return;
        }
        // The peer's HELLO may come over the new channel before the host's
        // own open event: then the exchange already ran (or runs), and an
        // up link must not go back to connecting.
        if (it->second.state == link_state::linked)
          return;
        it->second.state = link_state::connecting;
        send_hello(ctx, x.peer, it->second, fx);
      } else if constexpr (std::is_same_v<T, link_down>) {
        if (links_.contains(x.peer))
          drop_link(ctx, x.peer, true, fx);
      } else if constexpr (std::is_same_v<T, signal_out>) {
        if (!links_.contains(x.peer)) {
          fx.fail(c, fail_code::not_found, "no pairing with " + std::to_string(x.peer));
          return;
        }
        signal_msg s{msg::signal};
        s.peer = x.peer;
        s.data = x.data;
        to_server(s, fx);
      } else if constexpr (std::is_same_v<T, signal_lost>) {
        if (conn_ == conn::joined || conn_ == conn::joining)
          lost(ctx, fx, "connection closed");
      } else if constexpr (std::is_same_v<T, cache_put>) {
        if (x.data.size() > bounds::resource_max || sha224_of(x.data) != x.sha) {
          fx.fail(c, fail_code::bad_request, "cached bytes of " + x.url + " fail their SHA-224");
          return;
        }
        cache_.put(x.url, x.sha, x.data);
        fx.emit(event{"cached", c.id, {{"url", x.url}}, {}});
      }
    },
    *cmd);
}

} // namespace peerlab::cdn
