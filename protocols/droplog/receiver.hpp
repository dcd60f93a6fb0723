#pragma once
// Receiving half of a session: the replay window of packet ids, the receive
// buffer (out-of-order entries and fragments of a message being reassembled),
// exactly-once in-order delivery, and the acknowledgement state written into
// every outgoing packet (cumulative ack, SACK ranges, packet ranges, NACKs).
#include "protocols/droplog/block_decoder.hpp"
#include "protocols/droplog/events.hpp"
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/state_store.hpp"

#include <deque>
#include <map>

namespace peerlab::droplog {

class receiver {
public:
  receiver(const session_config& cfg, state_store& store, session_stats& stats);
  void restore(const persisted_meta& meta, std::map<std::uint64_t, message_frame> entries);

  bool is_duplicate(std::uint64_t packet_id) const { return seen_.contains(packet_id); }

  /// Verified entries of one packet, in packet order. Returns false if any had
  /// to be dropped (above the receive window).
  bool accept(std::vector<message_frame>& entries, std::vector<delivered_message>& out,
              std::vector<session_event>& events);

  /// Coded symbols of one packet: entries of every block they complete are
  /// appended to `entries` (then passed to accept()).
  void add_symbols(std::vector<message_frame>& symbols, std::vector<message_frame>& entries,
                   std::vector<session_event>& events);

  /// A whole packet was read. `seq_end` is one past its highest entry.
  void on_intact(std::uint64_t id, time_us now, bool ack_eliciting, std::uint64_t seq_end);
  void on_duplicate(std::uint64_t id, time_us now, bool ack_eliciting);
  /// A truncated or damaged packet with an authentic header.
  /// `bytes_read`: the prefix that could be used (reported in the NACK).
  void on_incomplete(std::uint64_t id, time_us now, bool ack_eliciting, std::uint64_t bytes_read);
  void on_peer_ack_of_ack(std::uint64_t v);

  /// When an ack-only packet should be written (`never` if none is needed).
  time_us ack_deadline() const;
  control_block build_control(time_us now, std::uint64_t ack_of_ack) const;
  void on_control_sent(const control_block& c, time_us now);

  std::vector<deletable_packet> take_deletable();
  std::uint64_t next_expected() const { return next_expected_; }
  std::uint64_t peer_ack_of_ack() const { return peer_ack_of_ack_; }
  std::vector<id_range> seen_ranges() const { return seen_.all(); }
  std::size_t buffered_entries() const { return buffer_.size(); }
  bool meta_dirty() const { return meta_dirty_; }
  void meta_saved() { meta_dirty_ = false; }

private:
  void drain(std::vector<delivered_message>& out, std::vector<session_event>& events);
  void drop_partial();
  void schedule_ack(time_us at);
  std::uint32_t copies(bool nack) const;
  void release_tracked();

  session_config cfg_;
  state_store& store_;
  session_stats& stats_;

  std::uint64_t next_expected_ = 0;
  std::map<std::uint64_t, message_frame> buffer_;
  block_decoder blocks_;
  std::vector<std::uint64_t> partial_; // seqs of the message being reassembled
  std::uint64_t partial_bytes_ = 0;
  range_set seen_;   // intact packets (replay window, packet acks)
  range_set nacked_; // packets already NACKed once (no repeated NACKs for copies)
  std::uint64_t largest_at_id_ = 0;
  time_us largest_at_ = 0;

  bool ack_pending_ = false;
  time_us ack_at_ = 0;
  struct pending_nack {
    std::uint64_t id;
    std::uint32_t bytes_read;
    std::uint32_t remaining;
  };
  std::deque<pending_nack> nacks_;
  bool fresh_nack_ = false;
  std::uint32_t ack_copies_left_ = 0; // repeats still owed for the latest ack
  double damage_rate_ = 0;            // EWMA share of incoming files truncated or damaged
  time_us repeat_at_ = never;         // next ack-only packet repeating pending NACKs
  time_us fresh_nack_at_ = 0;

  std::uint64_t peer_ack_of_ack_ = 0;
  std::map<std::uint64_t, std::uint64_t> tracked_; // intact data packet id -> seq_end
  std::vector<deletable_packet> deletable_;
  bool meta_dirty_ = false;
};

} // namespace peerlab::droplog
