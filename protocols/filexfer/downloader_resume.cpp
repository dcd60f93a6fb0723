// Crash recovery of the downloader: the PartialDownloads table, resuming its
// downloads at start (after re-hashing the verified prefix of each partial
// file), and the retry rounds of a download whose providers all failed.
// Policy: docs/protocols/filexfer.md "Resume and retry".
#include "protocols/filexfer/downloader.hpp"
#include "protocols/filexfer/tables.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/stable_hash.hpp"

#include <algorithm>

namespace peerlab::filexfer {

namespace {

bytes pack_peers(const std::vector<peer_id>& peers) {
  bytes out;
  out.reserve(peers.size() * 8);
  for (auto p : peers)
    for (int k = 0; k < 8; ++k)
      out.push_back(static_cast<std::uint8_t>(p >> (8 * k)));
  return out;
}

std::optional<std::vector<peer_id>> unpack_peers(const bytes& in) {
  if (in.empty() || in.size() % 8 != 0 || in.size() / 8 > limits::providers_per_download_max)
    return std::nullopt;
  std::vector<peer_id> out;
  for (std::size_t i = 0; i < in.size(); i += 8) {
    peer_id p = 0;
    for (int k = 0; k < 8; ++k)
      p |= static_cast<peer_id>(in[i + k]) << (8 * k);
    out.push_back(p);
  }
  return out;
}

} // namespace

// ---- the PartialDownloads row ---------------------------------------------

void downloader::save_partial(context& ctx, const download& d) {
  bytes verified_sha;
  if (d.checkpointed > 0)
    verified_sha.assign(d.checkpoint_digest.begin(), d.checkpoint_digest.end());
  // The table holds at most active_downloads_max rows, as many as downloads
  // can run: a put cannot be refused for room.
  ctx.store.put(partial_downloads_table(),
                {cell_digest(d.hash), cell_u64(d.id), pack_peers(d.providers),
                 cell_u64(d.provider_index), cell_u64(d.max_price), d.name, cell_u64(d.size),
                 cell_u64(d.price), cell_u64(d.checkpointed), std::move(verified_sha)});
}

void downloader::erase_partial(context& ctx, const download& d) {
  ctx.store.erase(partial_downloads_table(), {cell_digest(d.hash)});
}

void downloader::maybe_checkpoint(context& ctx, download& d) {
  if (cfg_.checkpoint_bytes == 0 || d.hashed < d.checkpointed + cfg_.checkpoint_bytes)
    return;
  // The bytes must be in the file before a row claims them; the row store
  // may write later than this (write-behind), never earlier.
  if (!ctx.content.flush_sink(d.sink))
    return; // the next write fails the download
  d.checkpointed = d.hashed;
  d.checkpoint_digest = d.hasher.peek();
  save_partial(ctx, d);
}

// ---- resuming at start ----------------------------------------------------

void downloader::resume_all(context& ctx, effects& fx) {
  std::vector<row> rows;
  ctx.store.scan(partial_downloads_table(), {}, [&](const row& r) { rows.push_back(r); });
  for (auto& r : rows)
    resume_one(ctx, r, fx);
}

void downloader::resume_one(context& ctx, const row& r, effects& fx) {
  digest hash = r.hash(0);
  auto providers = unpack_peers(r.blob(2));
  const bytes& sha = r.blob(9);
  std::uint64_t verified = r.u64(8), size = r.u64(6);
  bool sane = providers && verified <= size && size <= limits::file_bytes_max &&
              (verified == 0 || sha.size() == 32);
  if (!sane || downloads_.size() >= limits::active_downloads_max) {
    fx.count("filexfer.resume_rows_invalid");
    ctx.store.erase(partial_downloads_table(), {cell_digest(hash)});
    return;
  }
  if (ctx.content.stat(hash)) { // committed before the crash removed the row
    ctx.store.erase(partial_downloads_table(), {cell_digest(hash)});
    return;
  }
  std::uint64_t key = next_key_++ & key_mask;
  auto it = downloads_.try_emplace(key).first;
  download& d = it->second;
  d.key = key;
  d.hash = hash;
  d.id = r.u64(1); // the same purchase for the payer: nothing is ordered twice
  d.providers = std::move(*providers);
  d.provider_index = r.u64(3) < d.providers.size() ? r.u64(3) : 0;
  d.max_price = r.u64(4);
  d.name = r.text(5);
  d.size = size;
  d.price = r.u64(7);
  d.started = ctx.now;
  d.retry_delay = cfg_.retry_initial;
  fx.count("filexfer.downloads_resumed");
  fx.emit(event{"download_resumed",
                0,
                {{"hash", to_hex(d.hash)}},
                {{"providers", static_cast<double>(d.providers.size())},
                 {"partial_bytes", static_cast<double>(verified)}}});
  if (verified > 0)
    d.sink = ctx.content.resume_sink(d.hash, d.name, d.size);
  if (d.sink == 0) {
    if (verified > 0)
      fx.count("filexfer.resume_rejected"); // the partial file is gone
    d.size = 0;
    return begin_attempt(ctx, it, fx);
  }
  d.verifying = true;
  d.verify_target = verified;
  std::copy(sha.begin(), sha.end(), d.checkpoint_digest.begin());
  arm_fixed(d, 0, fx);
}

void downloader::verify_step(context& ctx, dl_iter it, effects& fx) {
  download& d = it->second;
  std::uint64_t stop =
    std::min<std::uint64_t>(d.verify_target, d.hashed + bounds::resume_verify_step_bytes);
  bytes buf;
  while (d.hashed < stop) {
    auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>(stop - d.hashed, bounds::hash_readback_bytes));
    buf.clear();
    if (!ctx.content.read_sink(d.sink, d.hashed, n, buf) || buf.size() != n) {
      fx.count("filexfer.resume_rejected");
      forget_verified(ctx, d);
      return begin_attempt(ctx, it, fx);
    }
    d.hasher.update(buf);
    d.hashed += n;
  }
  if (d.hashed < d.verify_target)
    return arm_fixed(d, 0, fx);
  d.verifying = false;
  if (d.hasher.peek() != d.checkpoint_digest) {
    fx.count("filexfer.resume_rejected"); // the file changed since the checkpoint
    forget_verified(ctx, d);
    d.size = 0;
  } else {
    d.received.add(0, d.hashed);
    d.checkpointed = d.hashed;
    d.resumed_unreported = d.hashed;
    fx.count("filexfer.resume_verified_bytes", static_cast<double>(d.hashed));
  }
  begin_attempt(ctx, it, fx);
}

void downloader::forget_verified(context& ctx, download& d) {
  if (d.sink != 0)
    ctx.content.discard_sink(d.sink);
  d.sink = 0;
  d.received.clear();
  d.hasher.finish(); // resets it
  d.hashed = 0;
  d.checkpointed = 0;
  d.resumed_unreported = 0;
  d.verifying = false;
}

void downloader::arm_fixed(download& d, time_us delay, effects& fx) {
  d.timer_gen = (d.timer_gen + 1) & timer_mask;
  d.timer_armed = true;
  fx.after(delay, token(d));
}

// ---- retry rounds ---------------------------------------------------------

void downloader::retry_or_fail(context& ctx, dl_iter it, const std::string& reason, effects& fx) {
  download& d = it->second;
  if (next_unrefused(d, 0) >= d.providers.size())
    return fail(ctx, it, "every provider refused; last: " + d.last_error, fx); // waiting won't help
  if (cfg_.retry_deadline <= 0 || ctx.now + d.retry_delay - d.started > cfg_.retry_deadline) {
    std::string why = reason;
    if (d.rounds > 0)
      why += " (after " + std::to_string(d.rounds) + " retry rounds)";
    return fail(ctx, it, why, fx);
  }
  // Keep what arrived: the providers fell silent or refused, and the
  // whole-file hash still judges every byte when the download completes.
  forget_provider_state(ctx, d, true);
  d.last_error = reason;
  d.waiting = true;
  fx.count("filexfer.retry_waits");
  fx.emit(event{"download_waiting",
                d.command_id,
                {{"hash", to_hex(d.hash)}, {"reason", reason}},
                {{"round", static_cast<double>(d.rounds + 1)},
                 {"delay_us", static_cast<double>(d.retry_delay)}}});
  arm_fixed(d, d.retry_delay, fx);
  d.retry_delay = std::min(d.retry_delay * 2, cfg_.retry_max);
}

void downloader::retry_round(context& ctx, dl_iter it, effects& fx) {
  download& d = it->second;
  d.waiting = false;
  ++d.rounds;
  d.provider_index = next_unrefused(d, 0); // retry_or_fail waits only if there is one
  d.idle_tries = 0;
  d.attempts = 0;
  fx.count("filexfer.retry_rounds");
  save_partial(ctx, d);
  begin_attempt(ctx, it, fx);
}

std::size_t downloader::next_unrefused(const download& d, std::size_t from) {
  while (from < d.providers.size() && d.refused.count(d.providers[from]) != 0)
    ++from;
  return from;
}

// ---- a command for a resumed download --------------------------------------

void downloader::attach(context& ctx, const peerlab::command& cmd, dl_iter it,
                        const std::vector<peer_id>& providers, effects& fx) {
  download& d = it->second;
  d.command_id = cmd.id;
  // New providers join at the end; the purchase (id, max_price) stays the
  // one the payer was told about before the crash.
  for (auto p : providers)
    if (d.providers.size() < limits::providers_per_download_max &&
        std::find(d.providers.begin(), d.providers.end(), p) == d.providers.end())
      d.providers.push_back(p);
  save_partial(ctx, d);
  fx.count("filexfer.downloads_attached");
  fx.emit(
    event{"download_started",
          cmd.id,
          {{"hash", to_hex(d.hash)}},
          {{"providers", static_cast<double>(d.providers.size())},
           {"resumed", 1},
           {"partial_bytes", static_cast<double>(d.verifying ? d.verify_target : d.hashed)}}});
  if (d.waiting) // whoever asked wants it now, maybe from a new provider
    arm_fixed(d, 0, fx);
}

} // namespace peerlab::filexfer
