#include "protocols/droplog/sender.hpp"

#include "protocols/droplog/compress.hpp"

#include <algorithm>
#include <stdexcept>

namespace peerlab::droplog {

namespace {
constexpr std::uint64_t packet_id_block = 1024; // ids reserved per meta write
} // namespace

sender::sender(const session_config& cfg, state_store& store, session_stats& stats)
    : cfg_(cfg), store_(store), stats_(stats), rtt_(cfg), sizer_(cfg),
      packet_threshold_(cfg.packet_threshold) {}

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

void sender::leave_flight(sent_packet& p, bool requeue) {
  if (!p.in_flight)
    return;
  p.in_flight = false;
  bytes_in_flight_ -= p.size;
  --packets_in_flight_;
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
    leave_flight(p, false);
  }
  // An intact packet means every entry in it reached the receiver's log.
  for (auto seq : p.seqs)
    ack_entry(seq);
}

void sender::declare_lost(sent_packet& p, loss_reason why) {
  leave_flight(p, true);
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
      if (p.lost != loss_reason::none && p.lost != loss_reason::nack) {
        on_spurious_loss(it->first, p);
        sizer_.on_intact(p.size);
      }
      if (p.in_flight) {
        // Packet ids are never reused, so every sample is unambiguous (no
        // Karn's rule needed). Sampling every newly acked packet, not only the
        // largest, matters here: files are reordered so much that the largest
        // id received is biased towards the fastest deliveries. The peer's
        // hold time is known only for the largest; for the others it stays in
        // the sample (at most about max_ack_delay, an overestimate).
        const bool largest = it->first == c.largest_packet;
        rtt_.sample(
          now - p.sent_at,
          largest ? static_cast<time_us>(std::min<std::uint64_t>(c.ack_delay_us, 1ull << 40)) : 0);
        ++stats_.rtt_samples;
      }
      ack_packet(it->first, p);
      progress = true;
    }
    if (r.last < next_packet_id_)
      largest_acked_ = std::max(largest_acked_, r.last);
  }
  if (progress)
    rtt_.on_progress();

  for (auto id : c.nacks) {
    auto it = sent_.find(id);
    if (it == sent_.end() || !it->second.in_flight)
      continue; // already handled: NACKs are repeated on purpose
    ++stats_.nacks_received;
    sizer_.on_truncated(it->second.sent_at, now);
    declare_lost(it->second, loss_reason::nack);
    events.push_back({event_kind::nack_received, id, "peer could not read the whole packet"});
  }
  if (cfg_.timeouts == timeout_mode::adaptive)
    detect_losses(now, events);
  retire_packets();
}

void sender::detect_losses(time_us now, std::vector<session_event>& events) {
  const time_us delay = rtt_.loss_delay(reorder_steps_);
  std::uint64_t lost = 0;
  for (auto it = sent_.begin(); it != sent_.end() && it->first < largest_acked_; ++it) {
    auto& p = it->second;
    if (!p.in_flight)
      continue;
    if (largest_acked_ >= it->first + packet_threshold_) {
      declare_lost(p, loss_reason::packet_threshold);
      ++lost;
    } else if (p.sent_at + delay <= now) {
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
  const time_us timeout = rtt_.timeout();
  bool expired = false;
  std::uint64_t lost = 0;
  for (auto& [id, p] : sent_) {
    if (p.in_flight && p.sent_at + timeout <= now) {
      expired = true;
      declare_lost(p, loss_reason::timeout);
      ++lost;
    }
  }
  if (expired) {
    ++stats_.timeouts;
    rtt_.on_timeout();
    events.push_back({event_kind::timeout, 0,
                      std::to_string(lost) + " packets after " + std::to_string(timeout) + " us"});
  }
  retire_packets();
}

time_us sender::next_timer() const {
  time_us t = never;
  const time_us timeout = rtt_.timeout();
  const time_us delay = rtt_.loss_delay(reorder_steps_);
  const bool adaptive = cfg_.timeouts == timeout_mode::adaptive;
  for (auto& [id, p] : sent_) {
    if (!p.in_flight)
      continue;
    t = std::min(t, p.sent_at + timeout);
    if (adaptive && id < largest_acked_)
      t = std::min(t, p.sent_at + delay);
  }
  return t;
}

void sender::retire_packets() {
  for (auto it = sent_.begin(); it != sent_.end();) {
    auto& p = it->second;
    bool all_acked = std::none_of(p.seqs.begin(), p.seqs.end(),
                                  [&](std::uint64_t s) { return outbox_.count(s) > 0; });
    if (p.in_flight && all_acked && !p.seqs.empty())
      leave_flight(p, false); // delivered through other packets: nothing to wait for
    // Every packet carries the whole current control state, so an ack-only
    // packet is stale once a later packet of ours has arrived.
    bool done = p.acked || (!p.in_flight && !p.seqs.empty() && all_acked) ||
                (p.seqs.empty() && it->first < largest_acked_);
    if (done) {
      deletable_.push_back({folder_side::outgoing, it->first});
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
    deletable_.push_back({folder_side::outgoing, it->first});
    it = sent_.erase(it);
  }
}

bool sender::can_send() const {
  if (send_queue_.empty())
    return false;
  if (*send_queue_.begin() >= peer_cum_ack_ + cfg_.window_entries)
    return false;
  if (packets_in_flight_ >= cfg_.max_inflight_packets ||
      bytes_in_flight_ >= cfg_.max_inflight_bytes)
    return false;
  return sent_.size() < cfg_.max_tracked_packets;
}

std::uint64_t sender::sendable_bytes(std::uint64_t limit) const {
  std::uint64_t sum = 0;
  const std::uint64_t window_end = peer_cum_ack_ + cfg_.window_entries;
  for (auto it = send_queue_.begin(); it != send_queue_.end() && *it < window_end && sum < limit;
       ++it)
    sum += frame_size(outbox_.at(*it).frame.payload.size());
  return sum;
}

std::vector<const message_frame*> sender::take_batch(std::uint64_t budget) {
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
