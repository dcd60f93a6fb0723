#include "protocols/droplog/receiver.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace peerlab::droplog {

receiver::receiver(const session_config& cfg, state_store& store, session_stats& stats)
    : cfg_(cfg), store_(store), stats_(stats),
      blocks_(cfg.fragment_bytes, max_symbol_bytes(cfg), cfg.max_inflight_bytes,
              cfg.max_tracked_packets),
      seen_(cfg.max_seen_ranges), nacked_(cfg.max_seen_ranges) {}

void receiver::restore(const persisted_meta& meta, std::map<std::uint64_t, message_frame> entries) {
  next_expected_ = meta.next_expected;
  peer_ack_of_ack_ = meta.peer_ack_of_ack;
  for (auto& r : meta.seen)
    seen_.insert(r.first, r.last);
  buffer_ = std::move(entries);
  // Entries below next_expected are the fragments of the message in progress;
  // they must form the chain 0, 1, ... ending just below next_expected.
  for (auto it = buffer_.begin(); it != buffer_.end() && it->first < next_expected_; ++it) {
    const auto& f = it->second;
    if (f.fragment_index != partial_.size() ||
        (!partial_.empty() && buffer_.at(partial_.back()).seq + 1 != f.seq))
      throw std::runtime_error("droplog: stored fragment " + std::to_string(f.seq) +
                               " does not continue the message being reassembled");
    partial_.push_back(f.seq);
    partial_bytes_ += f.payload.size();
  }
  if (!partial_.empty() && partial_.back() + 1 != next_expected_)
    throw std::runtime_error("droplog: stored fragments end before the next expected entry");
}

bool receiver::accept(std::vector<message_frame>& entries, std::vector<delivered_message>& out,
                      std::vector<session_event>& events) {
  bool all_kept = true;
  for (auto& m : entries) {
    if (m.seq < next_expected_ || buffer_.count(m.seq)) {
      ++stats_.entries_duplicate;
      continue;
    }
    if (m.seq >= next_expected_ + cfg_.window_entries) {
      ++stats_.window_drops;
      all_kept = false;
      events.push_back({event_kind::window_overflow, m.seq, "entry above the receive window"});
      continue;
    }
    store_.put_entry(false, m); // persisted before it can be acknowledged
    buffer_.emplace(m.seq, std::move(m));
  }
  drain(out, events);
  return all_kept;
}

void receiver::add_symbols(std::vector<message_frame>& symbols, std::vector<message_frame>& entries,
                           std::vector<session_event>& events) {
  for (auto& s : symbols) {
    const auto id = s.seq;
    std::string why;
    ++stats_.symbols_received;
    switch (blocks_.add(std::move(s), entries, &why)) {
    case block_decoder::outcome::rebuilt:
      ++stats_.blocks_rebuilt;
      break;
    case block_decoder::outcome::malformed:
      events.push_back({event_kind::protocol_error, id, why});
      break;
    case block_decoder::outcome::ignored:
      ++stats_.symbols_surplus;
      break;
    case block_decoder::outcome::kept:
      break;
    }
  }
}

void receiver::drop_partial() {
  for (auto seq : partial_) {
    buffer_.erase(seq);
    store_.erase_entry(false, seq);
  }
  partial_.clear();
  partial_bytes_ = 0;
}

void receiver::drain(std::vector<delivered_message>& out, std::vector<session_event>& events) {
  for (auto it = buffer_.find(next_expected_); it != buffer_.end();
       it = buffer_.find(next_expected_)) {
    const auto& f = it->second;
    const bool continues = partial_.empty()
                             ? f.fragment_index == 0
                             : f.fragment_index == partial_.size() &&
                                 f.fragment_count == buffer_.at(partial_.front()).fragment_count;
    ++next_expected_;
    meta_dirty_ = true;
    if (!continues || partial_bytes_ + f.payload.size() > limits::message_bytes_max) {
      // Only an authenticated but broken sender gets here: drop what cannot form a message.
      events.push_back(
        {event_kind::protocol_error, f.seq, "fragment does not continue its message"});
      drop_partial();
      if (f.fragment_index != 0) {
        store_.erase_entry(false, f.seq);
        buffer_.erase(it);
        continue;
      }
    }
    partial_.push_back(f.seq);
    partial_bytes_ += f.payload.size();
    if (f.fragment_index + 1 < f.fragment_count)
      continue;
    delivered_message d;
    d.id = partial_.front();
    d.data.reserve(partial_bytes_);
    for (auto seq : partial_) {
      auto& p = buffer_.at(seq).payload;
      d.data.insert(d.data.end(), p.begin(), p.end());
    }
    drop_partial();
    ++stats_.messages_delivered;
    stats_.payload_bytes_delivered += d.data.size();
    out.push_back(std::move(d));
  }
}

std::uint32_t receiver::copies(bool nack) const {
  if (!cfg_.adaptive_repeat)
    return nack ? std::max<std::uint32_t>(1, cfg_.nack_repeat) : 1;
  // Smallest k with 1 - rate^k >= 0.99, assuming the channel back to the
  // peer damages files about as often as the one towards us.
  constexpr double target_miss = 0.01;
  std::uint32_t k = 1;
  if (damage_rate_ > target_miss)
    k = static_cast<std::uint32_t>(
      std::ceil(std::log(target_miss) / std::log(std::min(damage_rate_, 0.999))));
  return std::clamp<std::uint32_t>(k, 1, std::max<std::uint32_t>(1, cfg_.nack_repeat));
}

void receiver::schedule_ack(time_us at) {
  if (!ack_pending_ || at < ack_at_)
    ack_at_ = at;
  ack_pending_ = true;
}

void receiver::on_intact(std::uint64_t id, time_us now, bool ack_eliciting, std::uint64_t seq_end) {
  damage_rate_ += (0.0 - damage_rate_) / 16;
  seen_.insert(id);
  meta_dirty_ = true;
  if (id >= largest_at_id_) {
    largest_at_id_ = id;
    largest_at_ = now;
  }
  if (!ack_eliciting) {
    deletable_.push_back({folder_side::incoming, id});
    return;
  }
  schedule_ack(now + cfg_.max_ack_delay);
  tracked_.emplace(id, seq_end);
  release_tracked();
}

void receiver::on_duplicate(std::uint64_t id, time_us now, bool ack_eliciting) {
  ++stats_.packets_duplicate;
  // A repeated data packet may mean our ack was lost: ack again (coalesced).
  if (ack_eliciting)
    schedule_ack(now + cfg_.max_ack_delay);
  if (!tracked_.count(id))
    deletable_.push_back({folder_side::incoming, id});
}

void receiver::on_incomplete(std::uint64_t id, time_us now, bool ack_eliciting,
                             std::uint64_t bytes_read) {
  damage_rate_ += (1.0 - damage_rate_) / 16;
  deletable_.push_back({folder_side::incoming, id});
  if (!ack_eliciting || nacked_.contains(id) || seen_.contains(id))
    return; // never NACK a packet that carries no messages (no NACK of a NACK)
  nacked_.insert(id);
  nacks_.push_back({id, static_cast<std::uint32_t>(std::min<std::uint64_t>(bytes_read, UINT32_MAX)),
                    copies(true)});
  while (nacks_.size() > limits::nacks_max * 4)
    nacks_.pop_front();
  if (!fresh_nack_)
    fresh_nack_at_ = now;
  fresh_nack_ = true;
  ++stats_.nacks_sent;
}

void receiver::on_peer_ack_of_ack(std::uint64_t v) {
  if (v <= peer_ack_of_ack_ || v > next_expected_)
    return; // stale, or claims more than we have received
  peer_ack_of_ack_ = v;
  meta_dirty_ = true;
  release_tracked();
}

void receiver::release_tracked() {
  // A packet whose entries the peer knows we have will never be needed again.
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (it->second <= peer_ack_of_ack_ || tracked_.size() > cfg_.max_tracked_packets) {
      deletable_.push_back({folder_side::incoming, it->first});
      it = tracked_.erase(it);
    } else {
      ++it;
    }
  }
}

time_us receiver::ack_deadline() const {
  time_us t = never;
  if (fresh_nack_)
    t = fresh_nack_at_; // NACK at once: faster than the sender's timeout
  if (ack_pending_)
    t = std::min(t, ack_at_);
  if (!nacks_.empty() || ack_copies_left_ > 0)
    t = std::min(t, repeat_at_);
  return t;
}

control_block receiver::build_control(time_us now, std::uint64_t ack_of_ack) const {
  control_block c;
  c.cumulative_ack = next_expected_;
  c.ack_of_ack = ack_of_ack;
  const std::size_t nranges = std::min(cfg_.ack_ranges, limits::ack_ranges_max);
  for (auto it = buffer_.lower_bound(next_expected_); it != buffer_.end(); ++it) {
    if (!c.message_ranges.empty() && c.message_ranges.back().last + 1 == it->first) {
      c.message_ranges.back().last = it->first;
    } else {
      if (c.message_ranges.size() == nranges)
        break;
      c.message_ranges.push_back({it->first, it->first});
    }
  }
  c.largest_packet = seen_.max();
  if (c.largest_packet != 0 && c.largest_packet == largest_at_id_ && now > largest_at_)
    c.ack_delay_us = static_cast<std::uint64_t>(now - largest_at_);
  c.packet_ranges = seen_.highest(nranges);
  for (auto& n : nacks_) {
    if (c.nacks.size() == std::min(cfg_.nacks_per_packet, limits::nacks_max))
      break;
    c.nacks.push_back({n.id, n.bytes_read});
  }
  c.blocks = blocks_.reports(std::min(cfg_.ack_ranges, limits::block_reports_max));
  c.rebuilt = blocks_.rebuilt_ranges(nranges);
  // Ids beyond 2^49 could make the varints outgrow what validate() allowed
  // for: shed reports, then ranges, until it fits.
  const auto bound = control_bytes_bound(cfg_) + tag_bytes;
  auto shed = [&] {
    for (auto* v : {&c.rebuilt, &c.packet_ranges, &c.message_ranges})
      if (!v->empty()) {
        v->pop_back();
        return true;
      }
    if (!c.blocks.empty()) {
      c.blocks.pop_back();
      return true;
    }
    if (c.nacks.empty())
      return false;
    c.nacks.pop_back();
    return true;
  };
  while (control_size(c) > bound && shed()) {
  }
  return c;
}

void receiver::on_control_sent(const control_block& c, time_us now) {
  if (ack_pending_)
    ack_copies_left_ = copies(false) - 1; // a new ack: owe its repeats
  else if (ack_copies_left_ > 0)
    --ack_copies_left_;
  ack_pending_ = false;
  fresh_nack_ = false;
  // build_control took the first c.nacks.size() pending NACKs.
  for (std::size_t i = 0; i < c.nacks.size() && i < nacks_.size(); ++i)
    --nacks_[i].remaining;
  std::erase_if(nacks_, [](const pending_nack& n) { return n.remaining == 0; });
  // Repeats ride in later packets; when none are written, ack-only packets
  // carry them at nack_interval: at most nack_repeat per NACK, never NACKed.
  repeat_at_ = nacks_.empty() && ack_copies_left_ == 0 ? never : now + cfg_.nack_interval;
}

std::vector<deletable_packet> receiver::take_deletable() {
  std::vector<deletable_packet> out;
  out.swap(deletable_);
  return out;
}

} // namespace peerlab::droplog
