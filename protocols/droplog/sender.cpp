#include "protocols/droplog/sender.hpp"

#include "protocols/droplog/block_stream.hpp"
#include "protocols/droplog/compress.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace peerlab::droplog {

namespace {
constexpr std::uint64_t packet_id_block = 1024; // ids reserved per meta write
} // namespace

sender::sender(const session_config& cfg, state_store& store, session_stats& stats)
    : cfg_(cfg), store_(store), stats_(stats), rtt_(cfg), size_rtt_(cfg.rtt_fit_window),
      sizer_(cfg), coder_(cfg_), packet_threshold_(cfg.packet_threshold) {}

void sender::restore(const persisted_meta& meta, std::map<std::uint64_t, message_frame> entries) {
  next_seq_ = meta.next_seq;
  next_packet_id_ = reserved_ = std::max<std::uint64_t>(1, meta.packet_ids_reserved);
  peer_cum_ack_ = meta.peer_cumulative_ack;
  for (auto& [seq, f] : entries) {
    if (seq >= next_seq_)
      throw std::runtime_error("droplog: stored outbox entry " + std::to_string(seq) +
                               " is beyond the stored next sequence number");
    outbox_bytes_ += f.payload.size();
    send_queue_.insert(seq);
    outbox_.emplace(seq, tx_entry{std::move(f), 0, 1});
  }
}

std::optional<std::uint64_t> sender::submit(byte_view message, std::string* why) {
  auto fail = [&](std::string text) -> std::optional<std::uint64_t> {
    if (why)
      *why = std::move(text);
    return std::nullopt;
  };
  if (message.size() > limits::message_bytes_max)
    return fail("message of " + std::to_string(message.size()) + " bytes exceeds the limit");
  const std::uint64_t frag = cfg_.fragment_bytes;
  const std::uint64_t count = std::max<std::uint64_t>(1, (message.size() + frag - 1) / frag);
  if (count > limits::fragments_per_message_max)
    return fail("message needs " + std::to_string(count) + " fragments");
  if (outbox_.size() + count > cfg_.max_outbox_entries)
    return fail("outbox full: " + std::to_string(outbox_.size()) + " entries waiting");
  if (outbox_bytes_ + message.size() > cfg_.max_outbox_bytes)
    return fail("outbox full: " + std::to_string(outbox_bytes_) + " bytes waiting");

  const std::uint64_t first = next_seq_;
  for (std::uint64_t i = 0; i < count; ++i) {
    message_frame f;
    f.seq = next_seq_++;
    f.fragment_index = static_cast<std::uint32_t>(i);
    f.fragment_count = static_cast<std::uint32_t>(count);
    auto slice =
      message.subspan(i * frag, std::min<std::uint64_t>(frag, message.size() - i * frag));
    std::optional<bytes> packed;
    if (cfg_.compress)
      packed = compress_fragment(slice);
    if (packed) {
      f.payload = std::move(*packed);
      f.flags = message_flags::compressed;
    } else {
      f.payload.assign(slice.begin(), slice.end());
    }
    add_entry(std::move(f));
  }
  meta_dirty_ = true;
  ++stats_.messages_submitted;
  stats_.payload_bytes_submitted += message.size();
  return first;
}

void sender::add_entry(message_frame f) {
  store_.put_entry(true, f);
  outbox_bytes_ += f.payload.size();
  send_queue_.insert(f.seq);
  auto seq = f.seq;
  outbox_.emplace(seq, tx_entry{std::move(f), 0, 0});
}

void sender::ack_entry(std::uint64_t seq) {
  auto it = outbox_.find(seq);
  if (it == outbox_.end())
    return;
  outbox_bytes_ -= it->second.frame.payload.size();
  outbox_.erase(it);
  send_queue_.erase(seq);
  store_.erase_entry(true, seq);
}

void sender::leave_flight(sent_packet& p, bool requeue, std::uint64_t bytes_read) {
  if (!p.in_flight)
    return;
  p.in_flight = false;
  bytes_in_flight_ -= p.size;
  --packets_in_flight_;
  coder_.left_flight(p.symbols, bytes_read);
  for (auto seq : p.seqs) {
    auto it = outbox_.find(seq);
    if (it == outbox_.end())
      continue;
    if (it->second.in_flight > 0)
      --it->second.in_flight;
    if (requeue && it->second.in_flight == 0)
      send_queue_.insert(seq);
  }
}

void sender::ack_packet(std::uint64_t, sent_packet& p) {
  p.acked = true;
  if (p.in_flight) {
    sizer_.on_intact(p.size);
    leave_flight(p, false, p.size);
  }
  // An intact packet means every entry in it reached the receiver's log.
  for (auto seq : p.seqs)
    ack_entry(seq);
}

void sender::declare_lost(sent_packet& p, loss_reason why, std::uint64_t bytes_read) {
  leave_flight(p, true, bytes_read);
  p.lost = why;
  p.lost_at_largest = largest_acked_;
  ++stats_.packets_lost;
}

void sender::on_spurious_loss(std::uint64_t id, const sent_packet& p) {
  // The packet arrived after all: the channel reorders more than we assumed.
  ++stats_.spurious_losses;
  if (p.lost == loss_reason::packet_threshold && p.lost_at_largest >= id)
    packet_threshold_ = std::min<std::uint64_t>(
      cfg_.max_packet_threshold, std::max(packet_threshold_, p.lost_at_largest - id + 1));
  else if (p.lost == loss_reason::time_threshold && reorder_steps_ < cfg_.max_reorder_steps)
    ++reorder_steps_;
}

void sender::on_control(time_us now, const control_block& c, std::vector<session_event>& events) {
  bool progress = false;
  const bool fresh_reports = cfg_.erasure_coding && c.largest_packet >= reports_largest_;
  if (fresh_reports)
    coder_.set_reported(c.blocks, c.rebuilt);
  // Never believe acks for seqs we have not assigned yet.
  const std::uint64_t cum = std::min(c.cumulative_ack, next_seq_);
  if (cum > peer_cum_ack_) {
    peer_cum_ack_ = cum;
    meta_dirty_ = true;
  }
  while (!outbox_.empty() && outbox_.begin()->first < cum) {
    ack_entry(outbox_.begin()->first);
    progress = true;
  }
  for (auto& r : c.message_ranges)
    for (auto it = outbox_.lower_bound(r.first); it != outbox_.end() && it->first <= r.last;) {
      auto seq = it->first;
      ++it;
      ack_entry(seq);
      progress = true;
    }

  for (auto& r : c.packet_ranges) {
    for (auto it = sent_.lower_bound(r.first); it != sent_.end() && it->first <= r.last; ++it) {
      auto& p = it->second;
      if (p.acked)
        continue;
      answered_sent_at_ = std::max(answered_sent_at_, p.sent_at);
      if (p.lost != loss_reason::none && p.lost != loss_reason::nack) {
        on_spurious_loss(it->first, p);
        sizer_.on_intact(p.size);
      }
      if (p.in_flight) {
        on_survival(1.0);
        model_.observe(p.size, p.size, true);
      }
      const bool largest = it->first == c.largest_packet;
      const time_us hold =
        largest ? static_cast<time_us>(std::min<std::uint64_t>(c.ack_delay_us, 1ull << 40)) : 0;
      if (p.in_flight) {
        // Packet ids are never reused, so every sample is unambiguous (no
        // Karn's rule needed). Sampling every newly acked packet, not only the
        // largest, matters here: files are reordered so much that the largest
        // id received is biased towards the fastest deliveries. The peer's
        // hold time is known only for the largest; for the others it stays in
        // the sample (at most about max_ack_delay, an overestimate).
        rtt_.sample(now - p.sent_at, hold);
        ++stats_.rtt_samples;
      }
      // The size fit also takes data packets acked after they were declared
      // lost: without them it would see only the faster files of each size,
      // and large slow files would keep timing out.
      if (p.in_flight) {
        sample_fit(p.size, rtt_.latest_adjusted());
      } else if (p.lost != loss_reason::none && p.lost != loss_reason::nack && !p.late_sampled) {
        sample_late(now, p.sent_at, p.size, hold);
      }
      ack_packet(it->first, p);
      progress = true;
    }
    for (auto it = timed_out_.lower_bound(r.first);
         it != timed_out_.end() && it->first <= r.last;) {
      sample_late(now, it->second.sent_at, it->second.size, 0);
      it = timed_out_.erase(it);
    }
    if (r.last < next_packet_id_)
      largest_acked_ = std::max(largest_acked_, r.last);
  }
  if (progress)
    rtt_.on_progress();

  for (auto& n : c.nacks) {
    const auto id = n.id;
    auto it = sent_.find(id);
    // A NACK is a round trip for the size fit: most large files are cut, and
    // without their samples the fit never sees large sizes.
    if (it == sent_.end()) {
      if (auto late = timed_out_.find(id); late != timed_out_.end()) {
        sample_late(now, late->second.sent_at, late->second.size, 0);
        timed_out_.erase(late);
      }
      continue;
    }
    auto& p = it->second;
    if (!p.in_flight) {
      if (p.lost != loss_reason::none && p.lost != loss_reason::nack && !p.late_sampled) {
        sample_late(now, p.sent_at, p.size, 0);
        p.late_sampled = true;
      }
      continue; // already handled: NACKs are repeated on purpose
    }
    answered_sent_at_ = std::max(answered_sent_at_, p.sent_at);
    // Only for the size fit: the first copy of a NACK to arrive may be a
    // repeat sent nack_interval after the first, so in srtt and rttvar it
    // would stretch every small packet's timeout.
    sample_fit(p.size, now - p.sent_at);
    ++stats_.nacks_received;
    on_survival(std::min(1.0, static_cast<double>(n.bytes_read) /
                                static_cast<double>(std::max<std::uint64_t>(1, it->second.size))));
    // Read to the end with frames skipped for rot: not a cut.
    model_.observe(it->second.size, n.bytes_read, n.bytes_read >= it->second.size);
    sizer_.on_truncated(it->second.sent_at, now);
    declare_lost(it->second, loss_reason::nack, n.bytes_read);
    events.push_back({event_kind::nack_received, id, "peer could not read the whole packet"});
  }
  if (cfg_.timeouts == timeout_mode::adaptive)
    detect_losses(now, events);
  if (cfg_.erasure_coding && c.largest_packet >= reports_largest_) {
    // Reports are a snapshot: only one at least as fresh as the last is used.
    reports_largest_ = c.largest_packet;
    coder_.on_reports(c.blocks, c.rebuilt);
  }
  if (fresh_reports)
    coder_.set_reported({}, {});
  after_coded_feedback();
  retire_packets();
}

void sender::sample_late(time_us now, time_us sent_at, std::uint64_t size, time_us hold) {
  const time_us rtt = now - sent_at;
  sample_fit(size, rtt >= rtt_.min_rtt() + hold ? rtt - hold : rtt);
}

void sender::sample_fit(std::uint64_t size, time_us rtt) {
  size_rtt_.sample(size, rtt);
  largest_sampled_ = std::max(largest_sampled_, size);
}

void sender::forget_packet(std::uint64_t id, const sent_packet& p) {
  deletable_.push_back({folder_side::outgoing, id});
  // Coded packets only: an uncoded one stays in sent_ until answered.
  if (!p.coded || p.acked || p.lost == loss_reason::none || p.lost == loss_reason::nack ||
      p.late_sampled)
    return;
  timed_out_[id] = {p.sent_at, p.size};
  if (timed_out_.size() > timed_out_max)
    timed_out_.erase(timed_out_.begin());
}

void sender::on_survival(double share) { survival_ += (share - survival_) / 16; }

void sender::after_coded_feedback() {
  if (!cfg_.erasure_coding)
    return;
  coder_.retire([&](std::uint64_t seq) { return outbox_.count(seq) > 0; });
  // A block out of parity indices: its entries start over in new blocks.
  for (auto seq : coder_.take_exhausted())
    if (outbox_.count(seq))
      send_queue_.insert(seq);
}

time_us sender::timeout_for(std::uint64_t size) const {
  if (cfg_.size_aware_rtt && size_rtt_.fitted())
    return rtt_.timeout_around(size_rtt_.predict(size), size_rtt_.deviation());
  return rtt_.timeout();
}

time_us sender::loss_delay_for(std::uint64_t size) const {
  // max(srtt, latest) of RFC 9002 along the fitted line: the latest sample's
  // excess over the fit counts at every size.
  if (cfg_.size_aware_rtt && size_rtt_.fitted())
    return rtt_.loss_delay_around(
      size_rtt_.predict(size) + std::max<time_us>(0, size_rtt_.latest_excess()), reorder_steps_);
  return rtt_.loss_delay(reorder_steps_);
}

time_us sender::round_trip_end(time_us sent_at, std::uint64_t size) const {
  if (!cfg_.size_aware_rtt || !size_rtt_.fitted())
    return sent_at;
  return sent_at + size_rtt_.predict(size);
}

void sender::detect_losses(time_us now, std::vector<session_event>& events) {
  std::uint64_t lost = 0;
  for (auto it = sent_.begin(); it != sent_.end() && it->first < largest_acked_; ++it) {
    auto& p = it->second;
    // Coded packets wait for their ack, NACK or timeout: files overtake each
    // other all the time, and a repair sent for one that is merely late is
    // wasted, while one that was cut is NACKed at once.
    if (!p.in_flight || p.coded)
      continue;
    // On a drop channel later small files overtake a large one as a rule:
    // the packet threshold counts only once its size's round trip is over.
    if (largest_acked_ >= it->first + packet_threshold_ &&
        round_trip_end(p.sent_at, p.size) <= now) {
      declare_lost(p, loss_reason::packet_threshold);
      ++lost;
    } else if (p.sent_at + loss_delay_for(p.size) <= now) {
      declare_lost(p, loss_reason::time_threshold);
      ++lost;
    }
  }
  if (lost)
    events.push_back({event_kind::packets_lost, largest_acked_,
                      std::to_string(lost) + " packets below the largest acked"});
}

void sender::on_timers(time_us now, std::vector<session_event>& events) {
  if (cfg_.timeouts == timeout_mode::adaptive)
    detect_losses(now, events);
  // Each packet's own timeout (its size's), all with the same backoff.
  time_us shortest = never, longest = 0;
  std::uint64_t lost = 0;
  bool waited = false;
  const bool adaptive = cfg_.timeouts == timeout_mode::adaptive;
  for (auto& [id, p] : sent_) {
    if (!p.in_flight)
      continue;
    const time_us timeout = timeout_for(p.size);
    if (p.sent_at + timeout <= now) {
      // A coded file larger than any
      // whose round trip we have seen, and than the smallest packet size,
      // may simply be slow, and declaring it
      // lost makes a repair of all it carries. It is lost to the timer once
      // a later packet was answered, or when the timer is fully backed off
      // (the peer's answers may all be lost).
      if (p.coded && adaptive && p.size > std::max(largest_sampled_, cfg_.min_packet_bytes) &&
          p.sent_at >= answered_sent_at_ && rtt_.backoff() < cfg_.max_backoff) {
        waited = true;
        continue;
      }
      shortest = std::min(shortest, timeout);
      longest = std::max(longest, timeout);
      declare_lost(p, loss_reason::timeout);
      ++lost;
    }
  }
  if (waited && !lost)
    rtt_.on_timeout(); // back off and wait
  if (lost) {
    ++stats_.timeouts;
    rtt_.on_timeout();
    events.push_back({event_kind::timeout, 0,
                      std::to_string(lost) + " packets after " + std::to_string(shortest) +
                        (longest > shortest ? ".." + std::to_string(longest) : "") + " us"});
  }
  after_coded_feedback();
  retire_packets();
}

time_us sender::next_timer() const {
  time_us t = never;
  const bool adaptive = cfg_.timeouts == timeout_mode::adaptive;
  for (auto& [id, p] : sent_) {
    if (!p.in_flight)
      continue;
    t = std::min(t, p.sent_at + timeout_for(p.size));
    if (adaptive && id < largest_acked_ && !p.coded) {
      t = std::min(t, p.sent_at + loss_delay_for(p.size));
      // A packet the packet threshold waits for (without a fit it is lost already).
      if (largest_acked_ >= id + packet_threshold_ && round_trip_end(p.sent_at, p.size) > p.sent_at)
        t = std::min(t, round_trip_end(p.sent_at, p.size));
    }
  }
  return t;
}

void sender::retire_packets() {
  for (auto it = sent_.begin(); it != sent_.end();) {
    auto& p = it->second;
    if (p.coded) {
      // In flight until read, cut or lost, or until no block it carries is open.
      const bool open = std::any_of(p.symbols.begin(), p.symbols.end(),
                                    [&](const symbol_ref& r) { return coder_.is_open(r.block); });
      if (!open)
        leave_flight(p, false);
      // Read, cut or lost, its symbols are accounted for (a lost one's by
      // repairs): the record would only count against max_tracked_packets.
      if (p.acked || !p.in_flight) {
        forget_packet(it->first, p);
        it = sent_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    bool all_acked = std::none_of(p.seqs.begin(), p.seqs.end(),
                                  [&](std::uint64_t s) { return outbox_.count(s) > 0; });
    if (p.in_flight && all_acked && !p.seqs.empty())
      leave_flight(p, false); // delivered through other packets: nothing to wait for
    // Every packet carries the whole current control state, so an ack-only
    // packet is stale once a later packet of ours has arrived.
    bool done = p.acked || (!p.in_flight && !p.seqs.empty() && all_acked) ||
                (p.seqs.empty() && it->first < largest_acked_);
    if (done) {
      forget_packet(it->first, p);
      it = sent_.erase(it);
    } else {
      ++it;
    }
  }
  // Bound the records: forget the oldest packets that no longer matter for loss recovery.
  for (auto it = sent_.begin(); sent_.size() > cfg_.max_tracked_packets && it != sent_.end();) {
    if (it->second.in_flight) {
      ++it;
      continue;
    }
    forget_packet(it->first, it->second);
    it = sent_.erase(it);
  }
}

bool sender::can_send() const {
  const bool entries =
    !send_queue_.empty() && *send_queue_.begin() < peer_cum_ack_ + cfg_.window_entries;
  if (!entries && !coder_.has_work())
    return false;
  if (packets_in_flight_ >= cfg_.max_inflight_packets ||
      bytes_in_flight_ >= cfg_.max_inflight_bytes)
    return false;
  return sent_.size() < cfg_.max_tracked_packets;
}

std::uint64_t sender::sendable_bytes(std::uint64_t limit) const {
  std::uint64_t sum = cfg_.erasure_coding ? coder_.wanted_bytes(model_, packet_target()) : 0;
  const std::uint64_t window_end = peer_cum_ack_ + cfg_.window_entries;
  for (auto it = send_queue_.begin(); it != send_queue_.end() && *it < window_end && sum < limit;
       ++it)
    sum += frame_size(outbox_.at(*it).frame.payload.size());
  return sum;
}

std::vector<const message_frame*> sender::take_coded(std::uint64_t budget, std::uint64_t fixed) {
  staged_refs_.clear();
  coder_.begin_packet();
  const std::uint64_t size = fixed + budget;
  auto out = coder_.take(fixed, size, budget, model_, staged_refs_);
  std::uint64_t used = 0;
  for (auto* f : out)
    used += frame_size(f->payload.size());
  const std::uint64_t left = budget > used ? budget - used : 0;
  if (coder_.has_work() || left < frame_overhead + 64 || send_queue_.empty()) {
    finish_coded(out, fixed);
    return out;
  }
  // A new block of the oldest entries: as many as fit into what is left of
  // this packet once the parity for the expected loss is added.
  const std::uint64_t window_end = peer_cum_ack_ + cfg_.window_entries;
  const double share = std::max(0.05, model_.mean_share(size));
  const auto cap = std::min<std::uint64_t>(
    std::max<std::uint64_t>(
      static_cast<std::uint64_t>(static_cast<double>(left) *
                                 std::max(share, 1.0 - cfg_.coding_proactive * (1.0 - share))),
      1),
    std::uint64_t{cfg_.coding_block_entries} * cfg_.fragment_bytes);
  std::vector<const message_frame*> entries;
  std::uint64_t stream = 4;
  for (auto it = send_queue_.begin(); it != send_queue_.end() && *it < window_end;) {
    auto& e = outbox_.at(*it);
    const std::uint64_t bytes = block_entry_size(e.frame);
    if (!entries.empty() && stream + bytes > cap)
      break;
    entries.push_back(&e.frame);
    stream += bytes;
    if (e.times_sent++ > 0)
      ++stats_.entries_retransmitted;
    it = send_queue_.erase(it);
  }
  if (entries.empty()) {
    finish_coded(out, fixed);
    return out;
  }
  stats_.entries_sent += entries.size();
  ++stats_.blocks_opened;
  std::uint32_t copies = 1;
  // Small and alone (no other block open whose traffic could carry repairs
  // soon): a request waiting for its answer, so latency is what counts.
  // Whole copies in separate files until one arrives with 99 %.
  if (stream <= cfg_.small_message_bytes && coder_.open_blocks() == 0) {
    const std::uint64_t small = fixed + frame_size(stream) + frame_overhead;
    const double miss = std::clamp(1.0 - model_.survive(small, small), 0.0, 0.99);
    if (miss > 0.01)
      copies = static_cast<std::uint32_t>(std::ceil(std::log(0.01) / std::log(miss)));
  }
  copies = std::clamp<std::uint32_t>(copies, 1, std::max<std::uint32_t>(1, cfg_.small_copies_max));
  coder_.open(next_packet_id_, entries, size, copies);
  auto more = coder_.take(fixed + used, size, left, model_, staged_refs_);
  out.insert(out.end(), more.begin(), more.end());
  finish_coded(out, fixed);
  return out;
}

void sender::finish_coded(const std::vector<const message_frame*>& frames, std::uint64_t fixed) {
  std::uint64_t size = fixed;
  for (auto* f : frames)
    size += frame_size(f->payload.size());
  coder_.finish_packet(size, model_, staged_refs_);
}

std::uint64_t sender::packet_target() const {
  if (!cfg_.erasure_coding || !cfg_.adaptive_packet_size)
    return sizer_.target();
  // The size with the most expected payload per byte written: what arrives
  // of it, less the header and a typical control block every file carries.
  constexpr double per_file = header_bytes + 256;
  std::uint64_t best = cfg_.max_packet_bytes;
  double best_value = -1;
  for (std::uint64_t s = cfg_.min_packet_bytes;; s = std::min(s * 2, cfg_.max_packet_bytes)) {
    const double value =
      model_.mean_share(s) * std::max(0.0, 1.0 - per_file / static_cast<double>(s));
    if (value > best_value + 1e-9) {
      best_value = value;
      best = s;
    }
    if (s >= cfg_.max_packet_bytes)
      break;
  }
  // Every eighth file tries twice the best size: a larger class is judged
  // by the smaller ones until it has samples of its own, so without trying
  // it the chooser would never learn that larger files do as well.
  if (next_packet_id_ % explore_every == 0)
    best = std::min(best * 2, cfg_.max_packet_bytes);
  return best;
}

std::vector<const message_frame*> sender::take_batch(std::uint64_t budget, std::uint64_t fixed) {
  if (cfg_.erasure_coding)
    return take_coded(budget, fixed);
  std::vector<const message_frame*> out;
  const std::uint64_t window_end = peer_cum_ack_ + cfg_.window_entries;
  for (auto it = send_queue_.begin(); it != send_queue_.end() && *it < window_end;) {
    auto& f = outbox_.at(*it).frame;
    std::uint64_t need = frame_size(f.payload.size());
    if (need > budget && !out.empty())
      break; // keep log order: the oldest entries go first
    out.push_back(&f);
    budget = need > budget ? 0 : budget - need;
    it = send_queue_.erase(it);
  }
  return out;
}

std::uint64_t sender::allocate_packet_id() {
  std::uint64_t id = next_packet_id_++;
  if (next_packet_id_ >= reserved_) {
    reserved_ = next_packet_id_ + packet_id_block;
    meta_dirty_ = true; // saved before the packet leaves the session
  }
  return id;
}

void sender::on_sent(std::uint64_t id, time_us now, std::uint64_t size,
                     const std::vector<const message_frame*>& frames) {
  sent_packet p;
  p.sent_at = now;
  p.size = size;
  p.in_flight = !frames.empty();
  if (cfg_.erasure_coding && !frames.empty()) {
    p.coded = true;
    p.symbols = std::move(staged_refs_);
    staged_refs_.clear();
    stats_.symbols_sent += frames.size();
    stats_.parity_symbols_sent = coder_.parity_sent();
    bytes_in_flight_ += size;
    ++packets_in_flight_;
    sent_.emplace(id, std::move(p));
    return;
  }
  for (auto* f : frames) {
    p.seqs.push_back(f->seq);
    auto& e = outbox_.at(f->seq);
    if (e.times_sent++ > 0)
      ++stats_.entries_retransmitted;
    ++e.in_flight;
  }
  stats_.entries_sent += frames.size();
  if (p.in_flight) {
    bytes_in_flight_ += size;
    ++packets_in_flight_;
  }
  sent_.emplace(id, std::move(p));
}

std::vector<deletable_packet> sender::take_deletable() {
  std::vector<deletable_packet> out;
  out.swap(deletable_);
  return out;
}

} // namespace peerlab::droplog
