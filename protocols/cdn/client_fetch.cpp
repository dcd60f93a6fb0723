// Fetching and serving resources. Policy (docs/protocols/cdn.md): peers
// first, nearest by measured RTT; `fanout` of them race for the first window
// and the first to answer streams the rest; no answer within `peer_deadline`
// means the origin. A source that stalls is dropped and the transfer resumes
// at the same offset from another peer or the origin. A resource that fails
// its SHA-224 is fetched again from the origin, and the peers whose bytes
// differ from the origin's are evicted.
#include "protocols/cdn/client.hpp"

#include <algorithm>

namespace peerlab::cdn {

namespace {
constexpr std::uint8_t deadline_kind = 5, stall_kind = 6;
constexpr std::uint32_t origin_tries_max = 3;
} // namespace

void client::arm(context&, std::uint32_t id, job& j, std::uint8_t kind, time_us delay,
                 effects& fx) {
  const std::uint64_t v = (static_cast<std::uint64_t>(id) << 24) | (j.gen & 0xffffff);
  fx.after(delay, (static_cast<std::uint64_t>(kind) << 56) | v);
}

void client::enqueue(context& ctx, queued q, effects& fx) {
  if (!q.listing) {
    if (auto* e = cache_.find(q.url, q.sha)) {
      fx.emit(event{"cdn_fetch_done",
                    q.command_id,
                    {{"url", q.url}, {"source", "cache"}, {"sha224", hex(sha224_of(e->data))}},
                    {{"bytes", static_cast<double>(e->data.size())},
                     {"peer_bytes", 0},
                     {"origin_bytes", 0},
                     {"ttfb_us", 0},
                     {"duration_us", 0}}});
      if (q.load)
        child_ended(ctx, q.load, true, fx);
      return;
    }
  }
  if (jobs_.size() < cfg_.max_fetches) {
    start_job(ctx, std::move(q), fx);
    return;
  }
  if (queue_.size() + jobs_.size() >= bounds::fetches_max) {
    fx.emit(event{
      "cdn_fetch_failed", q.command_id, {{"url", q.url}, {"reason", "too many fetches"}}, {}});
    if (q.load)
      child_ended(ctx, q.load, false, fx);
    return;
  }
  queue_.push_back(std::move(q));
}

void client::start_job(context& ctx, queued q, effects& fx) {
  auto id = next_job_++;
  auto& j = jobs_[id];
  j.command_id = q.command_id;
  j.load = q.load;
  j.url = std::move(q.url);
  j.sha = q.sha;
  j.listing = q.listing;
  j.started = j.last_progress = ctx.now;
  if (j.listing)
    use_origin(ctx, id, j, fx);
  else
    race(ctx, id, j, fx);
}

// Asks up to `fanout` untried peers for the bytes from `have`; the origin if none is left.
void client::race(context& ctx, std::uint32_t id, job& j, effects& fx) {
  auto peers = sources(j.tried);
  if (peers.empty()) {
    // A page loaded right after joining: its pairings are still linking. Wait
    // for them (up to peer_deadline, once) rather than go to the origin.
    const bool pending = std::any_of(links_.begin(), links_.end(),
                                     [](auto& l) { return l.second.state != link_state::linked; });
    if (pending && !j.waited_link && j.have == 0) {
      j.waited_link = j.waiting_link = true;
      ++j.gen;
      arm(ctx, id, j, deadline_kind, cfg_.peer_deadline, fx);
      return;
    }
    use_origin(ctx, id, j, fx);
    return;
  }
  ++j.gen;
  j.streaming = false;
  const std::uint32_t len = j.have == 0 ? cfg_.first_window : cfg_.window;
  for (std::size_t i = 0; i < peers.size() && i < cfg_.fanout; ++i) {
    auto req = next_req_++;
    j.racing[req] = peers[i];
    reqs_[req] = id;
    j.tried.insert(peers[i]);
    fx.send(peers[i], encode_request(ports::cdn_client, request{req, j.url, j.sha, j.have, len}));
  }
  arm(ctx, id, j, deadline_kind, cfg_.peer_deadline, fx);
}

void client::use_origin(context& ctx, std::uint32_t id, job& j, effects& fx) {
  if (j.origin_tries++ >= origin_tries_max) {
    end_job(ctx, id, false, "the origin did not answer", fx);
    return;
  }
  ++j.gen;
  j.streaming = true;
  j.from_origin = true;
  j.src = cfg_.origin;
  request_window(ctx, id, j, j.have == 0 && !j.listing ? cfg_.window : cfg_.window, fx);
}

void client::switch_source(context& ctx, std::uint32_t id, job& j, effects& fx) {
  reqs_.erase(j.src_req);
  if (j.from_origin) {
    use_origin(ctx, id, j, fx);
    return;
  }
  fx.count("cdn_resumes");
  fx.emit(event{"cdn_resumed",
                0,
                {{"url", j.url}, {"from", std::to_string(j.src)}},
                {{"offset", static_cast<double>(j.have)}}});
  j.streaming = false;
  race(ctx, id, j, fx);
}

void client::request_window(context& ctx, std::uint32_t id, job& j, std::uint32_t length,
                            effects& fx) {
  reqs_.erase(j.src_req);
  j.src_req = next_req_++;
  reqs_[j.src_req] = id;
  j.window_end = j.have + length;
  j.last_progress = ctx.now;
  const port_t to = j.from_origin ? ports::cdn_origin : ports::cdn_client;
  fx.send(j.src, encode_request(to, request{j.src_req, j.url, j.sha, j.have, length}));
  arm(ctx, id, j, stall_kind, cfg_.stall_timeout, fx);
}

void client::on_data(context& ctx, peer_id from, const data& d, effects& fx) {
  auto r = reqs_.find(d.req);
  if (r == reqs_.end()) {
    fx.count("cdn_data_stale"); // a losing racer's window, or a source we left
    return;
  }
  const auto id = r->second;
  auto& j = jobs_.at(id);
  if (!j.streaming) {
    auto a = j.racing.find(d.req);
    if (a == j.racing.end() || a->second != from)
      return;
    // The first racer to answer becomes the source; the others' answers are ignored.
    for (auto& [req, p] : j.racing)
      if (req != d.req)
        reqs_.erase(req);
    j.racing.clear();
    ++j.gen;
    j.streaming = true;
    j.from_origin = false;
    j.src = from;
    j.src_req = d.req;
    j.window_end = j.have + (j.have == 0 ? cfg_.first_window : cfg_.window);
    arm(ctx, id, j, stall_kind, cfg_.stall_timeout, fx);
  }
  if (d.req != j.src_req || from != j.src)
    return;
  if (j.total == ~0ull) {
    if (j.listing && d.total > bounds::listing_entries_max * (bounds::url_max + 90)) {
      end_job(ctx, id, false, "listing too large", fx);
      return;
    }
    j.total = d.total;
    j.buf.resize(d.total);
  } else if (d.total != j.total) {
    if (!j.from_origin) {
      evict(ctx, from, "claimed another size", fx);
      return;
    }
    end_job(ctx, id, false, "the origin changed the resource's size", fx);
    return;
  }
  if (d.offset != j.have) {
    fx.count("cdn_data_out_of_order"); // duplicated or reordered: ask again from `have`
    if (d.offset > j.have)
      request_window(ctx, id, j, static_cast<std::uint32_t>(j.window_end - j.have), fx);
    return;
  }
  if (j.first_byte < 0)
    j.first_byte = ctx.now;
  std::copy(d.payload.begin(), d.payload.end(),
            j.buf.begin() + static_cast<std::ptrdiff_t>(j.have));
  if (!j.parts.empty() && j.parts.back().peer == from && j.parts.back().origin == j.from_origin &&
      j.parts.back().end == j.have)
    j.parts.back().end += d.payload.size();
  else
    j.parts.push_back(part{from, j.from_origin, j.have, j.have + d.payload.size()});
  j.have += d.payload.size();
  (j.from_origin ? j.origin_bytes : j.peer_bytes) += d.payload.size();
  fx.count(j.from_origin ? "cdn_origin_bytes" : "cdn_peer_bytes",
           static_cast<double>(d.payload.size()));
  j.last_progress = ctx.now;
  if (j.have >= j.total) {
    finish(ctx, id, fx);
    return;
  }
  if (j.have >= j.window_end)
    request_window(ctx, id, j, cfg_.window, fx);
}

void client::on_reject(context& ctx, peer_id from, const reject& rj, effects& fx) {
  auto r = reqs_.find(rj.req);
  if (r == reqs_.end())
    return;
  const auto id = r->second;
  auto& j = jobs_.at(id);
  if (!j.streaming) {
    auto a = j.racing.find(rj.req);
    if (a == j.racing.end() || a->second != from)
      return;
    reqs_.erase(r);
    j.racing.erase(a);
    if (j.racing.empty())
      race(ctx, id, j, fx); // the next nearest peers, or the origin
    return;
  }
  if (rj.req == j.src_req && from == j.src) {
    if (j.from_origin) {
      end_job(ctx, id, false, "the origin does not have it", fx);
      return;
    }
    switch_source(ctx, id, j, fx); // e.g. its cache dropped the resource mid-transfer
  }
}

void client::finish(context& ctx, std::uint32_t id, effects& fx) {
  auto& j = jobs_.at(id);
  if (j.listing) {
    listing_done(ctx, j, fx);
    end_job(ctx, id, true, "", fx);
    return;
  }
  if (sha224_of(j.buf) == j.sha) {
    if (!j.suspect.empty()) {
      // The origin's bytes verified: whoever sent different ones lied.
      std::set<peer_id> liars;
      for (auto& p : j.suspect_parts)
        if (!p.origin && !std::equal(j.suspect.begin() + static_cast<std::ptrdiff_t>(p.begin),
                                     j.suspect.begin() + static_cast<std::ptrdiff_t>(p.end),
                                     j.buf.begin() + static_cast<std::ptrdiff_t>(p.begin)))
          liars.insert(p.peer);
      for (auto p : liars) {
        fx.emit(
          event{"cdn_corrupt_detected", 0, {{"peer", std::to_string(p)}, {"url", j.url}}, {}});
        evict(ctx, p, "served bytes that fail the SHA-224", fx);
      }
    }
    cache_.put(j.url, j.sha, j.buf);
    end_job(ctx, id, true, "", fx);
    return;
  }
  fx.count("cdn_verify_failures");
  const bool from_peers =
    std::any_of(j.parts.begin(), j.parts.end(), [](auto& p) { return !p.origin; });
  if (!from_peers || !j.suspect.empty()) {
    end_job(ctx, id, false, "the origin's bytes do not match the listed SHA-224", fx);
    return;
  }
  // Some bytes came from peers: fetch it all from the origin, then find the liar.
  j.suspect = std::move(j.buf);
  j.suspect_parts = std::move(j.parts);
  j.discarded_bytes += j.peer_bytes + j.origin_bytes; // the report counts bytes used
  j.peer_bytes = j.origin_bytes = 0;
  j.buf.assign(j.total, 0);
  j.parts.clear();
  j.have = 0;
  j.origin_tries = 0;
  reqs_.erase(j.src_req);
  use_origin(ctx, id, j, fx);
}

void client::end_job(context& ctx, std::uint32_t id, bool ok, const std::string& reason,
                     effects& fx) {
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return;
  auto j = std::move(it->second);
  jobs_.erase(it);
  for (auto& [req, p] : j.racing)
    reqs_.erase(req);
  reqs_.erase(j.src_req);
  if (!j.listing) {
    if (ok) {
      const char* source = j.peer_bytes == 0 ? "origin" : j.origin_bytes == 0 ? "peer" : "mixed";
      fx.observe("cdn_ttfb_us", static_cast<double>(j.first_byte - j.started));
      fx.emit(event{"cdn_fetch_done",
                    j.command_id,
                    {{"url", j.url}, {"source", source}, {"sha224", hex(sha224_of(j.buf))}},
                    {{"bytes", static_cast<double>(j.total)},
                     {"peer_bytes", static_cast<double>(j.peer_bytes)},
                     {"origin_bytes", static_cast<double>(j.origin_bytes)},
                     {"discarded_bytes", static_cast<double>(j.discarded_bytes)},
                     {"ttfb_us", static_cast<double>(j.first_byte - j.started)},
                     {"duration_us", static_cast<double>(ctx.now - j.started)}}});
    } else {
      fx.emit(event{"cdn_fetch_failed", j.command_id, {{"url", j.url}, {"reason", reason}}, {}});
    }
    if (j.load)
      child_ended(ctx, j.load, ok, fx);
  } else if (!ok) {
    auto l = loads_.find(j.load);
    if (l != loads_.end()) {
      fx.emit(event{
        "load_failed", l->second.command_id, {{"page", l->second.page}, {"reason", reason}}, {}});
      loads_.erase(l);
    }
  }
  while (!queue_.empty() && jobs_.size() < cfg_.max_fetches) {
    auto q = std::move(queue_.front());
    queue_.pop_front();
    start_job(ctx, std::move(q), fx);
  }
}

void client::listing_done(context& ctx, job& j, effects& fx) {
  auto l = loads_.find(j.load);
  if (l == loads_.end())
    return;
  std::string err;
  auto items =
    parse_listing(std::string_view(reinterpret_cast<const char*>(j.buf.data()), j.buf.size()), err);
  if (!items) {
    fx.emit(event{"load_failed",
                  l->second.command_id,
                  {{"page", l->second.page}, {"reason", "bad listing: " + err}},
                  {}});
    loads_.erase(l);
    return;
  }
  l->second.pending = items->size();
  if (items->empty()) {
    child_ended(ctx, j.load, true, fx);
    return;
  }
  const auto load_id = j.load;
  for (auto& i : *items)
    enqueue(ctx, queued{0, load_id, i.url, i.sha, false}, fx);
}

void client::child_ended(context&, std::uint32_t load, bool ok, effects& fx) {
  auto l = loads_.find(load);
  if (l == loads_.end())
    return;
  auto& p = l->second;
  (ok ? p.done : p.failed) += 1;
  if (p.done + p.failed < p.pending)
    return;
  fx.emit(
    event{"load_done",
          p.command_id,
          {{"page", p.page}},
          {{"resources", static_cast<double>(p.done)}, {"failed", static_cast<double>(p.failed)}}});
  loads_.erase(l);
}

void client::jobs_using(context& ctx, peer_id peer, effects& fx) {
  std::vector<std::uint32_t> ids;
  for (auto& [id, j] : jobs_)
    if ((j.streaming && !j.from_origin && j.src == peer) ||
        std::any_of(j.racing.begin(), j.racing.end(), [&](auto& r) { return r.second == peer; }))
      ids.push_back(id);
  for (auto id : ids) {
    auto it = jobs_.find(id);
    if (it == jobs_.end())
      continue;
    auto& j = it->second;
    if (j.streaming) {
      switch_source(ctx, id, j, fx);
      continue;
    }
    for (auto r = j.racing.begin(); r != j.racing.end();)
      if (r->second == peer) {
        reqs_.erase(r->first);
        r = j.racing.erase(r);
      } else {
        ++r;
      }
    if (j.racing.empty())
      race(ctx, id, j, fx);
  }
}

void client::link_ready(context& ctx, effects& fx) {
  std::vector<std::uint32_t> ids;
  for (auto& [id, j] : jobs_)
    if (j.waiting_link)
      ids.push_back(id);
  for (auto id : ids) {
    auto& j = jobs_.at(id);
    j.waiting_link = false;
    race(ctx, id, j, fx);
  }
}

void client::on_request(context& ctx, peer_id from, const request& r, effects& fx) {
  auto l = links_.find(from);
  if (l == links_.end() || l->second.state == link_state::pairing) {
    fx.send(from, encode_reject(r.req, reject_reason::not_linked));
    return;
  }
  const hash224 zero{};
  const auto* e = r.sha == zero ? nullptr : cache_.find(r.url, r.sha);
  if (!e) {
    fx.send(from, encode_reject(r.req, reject_reason::not_held));
    return;
  }
  if (strategy_ == client_strategy::stall) {
    fx.count("cdn_stalled_requests");
    return;
  }
  const std::uint64_t size = e->data.size();
  if (r.offset > size) {
    fx.send(from, encode_reject(r.req, reject_reason::bad_range));
    return;
  }
  const std::uint64_t end = std::min<std::uint64_t>(size, r.offset + r.length);
  // Each peer's asks are bounded by a byte bucket: a peer that asks for
  // windows as fast as it can send requests gets REJECT busy, not our uplink.
  auto& lk = l->second;
  const double burst = static_cast<double>(cfg_.serve_burst);
  lk.serve_tokens =
    lk.serve_tokens < 0
      ? burst
      : std::min(burst, lk.serve_tokens + static_cast<double>(ctx.now - lk.serve_refill) *
                                            static_cast<double>(cfg_.serve_rate) / 1e6);
  lk.serve_refill = ctx.now;
  const auto want = static_cast<double>(end - r.offset);
  if (want > lk.serve_tokens) {
    fx.count("cdn_serve_refused");
    fx.send(from, encode_reject(r.req, reject_reason::busy));
    return;
  }
  lk.serve_tokens -= want;
  std::uint64_t at = r.offset;
  do {
    const std::uint64_t n = std::min<std::uint64_t>(bounds::chunk_max, end - at);
    byte_view chunk(e->data.data() + at, n);
    if (strategy_ == client_strategy::corrupt_content && n > 0) {
      bytes bad(chunk.begin(), chunk.end());
      bad[n / 2] ^= 0x5a;
      fx.send(from, encode_data(r.req, size, at, bad));
    } else {
      fx.send(from, encode_data(r.req, size, at, chunk));
    }
    fx.count("cdn_served_bytes", static_cast<double>(n));
    at += n;
  } while (at < end);
}

} // namespace peerlab::cdn
