#pragma once
// Sending half of a session: the outbox of log entries, packets in flight,
// acknowledgement processing, loss detection (RFC 9002 packet and time
// thresholds, NACKs, retransmission timeout with backoff), packet sizing and
// housekeeping of our own packet files.
#include "protocols/droplog/block_encoder.hpp"
#include "protocols/droplog/events.hpp"
#include "protocols/droplog/codec.hpp"
#include "protocols/droplog/packet_sizer.hpp"
#include "protocols/droplog/rtt.hpp"
#include "protocols/droplog/rtt_size_model.hpp"
#include "protocols/droplog/state_store.hpp"

#include <limits>
#include <map>
#include <set>
#include <vector>

namespace peerlab::droplog {

class sender {
public:
  sender(const session_config& cfg, state_store& store, session_stats& stats);

  /// Restores from persisted state: every stored entry is sent again.
  void restore(const persisted_meta& meta, std::map<std::uint64_t, message_frame> entries);

  /// Appends a message to the log; returns its id (seq of its first fragment).
  std::optional<std::uint64_t> submit(byte_view message, std::string* why);

  /// Acks and NACKs from the peer (about what we sent).
  void on_control(time_us now, const control_block& c, std::vector<session_event>& events);
  /// Loss timers that expired by `now`.
  void on_timers(time_us now, std::vector<session_event>& events);

  /// Whether an entry may be sent now (window and in-flight bounds allow it).
  bool can_send() const;
  /// Frame bytes of sendable entries, counted up to `limit`.
  std::uint64_t sendable_bytes(std::uint64_t limit) const;
  /// Oldest sendable entries whose frames fit into `budget` bytes (at least
  /// one); with erasure coding, the symbols of queued and new blocks instead.
  /// `fixed`: bytes of header and control block before the frames.
  std::vector<const message_frame*> take_batch(std::uint64_t budget, std::uint64_t fixed = 0);
  /// Size to aim a packet at: AIMD, or with erasure coding the size the
  /// survival model expects to deliver the most payload per byte written.
  std::uint64_t packet_target() const;
  std::uint64_t allocate_packet_id();
  void on_sent(std::uint64_t id, time_us now, std::uint64_t size,
               const std::vector<const message_frame*>& frames);

  /// Earliest time a loss timer fires (`never` if none).
  time_us next_timer() const;
  std::vector<deletable_packet> take_deletable();

  std::uint64_t peer_cumulative_ack() const { return peer_cum_ack_; }
  std::uint64_t next_seq() const { return next_seq_; }
  std::uint64_t packet_ids_reserved() const { return reserved_; }
  std::uint64_t outbox_entries() const { return outbox_.size(); }
  std::uint64_t outbox_bytes() const { return outbox_bytes_; }
  std::uint64_t bytes_in_flight() const { return bytes_in_flight_; }
  const rtt_estimator& rtt() const { return rtt_; }
  const rtt_size_model& size_rtt() const { return size_rtt_; }
  /// Timeout and time-threshold loss delay of a packet of `size` bytes: from
  /// the size fit when it is usable, else the size-blind srtt rules.
  time_us timeout_for(std::uint64_t size) const;
  time_us loss_delay_for(std::uint64_t size) const;
  const packet_sizer& sizer() const { return sizer_; }
  /// Share of a data packet's bytes that reach the peer (EWMA, 1/16; NACKs
  /// say how much of a cut file was read).
  double survival() const { return survival_; }
  const block_encoder& coder() const { return coder_; }
  const survival_model& model() const { return model_; }
  std::uint64_t packet_threshold() const { return packet_threshold_; }
  unsigned reorder_steps() const { return reorder_steps_; }
  bool meta_dirty() const { return meta_dirty_; }
  void meta_saved() { meta_dirty_ = false; }

private:
  enum class loss_reason : std::uint8_t { none, nack, packet_threshold, time_threshold, timeout };
  struct tx_entry {
    message_frame frame;
    std::uint32_t in_flight = 0; // packets in flight that carry it
    std::uint32_t times_sent = 0;
  };
  struct sent_packet {
    time_us sent_at = 0;
    std::uint64_t size = 0;
    std::vector<std::uint64_t> seqs;
    bool in_flight = false; // ack-eliciting and neither acked nor declared lost
    bool acked = false;
    loss_reason lost = loss_reason::none;
    std::uint64_t lost_at_largest = 0; // largest acked id when declared lost
    bool coded = false;                // carries symbols, not entries
    bool late_sampled = false;         // a NACK after its loss gave the size fit a sample
    std::vector<symbol_ref> symbols;
  };
  /// A packet lost to a timer whose record was retired (coded packets are,
  /// at once): its late ack or NACK is still a round trip for the size fit.
  struct timed_out {
    time_us sent_at = 0;
    std::uint64_t size = 0;
  };
  static constexpr std::size_t timed_out_max = 256;

  void ack_entry(std::uint64_t seq);
  /// Drops the record of packet `id` (its file may be deleted), keeping what
  /// a late answer needs to be a round-trip sample.
  void forget_packet(std::uint64_t id, const sent_packet& p);
  /// One sample for the size fit.
  void sample_fit(std::uint64_t size, time_us rtt);
  /// A late ack or NACK of a packet lost to a timer: a sample for the size fit.
  void sample_late(time_us now, time_us sent_at, std::uint64_t size, time_us hold);
  void ack_packet(std::uint64_t id, sent_packet& p);
  /// `bytes_read`: how much of the packet the receiver read, if known.
  void leave_flight(sent_packet& p, bool requeue, std::uint64_t bytes_read = 0);
  void declare_lost(sent_packet& p, loss_reason why, std::uint64_t bytes_read = 0);
  void on_spurious_loss(std::uint64_t id, const sent_packet& p);
  void detect_losses(time_us now, std::vector<session_event>& events);
  void retire_packets();
  void add_entry(message_frame f);
  std::vector<const message_frame*> take_coded(std::uint64_t budget, std::uint64_t fixed);
  void on_survival(double share);
  void finish_coded(const std::vector<const message_frame*>& frames, std::uint64_t fixed);
  void after_coded_feedback();
  /// When a packet of `size` sent at `sent_at` should have been acked by the
  /// size fit (`sent_at` itself without a usable fit).
  time_us round_trip_end(time_us sent_at, std::uint64_t size) const;

  session_config cfg_;
  state_store& store_;
  session_stats& stats_;
  rtt_estimator rtt_;
  rtt_size_model size_rtt_;
  packet_sizer sizer_;
  block_encoder coder_;
  survival_model model_;
  std::map<std::uint64_t, timed_out> timed_out_; // bounded by timed_out_max
  time_us answered_sent_at_ = -1;                // latest send time of a packet acked or NACKed
  std::uint64_t largest_sampled_ = 0;            // largest size with a sample in the size fit
  std::vector<symbol_ref> staged_refs_;          // symbols of the packet being written
  double survival_ = 1.0;
  std::uint64_t reports_largest_ = 0; // freshest control block whose block reports were used

  std::uint64_t next_seq_ = 0;
  static constexpr std::uint64_t explore_every = 8; // packet ids: one file in 8 tries a larger size
  std::uint64_t next_packet_id_ = 1, reserved_ = 1;
  std::map<std::uint64_t, tx_entry> outbox_;
  std::uint64_t outbox_bytes_ = 0;
  std::set<std::uint64_t> send_queue_; // entries not in any packet in flight
  std::map<std::uint64_t, sent_packet> sent_;
  std::uint64_t bytes_in_flight_ = 0, packets_in_flight_ = 0;
  std::uint64_t largest_acked_ = 0;
  std::uint64_t packet_threshold_;
  unsigned reorder_steps_ = 0;
  std::uint64_t peer_cum_ack_ = 0;
  std::vector<deletable_packet> deletable_;
  bool meta_dirty_ = false;
};

} // namespace peerlab::droplog
