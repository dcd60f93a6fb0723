#include "protocols/droplog/session.hpp"

#include <algorithm>
#include <stdexcept>

namespace peerlab::droplog {

namespace {
session_config checked(session_config cfg) {
  if (auto err = validate(cfg); !err.empty())
    throw std::invalid_argument("droplog config: " + err);
  return cfg;
}
} // namespace

session::session(session_config cfg, table_store* store)
    : cfg_(checked(std::move(cfg))), store_(store, cfg_.local, cfg_.remote),
      tx_keys_(cfg_.shared_key, cfg_.local, cfg_.remote),
      rx_keys_(cfg_.shared_key, cfg_.remote, cfg_.local), tx_(cfg_, store_, stats_),
      rx_(cfg_, store_, stats_) {
  auto loaded = store_.load();
  if (loaded.meta) {
    tx_.restore(*loaded.meta, std::move(loaded.tx));
    rx_.restore(*loaded.meta, std::move(loaded.rx));
  } else if (!loaded.tx.empty() || !loaded.rx.empty()) {
    throw std::runtime_error("droplog: stored entries in " + store_.table() +
                             " without a meta row");
  }
}

std::optional<std::uint64_t> session::submit(byte_view message, std::string* why) {
  auto id = tx_.submit(message, why);
  save_meta();
  return id;
}

session::receive_result session::on_packet(time_us now, byte_view data) {
  receive_result res;
  ++stats_.packets_received;
  stats_.bytes_received += data.size();
  auto reject = [&](std::uint64_t id, std::string why) {
    ++stats_.packets_rejected;
    res.events.push_back({event_kind::packet_rejected, id, std::move(why)});
    return std::move(res);
  };
  if (data.size() > cfg_.max_packet_bytes)
    return reject(0, "oversize: " + std::to_string(data.size()) + " bytes");
  if (auto r = peek_route(data); r && (r->sender != cfg_.remote || r->recipient != cfg_.local))
    return reject(r->packet_id, "wrong_pair: addressed from " + std::to_string(r->sender) + " to " +
                                  std::to_string(r->recipient));
  auto dec = decode_packet(data, rx_keys_,
                           {cfg_.max_packet_bytes, cfg_.fragment_bytes, max_symbol_bytes(cfg_)});
  if (dec.error != packet_error::none)
    return reject(0, std::string(to_string(dec.error)) + ": " + dec.detail);
  auto& p = dec.packet;
  const auto id = p.header.packet_id;
  if (((p.header.flags & packet_flags::encrypted) != 0) != cfg_.encrypt)
    return reject(id, "encryption setting differs from this session's");
  if (id == 0)
    return reject(id, "packet id 0 is never used");
  const bool eliciting = p.header.flags & packet_flags::ack_eliciting;

  if (rx_.is_duplicate(id)) {
    rx_.on_duplicate(id, now, eliciting);
    res.events.push_back({event_kind::packet_duplicate, id, "packet id already received"});
    save_meta();
    return res;
  }
  if (p.control) {
    tx_.on_control(now, *p.control, res.events);
    rx_.on_peer_ack_of_ack(p.control->ack_of_ack);
  }
  // Coded symbols go to their blocks; rebuilt blocks join the plain entries.
  std::vector<message_frame> entries, symbols;
  for (auto& m : p.messages)
    (m.flags == message_flags::coded ? symbols : entries).push_back(std::move(m));
  if (!symbols.empty())
    rx_.add_symbols(symbols, entries, res.events);
  std::uint64_t seq_end = 0;
  for (auto& m : entries)
    seq_end = std::max(seq_end, m.seq + 1);
  const bool kept = rx_.accept(entries, res.delivered, res.events);
  if (p.tail == tail_state::intact) {
    if (kept)
      rx_.on_intact(id, now, eliciting, seq_end);
  } else {
    const bool cut = p.tail == tail_state::truncated;
    ++(cut ? stats_.packets_truncated : stats_.packets_damaged);
    res.events.push_back({cut ? event_kind::packet_truncated : event_kind::packet_damaged, id,
                          p.tail_detail + "; " + std::to_string(p.messages.size()) + " of " +
                            std::to_string(p.header.message_count) + " messages used"});
    rx_.on_incomplete(id, now, eliciting, p.usable_bytes);
  }
  save_meta();
  return res;
}

void session::write_packet(time_us now, const control_block& c,
                           const std::vector<const message_frame*>& frames,
                           std::vector<outgoing_packet>& out) {
  const std::uint64_t id = tx_.allocate_packet_id();
  outgoing_packet pkt;
  pkt.packet_id = id;
  pkt.carries_messages = !frames.empty();
  pkt.data = encode_packet(cfg_.encrypt ? packet_flags::encrypted : 0, cfg_.local, cfg_.remote, id,
                           c, frames, tx_keys_);
  rx_.on_control_sent(c, now);
  tx_.on_sent(id, now, pkt.data.size(), frames);
  ++stats_.packets_sent;
  ++(frames.empty() ? stats_.ack_packets_sent : stats_.data_packets_sent);
  stats_.bytes_sent += pkt.data.size();
  out.push_back(std::move(pkt));
}

session::poll_result session::poll(time_us now) {
  poll_result res;
  tx_.on_timers(now, res.events);
  bool holding = false;
  while (res.packets.size() < cfg_.max_packets_per_poll && tx_.can_send()) {
    control_block c = rx_.build_control(now, tx_.peer_cumulative_ack());
    const std::uint64_t fixed = header_bytes + control_size(c);
    const std::uint64_t target = tx_.packet_target();
    const std::uint64_t budget = target > fixed ? target - fixed : 0;
    if (cfg_.batch_delay > 0 && tx_.sendable_bytes(budget) < budget && rx_.ack_deadline() > now) {
      // Not a full packet yet: wait a little for more entries (an ack that is
      // due anyway takes the entries along at once).
      if (batch_since_ == never)
        batch_since_ = now;
      if (now < batch_since_ + cfg_.batch_delay) {
        holding = true;
        break;
      }
    }
    if (cfg_.erasure_coding && !res.packets.empty() && cfg_.batch_delay > 0 &&
        tx_.sendable_bytes(budget) < budget / 2) {
      // Symbols still wanted after a file went out: unless they fill half a
      // file they ride in the next one rather than pay for a file of their own.
      if (batch_since_ == never)
        batch_since_ = now;
      holding = true;
      break;
    }
    auto frames = tx_.take_batch(budget, fixed);
    if (frames.empty())
      break;
    batch_since_ = never;
    write_packet(now, c, frames, res.packets);
  }
  if (res.packets.empty() && rx_.ack_deadline() <= now)
    write_packet(now, rx_.build_control(now, tx_.peer_cumulative_ack()), {}, res.packets);
  save_meta(); // packet ids must be reserved on disk before the files exist
  res.next_wake = std::min(rx_.ack_deadline(), tx_.next_timer());
  if (holding)
    res.next_wake = std::min(res.next_wake, batch_since_ + cfg_.batch_delay);
  else if (tx_.can_send())
    res.next_wake = now;
  return res;
}

std::vector<deletable_packet> session::take_deletable() {
  auto out = tx_.take_deletable();
  auto in = rx_.take_deletable();
  out.insert(out.end(), in.begin(), in.end());
  return out;
}

void session::save_meta() {
  if (!tx_.meta_dirty() && !rx_.meta_dirty())
    return;
  persisted_meta m;
  m.next_seq = tx_.next_seq();
  m.packet_ids_reserved = tx_.packet_ids_reserved();
  m.next_expected = rx_.next_expected();
  m.peer_cumulative_ack = tx_.peer_cumulative_ack();
  m.peer_ack_of_ack = rx_.peer_ack_of_ack();
  m.seen = rx_.seen_ranges();
  store_.put_meta(m);
  tx_.meta_saved();
  rx_.meta_saved();
}

} // namespace peerlab::droplog
