#include "protocols/filexfer/provider.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/filexfer/payment_gate.hpp"

#include <algorithm>
#include <optional>

namespace peerlab::filexfer {

std::vector<const table_schema*> provider::tables() const {
  return cfg_.gate ? cfg_.gate->tables() : std::vector<const table_schema*>{};
}

provider::provider(provider_config cfg) : cfg_(cfg) {
  // A chunk of 0 bytes would never finish a stream.
  cfg_.chunk_bytes = std::clamp<std::size_t>(cfg_.chunk_bytes, 1, limits::chunk_bytes_max);
}

void provider::start(context& ctx, effects& fx) {
  // A restart loses every stream; downloaders time out and re-request.
  uploads_.clear();
  ready_.clear();
  held_.clear();
  turn_token_ = 0;
  recheck_token_ = 0;
  token_base_ = ctx.random.next();
  if (cfg_.gate)
    cfg_.gate->start(ctx, fx);
}

void provider::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  auto d = decode(data);
  if (!d.ok()) {
    fx.count("frames_rejected");
    return;
  }
  if (auto* m = std::get_if<meta_req>(&d.msg))
    on_meta(ctx, from, *m, fx);
  else if (auto* c = std::get_if<content_req>(&d.msg))
    on_content(ctx, from, *c, fx);
  else
    fx.count("frames_rejected"); // a reply type can never arrive on this port (decode checks)
}

void provider::on_meta(context& ctx, peer_id from, const meta_req& m, effects& fx) {
  fx.count("filexfer.meta_requests");
  auto info = ctx.content.stat(m.hash);
  if (!info) {
    fx.send(from,
            encode(meta_err{m.req_id, error_code::not_provider, "not a provider for this file"}));
    return;
  }
  if (info->name.size() > limits::file_name_max) {
    fx.send(from, encode(meta_err{m.req_id, error_code::internal, "file name too long to send"}));
    return;
  }
  fx.send(from, encode(meta_ok{m.req_id, info->name, info->price, info->size}));
}

void provider::on_content(context& ctx, peer_id from, const content_req& r, effects& fx) {
  fx.count("filexfer.content_requests");
  upload_key key{from, r.req_id};
  if (uploads_.count(key)) {
    fx.count("filexfer.duplicate_requests"); // the network duplicated it; already serving
    return;
  }
  auto info = ctx.content.stat(r.hash);
  if (!info) {
    fx.send(from, encode(content_err{r.req_id, error_code::not_provider,
                                     "not a provider for this file"}));
    return;
  }
  if (r.offset > info->size || info->size - r.offset < r.length) {
    fx.send(from,
            encode(content_err{r.req_id, error_code::bad_range,
                               "range ends past the file size " + std::to_string(info->size)}));
    return;
  }
  if (uploads_.size() >= limits::active_uploads_max) {
    fx.count("filexfer.busy");
    fx.send(from, encode(content_err{r.req_id, error_code::busy, "too many active uploads"}));
    return;
  }
  if (uploads_of(from) >= limits::uploads_per_peer_max) {
    fx.count("filexfer.busy_peer");
    fx.send(from, encode(content_err{r.req_id, error_code::busy,
                                     "too many active uploads to this peer (at most " +
                                       std::to_string(limits::uploads_per_peer_max) + ")"}));
    return;
  }
  if (cfg_.strategy == provider_strategy::silent) {
    fx.count("filexfer.requests_ignored");
    return;
  }
  std::optional<payment_gate::admission> paid;
  if (cfg_.gate) {
    paid = cfg_.gate->admit(ctx, from, *info, fx);
    if (paid->refused) {
      fx.send(from, encode(content_err{r.req_id, error_code::not_provider, paid->reason}));
      return;
    }
    if (cfg_.gate->wants_tick())
      schedule_recheck(fx);
  }
  supersede(from, r, fx);
  upload u;
  u.hash = r.hash;
  u.next = r.offset;
  u.end = r.offset + r.length;
  if (cfg_.strategy == provider_strategy::truncate_content)
    u.end = std::clamp(info->size / 2, r.offset, u.end); // pretend the file ends halfway
  // Tiny chunks are raised to the minimum; downloaders take any chunk size.
  const auto floor = std::min(limits::chunk_bytes_min, cfg_.chunk_bytes);
  const auto asked = std::min<std::size_t>(r.chunk, cfg_.chunk_bytes);
  if (asked < floor)
    fx.count("filexfer.small_chunks_raised");
  u.chunk = static_cast<std::uint32_t>(std::max(asked, floor));
  // The payment reference is per request and comes from the node's own rng.
  for (std::size_t i = 0; i < u.ref.size(); i += 8) {
    std::uint64_t v = ctx.random.next();
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&v), 8, u.ref.begin() + i);
  }
  if (paid) { // the purchase's reference instead
    u.ref = paid->ref;
    u.file = *info;
  }
  uploads_.emplace(key, u);
  ready_.push_back(key);
  schedule_turn(fx);
}

std::size_t provider::uploads_of(peer_id peer) const {
  std::size_t n = 0;
  for (auto it = uploads_.lower_bound({peer, 0});
       it != uploads_.end() && it->first.first == peer && n < limits::uploads_per_peer_max; ++it)
    ++n;
  return n;
}

void provider::supersede(peer_id from, const content_req& r, effects& fx) {
  std::uint64_t b = r.offset, e = r.offset + r.length;
  std::uint64_t saved = 0;
  // Only this peer's uploads: the map is ordered by (peer, req_id).
  for (auto it = uploads_.lower_bound({from, 0});
       it != uploads_.end() && it->first.first == from;) {
    upload& u = it->second;
    if (u.hash != r.hash || e <= u.next || b >= u.end) {
      ++it; // another file, or no overlap with what is left to send
      continue;
    }
    if (b <= u.next && e >= u.end) { // covers the whole rest: the old upload stops
      saved += u.end - u.next;
      fx.count("filexfer.superseded_uploads");
      it = uploads_.erase(it);
      continue;
    }
    if (b <= u.next) { // covers the next bytes: skip them
      saved += e - u.next;
      u.next = e;
      u.superseded = true;
    } else if (e >= u.end) { // covers the tail: stop before it
      saved += u.end - b;
      u.end = b;
      u.superseded = true;
    } // strictly inside the rest: sent twice (a downloader never asks that)
    ++it;
  }
  if (saved > 0)
    fx.count("filexfer.superseded_bytes", static_cast<double>(saved));
}

void provider::end_upload(peer_id to, std::uint64_t req_id, const upload& u, effects& fx) {
  // A superseded upload did not send all it was asked for; a CONTENT_END
  // would read as truncation. Its downloader moved on to the newer request.
  if (!u.superseded)
    fx.send(to, encode(content_end{req_id, u.sent}));
}

void provider::schedule_turn(effects& fx) {
  if (turn_token_ != 0)
    return; // one turn pending is enough
  turn_token_ = ++token_base_;
  if (turn_token_ == 0)
    turn_token_ = ++token_base_;
  fx.after(0, turn_token_);
}

void provider::timer(context& ctx, std::uint64_t token, effects& fx) {
  if (token != 0 && token == recheck_token_)
    return recheck(ctx, fx);
  if (token == 0 || token != turn_token_)
    return; // stale (from before a restart)
  turn_token_ = 0;
  take_turn(ctx, fx);
  if (!ready_.empty())
    schedule_turn(fx);
}

void provider::take_turn(context& ctx, effects& fx) {
  std::size_t budget = bounds::provider_turn_bytes;
  while (!ready_.empty() && budget > 0) {
    upload_key key = ready_.front();
    ready_.pop_front();
    auto it = uploads_.find(key);
    if (it == uploads_.end())
      continue;
    bool ended = false;
    if (cfg_.gate && !gate_allows(ctx, key, it->second, ended, fx)) {
      if (ended)
        uploads_.erase(it);
      continue;
    }
    std::uint64_t before = it->second.sent;
    bool more = send_chunk(ctx, key, it->second, fx);
    budget -= std::min<std::size_t>(budget, std::max<std::uint64_t>(1, it->second.sent - before));
    if (more)
      ready_.push_back(key);
    else
      uploads_.erase(it);
  }
}

bool provider::send_chunk(context& ctx, const upload_key& key, upload& u, effects& fx) {
  auto [to, req_id] = key;
  if (u.next >= u.end) {
    end_upload(to, req_id, u, fx);
    return false;
  }
  std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(u.chunk, u.end - u.next));
  buf_.clear();
  if (!ctx.content.read(u.hash, u.next, len, buf_) || buf_.size() != len) {
    fx.count("filexfer.read_errors");
    fx.send(to, encode(content_err{req_id, error_code::internal, "cannot read the file"}));
    return false;
  }
  if (cfg_.strategy == provider_strategy::corrupt_content)
    corrupt(ctx, buf_);
  fx.send(to, encode_chunk(req_id, u.next, u.ref, buf_));
  fx.count("filexfer.bytes_sent", static_cast<double>(len));
  if (cfg_.gate)
    cfg_.gate->sent(ctx, to, u.file, u.next, len, fx);
  u.next += len;
  u.sent += len;
  if (u.next < u.end)
    return true;
  end_upload(to, req_id, u, fx);
  return false;
}

void provider::corrupt(context& ctx, bytes& data) {
  // 1 to 3 flips at distinct rng-chosen places; XOR with a non-zero value
  // always changes the byte, and distinct places cannot undo each other.
  std::uint64_t used[3] = {};
  std::uint64_t flips = 1 + ctx.random.below(3);
  for (std::uint64_t i = 0; i < flips; ++i) {
    used[i] = ctx.random.below(data.size());
    if (std::find(used, used + i, used[i]) != used + i)
      continue;
    data[used[i]] ^= static_cast<std::uint8_t>(1 + ctx.random.below(255));
  }
}

} // namespace peerlab::filexfer
