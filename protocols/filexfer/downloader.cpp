#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/tables.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/stable_hash.hpp"

#include <algorithm>

namespace peerlab::filexfer {

namespace {

constexpr unsigned max_backoff = 16; // 2^16 times any timeout is past every cap

const char* code_name(error_code c) {
  switch (c) {
  case error_code::not_provider:
    return "not a provider";
  case error_code::internal:
    return "internal error";
  case error_code::busy:
    return "busy";
  case error_code::bad_range:
    return "bad range";
  }
  return "?";
}

} // namespace

std::vector<const table_schema*> downloader::tables() const {
  return {&download_files_table(), &partial_downloads_table()};
}

downloader::downloader(downloader_config cfg) : cfg_(cfg) {
  // Clamp to the protocol bounds so a config can never produce an invalid frame.
  cfg_.chunk_bytes = std::clamp<std::size_t>(cfg_.chunk_bytes, 1, limits::chunk_bytes_max);
  cfg_.window_bytes =
    std::clamp<std::size_t>(cfg_.window_bytes, cfg_.chunk_bytes, bounds::request_bytes_max);
  cfg_.windows_in_flight =
    std::clamp<std::size_t>(cfg_.windows_in_flight, 1, bounds::windows_in_flight_max);
  cfg_.request_timeout = std::max<time_us>(cfg_.request_timeout, 1);
  cfg_.initial_timeout = std::clamp<time_us>(cfg_.initial_timeout, 1, cfg_.request_timeout);
  cfg_.min_timeout = std::clamp<time_us>(cfg_.min_timeout, 1, cfg_.request_timeout);
  cfg_.fast_retries = std::min(cfg_.fast_retries, bounds::fast_retries_max);
  cfg_.attempts_per_provider = std::max<std::size_t>(cfg_.attempts_per_provider, 1);
  cfg_.max_attempts = std::clamp<std::size_t>(cfg_.max_attempts, 1, timer_mask);
}

std::size_t downloader::open_windows() const {
  std::size_t n = 0;
  for (auto& [_, d] : downloads_)
    n += d.windows.size();
  return n;
}

void downloader::start(context& ctx, effects& fx) {
  // A restart loses the in-memory state of every download; the ones in the
  // PartialDownloads table are resumed below. Fresh random id bases make
  // replies and timers from before the crash stale.
  downloads_.clear();
  routes_.clear();
  lookups_.clear();
  asks_.clear();
  no_payer_ = false;
  next_req_id_ = ctx.random.next() | 1;
  next_key_ = (ctx.random.next() & (key_mask >> 1)) + 1;
  resume_all(ctx, fx);
}

std::uint64_t downloader::new_req_id(download& d) {
  std::uint64_t id = next_req_id_++;
  if (id == 0)
    id = next_req_id_++;
  routes_[id] = d.key;
  return id;
}

std::uint64_t downloader::token(const download& d) const {
  return (d.key << timer_bits) | (d.timer_gen & timer_mask);
}

// ---- commands -------------------------------------------------------------

void downloader::command(context& ctx, const peerlab::command& cmd, effects& fx) {
  auto* body = cmd.as<filexfer::command>();
  if (!body)
    return fx.fail(cmd, peerlab::fail_code::bad_request,
                   "the downloader knows the commands \"download\" and \"lookup\"");
  if (auto* d = std::get_if<download_file>(body))
    return start_download(ctx, cmd, *d, fx);
  start_lookup(ctx, cmd, std::get<lookup_metadata>(*body), fx);
}

void downloader::start_download(context& ctx, const peerlab::command& cmd, const download_file& req,
                                effects& fx) {
  auto refuse = [&](std::string reason) {
    fx.emit(event{"download_failed",
                  cmd.id,
                  {{"hash", to_hex(req.hash)}, {"reason", std::move(reason)}},
                  {{"attempts", 0}, {"duration_us", 0}}});
  };
  if (req.providers.empty())
    return refuse("download needs at least one provider peer id");
  std::vector<peer_id> providers;
  for (auto p : req.providers)
    if (std::find(providers.begin(), providers.end(), p) == providers.end())
      providers.push_back(p); // a repeated provider would only repeat its failure
  if (providers.size() > limits::providers_per_download_max)
    return refuse("too many providers (at most " +
                  std::to_string(limits::providers_per_download_max) + ")");
  if (downloads_.size() >= limits::active_downloads_max)
    return refuse("too many active downloads (at most " +
                  std::to_string(limits::active_downloads_max) + ")");
  for (auto it = downloads_.begin(); it != downloads_.end(); ++it) {
    if (it->second.hash != req.hash)
      continue;
    if (it->second.command_id != 0)
      return refuse("this file is already being downloaded");
    return attach(ctx, cmd, it, providers, fx); // resumed at start: nobody asked for it yet
  }
  if (auto had = ctx.store.get(download_files_table(), {cell_digest(req.hash)});
      had && ctx.content.stat(req.hash))
    return report_had(cmd, *had, fx); // finished, e.g. by a resume before this command came
  const digest* hash = &req.hash;

  std::uint64_t key = next_key_++ & key_mask;
  auto it = downloads_.try_emplace(key).first;
  download& d = it->second;
  d.key = key;
  d.command_id = cmd.id;
  d.hash = *hash;
  d.providers = std::move(providers);
  d.started = ctx.now;
  d.id = hash_combine(mix64(static_cast<std::uint64_t>(ctx.now)), key);
  d.max_price = req.max_price;
  d.retry_delay = cfg_.retry_initial;
  save_partial(ctx, d); // accepted: a crash from now on resumes it
  fx.count("filexfer.downloads_started");
  fx.emit(event{"download_started",
                cmd.id,
                {{"hash", to_hex(d.hash)}},
                {{"providers", static_cast<double>(d.providers.size())}}});
  begin_attempt(ctx, it, fx);
}

// ---- attempts -------------------------------------------------------------

void downloader::begin_attempt(context& ctx, dl_iter it, effects& fx) {
  download& d = it->second;
  if (d.attempts >= cfg_.max_attempts)
    return retry_or_fail(
      ctx, it, "gave up after " + std::to_string(d.attempts) + " attempts; last: " + d.last_error,
      fx);
  ++d.attempts;
  ++d.idle_tries;
  d.progressed = false;
  d.last_progress = ctx.now;
  arm_timer(ctx, d, fx);
  if (!d.have_meta) {
    if (d.meta_req_id != 0)
      routes_.erase(d.meta_req_id);
    d.meta_req_id = new_req_id(d);
    d.meta_sent_at = ctx.now;
    fx.send(d.provider(), encode(meta_req{d.meta_req_id, d.hash}));
    return;
  }
  rerequest_after_timeout(ctx, d, fx);
  fill_windows(ctx, d, fx);
}

void downloader::rerequest_after_timeout(context& ctx, download& d, effects& fx) {
  // Like a transport's retransmission timeout: ask again for the oldest
  // outstanding data only (plus holes whose fast re-requests ran out, which
  // nothing else would ask for). If the other windows were lost too (a
  // restarted provider, lost requests), the answer to this one overtakes them
  // and detect_stalled asks for them one round trip later; if the timeout was
  // spurious (a slow, busy provider), they keep arriving and nothing else was
  // asked twice. The re-request covers only missing ranges, and the provider
  // drops what it may still have queued of them (it stops an upload whose
  // unsent bytes a newer request covers).
  window* oldest = nullptr;
  for (auto w = d.windows.begin(); w != d.windows.end();) {
    window& v = w->second;
    if (v.ended && v.delegated >= v.end) { // only waited for late chunks
      routes_.erase(w->first);
      w = d.windows.erase(w);
      continue;
    }
    if (!v.ended && (oldest == nullptr || v.seq < oldest->seq))
      oldest = &v;
    ++w;
  }
  bool asked = false;
  // Windows inserted below are newer and not ended: the loop skips them.
  for (auto& [_, v] : d.windows) {
    if (!v.ended || v.delegated >= v.end)
      continue;
    v.delegated = rerequest_holes(ctx, d, v.delegated, v.end, 0, false, fx);
    asked = true;
  }
  if (oldest != nullptr) {
    oldest->ended = true; // superseded; late chunks are still taken
    oldest->delegated =
      rerequest_holes(ctx, d, oldest->delegated, oldest->end, 0, oldest->counts, fx);
    asked = true;
  }
  if (asked)
    return;
  // No window owns the missing bytes (not expected): ask for every gap below the cursor.
  std::uint64_t limit = d.cursor;
  for (std::uint64_t b = d.received.first_gap_from(0); b < limit;
       b = d.received.first_gap_from(b)) {
    if (d.windows.size() >= bounds::open_windows_max) {
      d.cursor = b; // fill_windows asks for the rest once there is room
      return;
    }
    std::uint64_t e = std::min({b + cfg_.window_bytes, limit, d.received.next_start_after(b)});
    open_window(ctx, d, b, e, 0, true, fx);
    b = e;
  }
}

void downloader::forget_provider_state(context& ctx, download& d, bool keep_content) {
  if (d.meta_req_id != 0)
    routes_.erase(d.meta_req_id);
  for (auto& [req_id, _] : d.windows)
    routes_.erase(req_id);
  d.meta_req_id = 0;
  d.have_meta = false;
  d.cursor = 0;
  d.next_seq = 0;
  d.arrivals = 0;
  d.windows.clear();
  if (!keep_content) {
    forget_verified(ctx, d);
    d.name.clear();
    d.size = 0;
  }
  d.ref = {};
  d.srtt = d.rttvar = 0;
  d.has_rtt = false;
  d.backoff = 0;
  d.timed_out_at = -1;
}

void downloader::next_provider(context& ctx, dl_iter it, std::string reason, effects& fx,
                               bool keep_content) {
  download& d = it->second;
  d.last_error = "provider " + std::to_string(d.provider()) + ": " + std::move(reason);
  // Nothing from a provider that failed by what it sent (errors, truncation,
  // a wrong hash) is trusted: the next one starts from a clean slate. One
  // that only fell silent (crashed, unreachable) leaves its bytes: the next
  // provider continues, and the whole-file hash still judges every byte.
  forget_provider_state(ctx, d, keep_content);
  d.provider_index = next_unrefused(d, d.provider_index + 1);
  d.idle_tries = 0;
  if (d.provider_index >= d.providers.size())
    return retry_or_fail(
      ctx, it,
      "all " + std::to_string(d.providers.size()) + " providers failed; last: " + d.last_error, fx);
  save_partial(ctx, d); // the provider index moved (and the partial may be gone)
  fx.count("filexfer.provider_switches");
  begin_attempt(ctx, it, fx);
}

void downloader::fill_windows(context& ctx, download& d, effects& fx) {
  // Slots are taken by windows the provider is still streaming; re-requests
  // of lost ranges ride on top, so a loss does not stall the pipeline.
  std::size_t streaming = 0;
  for (auto& [_, w] : d.windows)
    streaming += w.counts && !w.ended;
  while (streaming < cfg_.windows_in_flight && d.windows.size() < bounds::open_windows_max) {
    std::uint64_t b = d.received.first_gap_from(d.cursor);
    if (b >= d.size)
      return;
    // A window never spans bytes already received (after a re-request).
    std::uint64_t e = std::min({b + cfg_.window_bytes, d.size, d.received.next_start_after(b)});
    open_window(ctx, d, b, e, 0, true, fx);
    d.cursor = e;
    ++streaming;
  }
}

void downloader::open_window(context& ctx, download& d, std::uint64_t b, std::uint64_t e,
                             std::uint8_t generation, bool counts, effects& fx) {
  std::uint64_t req_id = new_req_id(d);
  auto len = static_cast<std::uint32_t>(e - b);
  auto chunk = static_cast<std::uint32_t>(std::min<std::uint64_t>(cfg_.chunk_bytes, len));
  window w;
  w.begin = w.delegated = w.high = b;
  w.end = e;
  w.sent_at = ctx.now;
  w.sent_mark = d.arrivals;
  w.seq = d.next_seq++;
  w.chunk = chunk;
  w.generation = generation;
  w.counts = counts;
  d.windows[req_id] = w;
  fx.send(d.provider(), encode(content_req{req_id, d.hash, b, len, chunk}));
}

std::uint64_t downloader::rerequest_holes(context& ctx, download& d, std::uint64_t b,
                                          std::uint64_t e, std::uint8_t generation, bool counts,
                                          effects& fx) {
  std::size_t sent = 0;
  for (std::uint64_t x = d.received.first_gap_from(b); x < e; x = d.received.first_gap_from(x)) {
    if (d.windows.size() >= bounds::open_windows_max)
      return x; // no room: the timeout path asks for the rest
    std::uint64_t hole_end = std::min(e, d.received.next_start_after(x));
    if (sent + 1 == bounds::ranges_per_rerequest_max)
      hole_end = d.received.missing_end(x, e); // the last request spans every hole left
    open_window(ctx, d, x, hole_end, generation, counts && sent == 0, fx);
    ++sent;
    fx.count("filexfer.rerequested_bytes", static_cast<double>(hole_end - x));
    x = hole_end;
  }
  return e;
}

void downloader::fail(context& ctx, dl_iter it, const std::string& reason, effects& fx) {
  download& d = it->second;
  forget_provider_state(ctx, d);
  erase_partial(ctx, d);
  fx.count("filexfer.downloads_failed");
  fx.emit(event{"download_failed",
                d.command_id,
                {{"hash", to_hex(d.hash)}, {"reason", reason}},
                {{"attempts", static_cast<double>(d.attempts)},
                 {"duration_us", static_cast<double>(ctx.now - d.started)}}});
  downloads_.erase(it);
}

void downloader::finish(context& ctx, dl_iter it, effects& fx) {
  download& d = it->second;
  if (d.hasher.finish() != d.hash) {
    ++d.corrupt_found;
    fx.count("corrupt_detected");
    fx.emit(event{"corrupt_detected",
                  d.command_id,
                  {{"hash", to_hex(d.hash)}, {"provider", std::to_string(d.provider())}},
                  {}});
    return next_provider(ctx, it, "content did not hash to the requested SHA-256", fx);
  }
  if (!ctx.content.commit_sink(d.sink))
    return fail(ctx, it, "verified file could not be committed to the store", fx);
  d.sink = 0; // committed: not to be discarded
  erase_partial(ctx, d);
  for (auto& [req_id, _] : d.windows)
    routes_.erase(req_id);
  time_us took = ctx.now - d.started;
  record_history(ctx, d, took);
  fx.count("filexfer.downloads_done");
  fx.observe("filexfer.download_duration_us", static_cast<double>(took));
  fx.emit(event{"download_done",
                d.command_id,
                {{"hash", to_hex(d.hash)},
                 {"provider", std::to_string(d.provider())},
                 {"name", d.name},
                 {"payment_ref", to_hex(byte_view{d.ref.data(), d.ref.size()})}},
                {{"bytes", static_cast<double>(d.size)},
                 {"duration_us", static_cast<double>(took)},
                 {"attempts", static_cast<double>(d.attempts)},
                 {"corrupt_detected", static_cast<double>(d.corrupt_found)}}});
  downloads_.erase(it);
}

void downloader::report_had(const peerlab::command& cmd, const row& had, effects& fx) {
  // Nothing is bought again: the answer is the verified file the node holds.
  std::string hex = to_hex(had.hash(0));
  fx.count("filexfer.downloads_already_had");
  fx.emit(
    event{"download_started", cmd.id, {{"hash", hex}}, {{"providers", 0}, {"already_had", 1}}});
  fx.emit(event{"download_done",
                cmd.id,
                {{"hash", hex},
                 {"provider", std::to_string(had.u64(4))},
                 {"name", had.text(1)},
                 {"payment_ref", to_hex(byte_view{had.blob(5).data(), had.blob(5).size()})}},
                {{"bytes", static_cast<double>(had.u64(2))},
                 {"duration_us", 0},
                 {"attempts", 0},
                 {"corrupt_detected", 0},
                 {"already_had", 1}}});
}

void downloader::record_history(context& ctx, const download& d, time_us took) {
  // DownloadFiles (the download history): one row per verified file.
  std::string name = d.name.substr(0, limits::file_name_max);
  for (auto& c : name)
    if (static_cast<unsigned char>(c) < 0x20)
      c = ',';
  ctx.store.put(download_files_table(),
                {cell_digest(d.hash), std::move(name), cell_u64(d.size), cell_u64(d.price),
                 cell_u64(d.provider()), bytes(d.ref.begin(), d.ref.end()), std::int64_t{ctx.now},
                 std::int64_t{took}});
}

// ---- timers ---------------------------------------------------------------

time_us downloader::timeout(const download& d) const {
  // Before a round trip was measured: initial_timeout. Then the larger of
  // 4 x srtt and srtt + 4 x rttvar (RFC 6298), at least min_timeout; doubled
  // per timeout in a row without content; never above request_timeout.
  time_us t = cfg_.initial_timeout;
  if (d.has_rtt)
    t = std::max({4 * d.srtt, d.srtt + 4 * d.rttvar, cfg_.min_timeout});
  for (unsigned i = 0; i < d.backoff && t < cfg_.request_timeout; ++i)
    t *= 2;
  return std::min(t, cfg_.request_timeout);
}

void downloader::sample_rtt(download& d, time_us rtt) {
  rtt = std::max<time_us>(rtt, 1);
  if (!d.has_rtt) {
    d.srtt = rtt;
    d.rttvar = rtt / 2;
    d.has_rtt = true;
    return;
  }
  time_us err = d.srtt > rtt ? d.srtt - rtt : rtt - d.srtt;
  d.rttvar = (3 * d.rttvar + err) / 4;
  d.srtt = (7 * d.srtt + rtt) / 8;
}

void downloader::arm_timer(context& ctx, download& d, effects& fx) {
  time_us due = d.last_progress + timeout(d);
  if (d.timer_armed && d.timer_due <= due)
    return; // the armed timer comes first and re-arms for the rest
  // A new generation: the timer armed before (if any) becomes stale.
  d.timer_gen = (d.timer_gen + 1) & timer_mask;
  d.timer_due = due;
  d.timer_armed = true;
  fx.after(std::max<time_us>(due - ctx.now, 0), token(d));
}

void downloader::timer(context& ctx, std::uint64_t tok, effects& fx) {
  if ((tok >> timer_bits) == 0)
    return lookup_timer(tok, fx);
  auto it = downloads_.find(tok >> timer_bits);
  if (it == downloads_.end() || !it->second.timer_armed || token(it->second) != tok)
    return; // that download is over, or a newer timer replaced this one
  download& d = it->second;
  d.timer_armed = false;
  if (d.verifying)
    return verify_step(ctx, it, fx);
  if (d.waiting)
    return retry_round(ctx, it, fx);
  time_us idle = ctx.now - d.last_progress;
  if (idle < timeout(d)) {
    arm_timer(ctx, d, fx); // progress since: wait the rest
    return;
  }
  d.backoff = std::min(d.backoff + 1, max_backoff);
  d.timed_out_at = ctx.now;
  fx.count("filexfer.timeouts");
  d.last_error = "provider " + std::to_string(d.provider()) + ": no progress for " +
                 std::to_string(idle) + " us";
  if (d.progressed)
    d.idle_tries = 0; // a slow or lossy provider that still delivers keeps its turn
  if (d.idle_tries < cfg_.attempts_per_provider) {
    fx.count("filexfer.retries");
    return begin_attempt(ctx, it, fx);
  }
  next_provider(ctx, it, "no progress for " + std::to_string(idle) + " us", fx, true);
}

// ---- frames ---------------------------------------------------------------

downloader::dl_iter downloader::route(peer_id from, std::uint64_t req_id, effects& fx) {
  auto r = routes_.find(req_id);
  if (r == routes_.end()) {
    fx.count("filexfer.stale_frames"); // finished window, old attempt, or never ours
    return downloads_.end();
  }
  auto it = downloads_.find(r->second);
  if (it == downloads_.end() || it->second.provider() != from) {
    fx.count("filexfer.wrong_sender");
    return downloads_.end();
  }
  return it;
}

void downloader::frame(context& ctx, peer_id from, byte_view data, effects& fx) {
  auto dec = decode(data);
  if (!dec.ok()) {
    fx.count("frames_rejected");
    return;
  }
  if (!asks_.empty() && lookup_reply(from, dec.msg, fx))
    return;
  std::visit(
    [&](auto& m) {
      using M = std::decay_t<decltype(m)>;
      if constexpr (std::is_same_v<M, meta_req> || std::is_same_v<M, content_req>) {
        fx.count("frames_rejected"); // requests never come to this port (decode checks)
      } else {
        auto it = route(from, m.req_id, fx);
        if (it == downloads_.end())
          return;
        if constexpr (std::is_same_v<M, meta_ok>) {
          on_meta_ok(ctx, it, m, fx);
        } else if constexpr (std::is_same_v<M, meta_err>) {
          if (m.code == error_code::not_provider)
            it->second.refused.insert(from);
          next_provider(ctx, it, std::string("META_ERR ") + code_name(m.code) + ": " + m.text, fx);
        } else if constexpr (std::is_same_v<M, content_chunk>) {
          on_chunk(ctx, it, m, fx);
        } else if constexpr (std::is_same_v<M, content_end>) {
          on_end(ctx, it, m, fx);
        } else if constexpr (std::is_same_v<M, content_err>) {
          if (m.code == error_code::not_provider)
            it->second.refused.insert(from);
          next_provider(ctx, it, std::string("CONTENT_ERR ") + code_name(m.code) + ": " + m.text,
                        fx);
        }
      }
    },
    dec.msg);
}

void downloader::reply(context&, port_t from, const event& e, effects&) {
  if (from == ports::payer && e.kind == "command_failed")
    no_payer_ = true;
}

void downloader::report_purchase(const download& d, std::uint64_t offset, std::uint64_t length,
                                 effects& fx) {
  if (no_payer_)
    return;
  purchase_report r{d.id, d.provider(), d.hash, d.price, d.size, d.max_price, offset, length};
  fx.ask(ports::payer, peerlab::command(local_command_id(ports::file_downloader, next_report_++),
                                        purchase_reports{r}));
}

void downloader::progress(context& ctx, download& d) {
  d.last_progress = d.last_heard = ctx.now;
  d.progressed = true;
  d.backoff = 0;
}

void downloader::on_meta_ok(context& ctx, dl_iter it, const meta_ok& m, effects& fx) {
  download& d = it->second;
  if (m.req_id != d.meta_req_id)
    return; // a reply to an earlier META_REQ of this download: already handled
  routes_.erase(d.meta_req_id);
  d.meta_req_id = 0;
  sample_rtt(d, ctx.now - d.meta_sent_at);
  if (m.size > limits::file_bytes_max)
    return next_provider(ctx, it, "metadata size " + std::to_string(m.size) + " exceeds the limit",
                         fx);
  if (m.size > limits::file_bytes_max || m.price > d.max_price)
    d.refused.insert(d.provider()); // it will answer the same next round
  if (m.price > d.max_price)
    return next_provider(
      ctx, it,
      "price " + std::to_string(m.price) + " above max_price " + std::to_string(d.max_price), fx);
  if (d.sink != 0 && d.size != m.size) {
    // A resumed partial of another size: the provider's metadata wins.
    fx.count("filexfer.resume_rejected");
    forget_verified(ctx, d);
  }
  if (d.sink == 0)
    d.sink = ctx.content.open_sink(d.hash, m.name, m.size);
  if (d.sink == 0)
    return fail(ctx, it, "could not open a sink in the content store", fx);
  d.have_meta = true;
  d.name = m.name;
  d.price = m.price;
  d.size = m.size;
  save_partial(ctx, d);
  // Restarts the idle clock, but is not "progress" that renews a provider's
  // tries: a provider that only ever answers metadata must run out of them.
  d.last_progress = d.last_heard = ctx.now;
  if (d.price > 0) {
    report_purchase(d, 0, 0, fx);
    // The payer judges bills against the bytes reported to it: a prefix
    // that arrived before a crash is reported again, or a bill for the whole
    // file would wait forever for bytes that are already here.
    if (d.resumed_unreported > 0)
      report_purchase(d, 0, d.resumed_unreported, fx);
    d.resumed_unreported = 0;
    fx.emit(
      event{"purchase_ordered",
            0,
            {{"hash", to_hex(d.hash)},
             {"provider", std::to_string(d.provider())},
             {"download", std::to_string(d.id)}},
            {{"price", static_cast<double>(d.price)}, {"size", static_cast<double>(d.size)}}});
  }
  if (d.size == 0)
    return finish(ctx, it, fx);
  fill_windows(ctx, d, fx);
  arm_timer(ctx, d, fx); // the measured round trip may call for an earlier timeout
}

void downloader::on_chunk(context& ctx, dl_iter it, const content_chunk& c, effects& fx) {
  download& d = it->second;
  auto w = d.windows.find(c.req_id);
  if (w == d.windows.end())
    return; // the metadata request id: not a content request
  std::uint64_t b = c.offset, e = c.offset + c.data.size();
  if (b < w->second.begin || e > w->second.end) {
    fx.count("filexfer.chunks_out_of_window");
    return;
  }
  if (!w->second.sampled) {
    // Request to first chunk; every request has its own id, so the sample is
    // never confused by a re-request (Karn's problem does not arise).
    w->second.sampled = true;
    sample_rtt(d, ctx.now - w->second.sent_at);
  }
  w->second.high = std::max(w->second.high, e);
  w->second.arrival_mark = ++d.arrivals;
  ++w->second.arrivals;
  if (d.timed_out_at >= 0) {
    if (w->second.sent_at < d.timed_out_at)
      on_late_chunk(d, ctx.now - d.last_heard, fx);
    d.timed_out_at = -1; // judged: by this chunk, sent before or after the timeout
  }
  d.ref = c.ref;
  // Write only bytes not yet received: what was hashed must stay what is stored.
  std::uint64_t fresh = 0;
  for (auto [gb, ge] : d.received.missing(b, e)) {
    byte_view piece{c.data.data() + (gb - b), static_cast<std::size_t>(ge - gb)};
    if (!ctx.content.write(d.sink, gb, piece))
      return fail(ctx, it, "write to the sink failed", fx);
    d.received.add(gb, ge);
    fresh += ge - gb;
    if (gb == d.hashed) { // in order: hash straight from the frame
      d.hasher.update(piece);
      d.hashed = ge;
    }
  }
  if (fresh == 0) {
    fx.count("filexfer.duplicate_chunks");
    return;
  }
  fx.count("filexfer.bytes_received", static_cast<double>(fresh));
  if (d.price > 0)
    report_purchase(d, b, e - b, fx);
  progress(ctx, d);
  if (!advance_hash(ctx, d))
    return fail(ctx, it, "reading back the sink failed", fx);
  if (d.received.covers(0, d.size))
    return finish(ctx, it, fx);
  maybe_checkpoint(ctx, d);
  detect_gap(ctx, d, w->second, fx);
  detect_stalled(ctx, d, w->second, fx);
  retire_covered(d); // this window, or an overlapping one the fresh bytes completed
  fill_windows(ctx, d, fx);
  arm_timer(ctx, d, fx);
}

void downloader::detect_gap(context& ctx, download& d, window& w, effects& fx) {
  // A provider sends a window in order. Data `reorder_chunks` chunks beyond a
  // hole means the hole was lost (on FIFO links) or is late (on a reordering
  // network: then the re-request only costs bandwidth; the window still
  // accepts the late chunk and whichever copy arrives first is kept).
  if (w.ended || w.generation >= cfg_.fast_retries)
    return;
  std::uint64_t slack = std::uint64_t{bounds::reorder_chunks} * w.chunk;
  if (w.high < w.begin + slack || w.high - slack <= w.delegated)
    return;
  std::uint64_t limit = w.high - slack;
  if (!d.received.covers(limit - 1, limit))
    limit = std::min(w.high, d.received.next_start_after(limit - 1)); // the whole hole
  if (d.received.covers(w.delegated, limit)) {
    w.delegated = limit;
    return;
  }
  fx.count("filexfer.gap_rerequests");
  w.delegated = rerequest_holes(ctx, d, w.delegated, limit,
                                static_cast<std::uint8_t>(w.generation + 1), false, fx);
}

void downloader::detect_stalled(context& ctx, download& d, window& w, effects& fx) {
  // A provider serves its uploads round-robin in the order the requests
  // arrived: once it has w's request, every round sends a chunk of each older
  // upload that has bytes left before the next chunk of w. So when w has had
  // `reorder_chunks` chunks (or all of its chunks, if fewer), an older window
  // that received nothing since w was requested has stalled: its request, or
  // the rest of its stream and its CONTENT_END, were lost. Its holes are asked
  // again (the provider drops what it might still be sending of them).
  // Checked once per window.
  std::uint64_t len = w.end - w.begin;
  std::uint64_t chunks = w.chunk == 0 ? 1 : (len + w.chunk - 1) / w.chunk;
  if (w.overtook || w.arrivals < std::min<std::uint64_t>(bounds::reorder_chunks, chunks))
    return;
  w.overtook = true;
  // Windows inserted below are newer than w: the loop skips them.
  for (auto& [_, v] : d.windows) {
    if (v.seq >= w.seq || v.ended || v.arrival_mark > w.sent_mark ||
        v.generation >= cfg_.fast_retries)
      continue;
    fx.count("filexfer.stall_rerequests");
    v.ended = true; // superseded: late chunks are still taken
    v.delegated = rerequest_holes(ctx, d, v.delegated, v.end,
                                  static_cast<std::uint8_t>(v.generation + 1), false, fx);
  }
}

void downloader::on_late_chunk(download& d, time_us gap, effects& fx) {
  // Data requested before the timeout came after it: the provider was slow,
  // not silent (e.g. its upload link is queued up behind other downloads).
  // Like Eifel (RFC 4015), adapt so that the next timeout waits at least
  // twice the gap just seen, and give the attempt back.
  fx.count("filexfer.spurious_timeouts");
  time_us half = gap / 2;
  d.srtt = std::max(d.srtt, half);
  d.rttvar = std::max(d.rttvar, half / 2);
  d.has_rtt = true;
  if (d.attempts > 1)
    --d.attempts;
}

void downloader::retire_covered(download& d) {
  for (auto w = d.windows.begin(); w != d.windows.end();) {
    if (d.received.covers(w->second.begin, w->second.end)) {
      routes_.erase(w->first);
      w = d.windows.erase(w);
    } else {
      ++w;
    }
  }
}

bool downloader::advance_hash(context& ctx, download& d) {
  // Data that arrived ahead of the prefix is read back once the gap before it fills.
  bytes buf;
  for (std::uint64_t run_end = d.received.end_of_run(d.hashed); d.hashed < run_end;) {
    auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>(run_end - d.hashed, bounds::hash_readback_bytes));
    buf.clear();
    if (!ctx.content.read_sink(d.sink, d.hashed, n, buf) || buf.size() != n)
      return false;
    d.hasher.update(buf);
    d.hashed += n;
  }
  return true;
}

void downloader::on_end(context& ctx, dl_iter it, const content_end& m, effects& fx) {
  download& d = it->second;
  auto w = d.windows.find(m.req_id);
  if (w == d.windows.end())
    return;
  window& win = w->second;
  std::uint64_t asked = win.end - win.begin;
  if (m.bytes_sent < asked) {
    fx.count("filexfer.truncated");
    return next_provider(ctx, it,
                         "stream ended after " + std::to_string(m.bytes_sent) + " of " +
                           std::to_string(asked) + " bytes",
                         fx);
  }
  bool was_streaming = !win.ended;
  win.ended = true;
  // The whole window was sent, yet bytes are missing: on FIFO links they were
  // lost. Re-request exactly those ranges now (a bounded number of times per
  // range; after that the timeout path takes over). On a reordering network
  // they may still come: the window stays open for them until it is covered.
  if (win.generation < cfg_.fast_retries && !d.received.covers(win.delegated, win.end)) {
    fx.count("filexfer.end_rerequests");
    win.delegated = rerequest_holes(ctx, d, win.delegated, win.end,
                                    static_cast<std::uint8_t>(win.generation + 1), false, fx);
  }
  if (d.received.covers(win.begin, win.end)) {
    routes_.erase(w->first);
    d.windows.erase(w);
  }
  if (was_streaming)
    fill_windows(ctx, d, fx); // its slot is free
}

} // namespace peerlab::filexfer
