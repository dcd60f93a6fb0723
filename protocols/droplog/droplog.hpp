#pragma once
// Parameters and bounds of the file-drop message log (layer 1).
// Wire format and policy choices: docs/protocols/droplog.md.
#include "protocols/common/types.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t droplog = 8; // file-drop message log
} // namespace ports
} // namespace peerlab

namespace peerlab::droplog {

/// "No deadline" for wake-up times.
constexpr time_us never = std::numeric_limits<time_us>::max();

/// Hard bounds of the codec: a decoder rejects anything past them whatever the
/// configuration says.
namespace limits {
/// Largest packet (file) a session writes or accepts.
constexpr std::uint64_t packet_bytes_max = 1ull << 30;
/// Largest application message (it is fragmented into log entries).
constexpr std::uint64_t message_bytes_max = 4ull << 30;
/// Largest fragment payload (one log entry).
constexpr std::uint32_t fragment_bytes_max = 64u << 20;
/// Fragments one message may be cut into.
constexpr std::uint32_t fragments_per_message_max = 1u << 20;
/// Messages framed in one packet.
constexpr std::uint32_t messages_per_packet_max = 1u << 20;
/// Ranges in each ack list and NACKed ids per packet (u8 counts on the wire).
constexpr std::size_t ack_ranges_max = 64;
constexpr std::size_t nacks_max = 64;
constexpr std::size_t block_reports_max = 64;
/// Shared key length bounds.
constexpr std::size_t key_bytes_min = 16;
constexpr std::size_t key_bytes_max = 1024;
} // namespace limits

/// How retransmission timeouts are computed.
enum class timeout_mode : std::uint8_t {
  adaptive, // RFC 6298 / RFC 9002: srtt, rttvar, backoff, packet/time thresholds
  fixed,    // the original Python design: one constant timeout, no backoff
};

struct session_config {
  peer_id local = 0;      // this side's id (sender id of what it writes)
  peer_id remote = 0;     // the other side's id
  std::string shared_key; // at least limits::key_bytes_min bytes
  bool encrypt = false;   // AES-256-GCM per message; both sides must agree
  bool compress = false;  // zlib per fragment when it shrinks the fragment

  // Packet sizing (bytes of a whole file). AIMD between min and max.
  std::uint64_t min_packet_bytes = 1u << 20;   // seed: below 1 MB overhead dominates
  std::uint64_t max_packet_bytes = 500u << 20; // seed: 500 MB was the mirror's sweet spot
  std::uint64_t initial_packet_bytes = 8u << 20;
  bool adaptive_packet_size = true;             // false: always max_packet_bytes (original)
  double size_decrease_factor = 0.5;            // on a truncated/damaged packet, once per RTT
  std::uint64_t size_increase_bytes = 1u << 20; // per intact acknowledged full-size packet
  /// Fragment payload size; must fit into a min-size packet with a full control block.
  std::uint32_t fragment_bytes = (1u << 20) - 4096;

  // Loss recovery.
  timeout_mode timeouts = timeout_mode::adaptive;
  time_us fixed_timeout = 5 * us_per_s; // timeout_mode::fixed (original RETRANSMISSION_TIMEOUT)
  time_us initial_rtt = 1 * us_per_s;   // before the first sample (file drops are slow)
  time_us min_rto = 10 * us_per_ms;     // floor of the timeout
  time_us max_rto = 600 * us_per_s;     // ceiling after backoff
  /// Doublings of the timeout on consecutive expiries (RFC 6298 5.5 backs off
  /// without limit). Packet ids are never reused, so late acks still give RTT
  /// samples and the estimate follows a slower channel without backoff; and a
  /// truncated file is damage, not congestion. Unlimited backoff only made
  /// the tail wait minutes at 75 % truncation (docs, "Measured goodput").
  std::uint32_t max_backoff = 2;
  time_us granularity = 1 * us_per_ms;     // RFC 9002 kGranularity
  time_us max_ack_delay = 100 * us_per_ms; // receiver sends an ack-only packet after this
  std::uint32_t packet_threshold = 3;      // RFC 9002 kPacketThreshold
  double time_threshold = 9.0 / 8.0;       // RFC 9002 kTimeThreshold
  /// Copies of each NACK (and, when adaptive, of each new ack): with
  /// adaptive_repeat the count is the smallest that reaches the peer with
  /// 99 % probability at the damage rate we observe on incoming files, capped
  /// at nack_repeat; otherwise every NACK gets nack_repeat copies and acks one.
  std::uint32_t nack_repeat = 5;
  bool adaptive_repeat = true;
  time_us nack_interval = 100 * us_per_ms; // between ack-only packets carrying repeats
  /// Reordering adaptation (RFC 8985 spirit): a loss later found spurious
  /// raises the packet threshold to the observed distance and widens the
  /// time threshold, up to these caps.
  std::uint32_t max_packet_threshold = 256;
  std::uint32_t max_reorder_steps = 7; // time threshold up to 1 + 8 x (time_threshold - 1)
  /// Round trip fitted as a + b x packet size (rtt_size_model) for each
  /// packet's timeout and loss delay: a file takes longer to deliver the
  /// larger it is. false: one srtt for every size.
  bool size_aware_rtt = true;
  /// Samples the size fit remembers: weights decay by 1 - 1/window per
  /// sample (16..1e6; the fit is used from 8 samples' weight on).
  double rtt_fit_window = 32;
  /// A packet that would not be full waits up to this long for more entries
  /// (0: send at once). Files have a high fixed cost, so batching pays.
  time_us batch_delay = 0;

  // Erasure coding (docs/protocols/droplog.md, "Erasure coding"). Entries are
  // grouped into blocks of at most `coding_block_entries`; Reed-Solomon
  // parity symbols of a block ride in the same and later files, so any k of a
  // block's symbols rebuild it, and a symbol lost to truncation is replaced by
  // a fresh parity symbol instead of a copy of what was lost.
  bool erasure_coding = false;
  std::uint32_t coding_block_entries = 32; // k at most; k + parity <= 255
  /// Repairs aim at expected arrivals covering the missing symbols plus this
  /// many standard deviations. 0 measured best (docs: a cut takes the tail of
  /// a file at once, so arrivals vary a lot and every surplus is wasted).
  double coding_margin = 0;
  /// Share of the missing symbols a repair aims to deliver, in (0, 1]. Below
  /// 1 a round of repair more often falls short (another round follows)
  /// and less often overshoots: one cut decides many symbols of a file, so
  /// aiming at the whole deficit wastes what arrives beyond it. 0.6 measured
  /// best at 75 % truncation (docs: goodput 0.28 at 1.0, 0.34 at 0.6, and
  /// from 0.4 down the extra rounds cost more time than they save bytes).
  double coding_repair_share = 0.6;
  /// Share of the expected loss sent as parity before any feedback (0: the
  /// data symbols only, repairs once NACKs and reports say what is missing).
  double coding_proactive = 0;
  /// Messages up to this size go out `small_copies` times in separate files at
  /// once (on top of coding), so one round trip usually suffices.
  std::uint32_t small_message_bytes = 2048;
  std::uint32_t small_copies_max = 4;

  // Bounds of this session.
  std::uint64_t max_outbox_bytes = 1ull << 30; // unacknowledged fragment bytes
  std::size_t max_outbox_entries = 1u << 16;
  std::uint64_t max_inflight_bytes = 1ull << 30; // bytes of unacknowledged packets
  std::size_t max_inflight_packets = 1024;
  std::size_t max_packets_per_poll = 64;
  /// Receive window in log entries above the cumulative ack; both sides must agree.
  std::uint64_t window_entries = 4096;
  std::size_t max_seen_ranges = 256;      // replay window of received packet ids
  std::size_t max_tracked_packets = 4096; // housekeeping records per direction
  std::size_t ack_ranges = 16;            // ranges per ack list written (<= limits)
  std::size_t nacks_per_packet = 16;      // NACK ids written per packet (<= limits)
};

/// Largest erasure-coded symbol a session writes or accepts: the fragment
/// size, or 256 KiB if larger (symbols are sized to the packet, not the message).
inline std::uint32_t max_symbol_bytes(const session_config& c) {
  return std::max<std::uint32_t>(c.fragment_bytes, 256u << 10);
}

/// Returns an empty string if the configuration is usable, else what is wrong.
std::string validate(const session_config& cfg);
/// Bytes a control block of `cfg`'s list lengths may take (without its tag).
std::uint64_t control_bytes_bound(const session_config& cfg);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::droplog
