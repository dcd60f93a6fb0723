#pragma once
// One reliable, authenticated message log between a (local, remote) pair over
// an unreliable file-drop channel: the sans-I/O core of layer 1.
// The folder layer writes what poll() returns as files and hands every file
// it reads to on_packet(); it deletes the files take_deletable() names.
// Design and wire format: docs/protocols/droplog.md.
#include "protocols/common/store.hpp"
#include "protocols/droplog/crypto.hpp"
#include "protocols/droplog/events.hpp"
#include "protocols/droplog/receiver.hpp"
#include "protocols/droplog/sender.hpp"
#include "protocols/droplog/state_store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace peerlab::droplog {

struct outgoing_packet {
  std::uint64_t packet_id = 0;
  bool carries_messages = false;
  bytes data;
};

class session {
public:
  /// Loads persisted state from `store` (may be null: nothing survives a restart).
  /// Throws std::invalid_argument for a bad configuration and
  /// std::runtime_error for malformed stored state.
  explicit session(session_config cfg, table_store* store = nullptr);
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Appends a message to the log. Returns its id, or nullopt (with the reason
  /// in `why`) when it is too large or the outbox is full.
  std::optional<std::uint64_t> submit(byte_view message, std::string* why = nullptr);

  struct receive_result {
    std::vector<delivered_message> delivered; // in log order, each exactly once
    std::vector<session_event> events;
  };
  /// A file from the peer (possibly truncated, corrupted, replayed or forged).
  receive_result on_packet(time_us now, byte_view data);

  struct poll_result {
    std::vector<outgoing_packet> packets; // write them in this order
    time_us next_wake = never;            // call poll again by then
    std::vector<session_event> events;
  };
  poll_result poll(time_us now);

  /// Packet files that both sides are done with (see docs, "Housekeeping").
  std::vector<deletable_packet> take_deletable();

  const session_config& config() const { return cfg_; }
  const session_stats& stats() const { return stats_; }
  const rtt_estimator& rtt() const { return tx_.rtt(); }
  /// The sending half: its size fit and per-packet timeouts.
  const sender& sender_side() const { return tx_; }
  std::uint64_t packet_size_target() const { return tx_.packet_target(); }
  double truncation_rate() const { return tx_.sizer().truncation_rate(); }
  /// Share of data packet bytes that reach the peer (erasure coding sizes parity by it).
  double survival() const { return tx_.survival(); }
  const survival_model& model() const { return tx_.model(); }
  const block_encoder& coder() const { return tx_.coder(); }
  std::uint64_t outbox_entries() const { return tx_.outbox_entries(); }
  std::uint64_t next_expected() const { return rx_.next_expected(); }
  std::uint64_t peer_cumulative_ack() const { return tx_.peer_cumulative_ack(); }

private:
  void save_meta();
  void write_packet(time_us now, const control_block& c,
                    const std::vector<const message_frame*>& frames,
                    std::vector<outgoing_packet>& out);

  session_config cfg_;
  state_store store_;
  session_stats stats_;
  direction_keys tx_keys_, rx_keys_;
  sender tx_;
  receiver rx_;
  time_us batch_since_ = never; // when a not-yet-full packet started waiting
};

} // namespace peerlab::droplog
