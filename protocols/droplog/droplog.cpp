#include "protocols/droplog/droplog.hpp"

#include "protocols/droplog/codec.hpp"

namespace peerlab::droplog {

std::uint64_t control_bytes_bound(const session_config& c) {
  const std::uint64_t block_reports =
    c.erasure_coding
      ? (block_report_wire_bytes * std::min(c.ack_ranges, limits::block_reports_max) +
         range_wire_bytes * c.ack_ranges)
      : 0;
  return control_fixed_bytes + 2 * range_wire_bytes * c.ack_ranges +
         nack_wire_bytes * c.nacks_per_packet + block_reports;
}

std::string validate(const session_config& c) {
  auto n = [](auto v) { return std::to_string(v); };
  if (c.local == c.remote)
    return "local and remote ids are both " + n(c.local);
  if (c.shared_key.size() < limits::key_bytes_min || c.shared_key.size() > limits::key_bytes_max)
    return "shared_key must have " + n(limits::key_bytes_min) + ".." + n(limits::key_bytes_max) +
           " bytes, has " + n(c.shared_key.size());
  if (c.fragment_bytes == 0 || c.fragment_bytes > limits::fragment_bytes_max)
    return "fragment_bytes must be 1.." + n(limits::fragment_bytes_max);
  if (c.ack_ranges == 0 || c.ack_ranges > limits::ack_ranges_max)
    return "ack_ranges must be 1.." + n(limits::ack_ranges_max);
  if (c.nacks_per_packet == 0 || c.nacks_per_packet > limits::nacks_max)
    return "nacks_per_packet must be 1.." + n(limits::nacks_max);
  const std::uint64_t worst_control = control_bytes_bound(c) + tag_bytes;
  const std::uint64_t smallest = header_bytes + worst_control + frame_size(c.fragment_bytes);
  if (c.min_packet_bytes < smallest)
    return "min_packet_bytes " + n(c.min_packet_bytes) + " cannot hold one fragment of " +
           n(c.fragment_bytes) + " bytes with a full control block (needs " + n(smallest) + ")";
  if (c.max_packet_bytes < c.min_packet_bytes || c.max_packet_bytes > limits::packet_bytes_max)
    return "max_packet_bytes must be min_packet_bytes.." + n(limits::packet_bytes_max);
  if (c.initial_packet_bytes < c.min_packet_bytes || c.initial_packet_bytes > c.max_packet_bytes)
    return "initial_packet_bytes must lie between min_packet_bytes and max_packet_bytes";
  if (!(c.size_decrease_factor > 0 && c.size_decrease_factor < 1))
    return "size_decrease_factor must be in (0, 1)";
  if (c.fixed_timeout <= 0 || c.initial_rtt <= 0 || c.granularity <= 0 || c.max_ack_delay < 0)
    return "timeouts must be positive";
  if (c.min_rto <= 0 || c.max_rto < c.min_rto)
    return "need 0 < min_rto <= max_rto";
  if (c.max_backoff > 30)
    return "max_backoff above 30 doublings";
  if (c.packet_threshold == 0 || c.time_threshold < 1 ||
      c.max_packet_threshold < c.packet_threshold)
    return "need 1 <= packet_threshold <= max_packet_threshold and time_threshold >= 1";
  if (!(c.rtt_fit_window >= 16 && c.rtt_fit_window <= 1e6))
    return "rtt_fit_window must be 16..1e6 samples (the size fit needs 8 samples' weight)";
  if (c.nack_interval <= 0 || c.batch_delay < 0)
    return "nack_interval must be positive and batch_delay not negative";
  if (c.window_entries == 0 || c.max_outbox_entries == 0 || c.max_outbox_bytes == 0)
    return "window and outbox bounds must be positive";
  if (c.max_inflight_packets == 0 || c.max_inflight_bytes == 0 || c.max_packets_per_poll == 0)
    return "in-flight bounds and max_packets_per_poll must be positive";
  if (c.max_tracked_packets <= c.max_inflight_packets)
    return "max_tracked_packets must exceed max_inflight_packets";
  if (c.max_seen_ranges == 0)
    return "max_seen_ranges must be positive";
  if (c.coding_block_entries == 0 || c.coding_block_entries > 127)
    return "coding_block_entries must be 1..127 (k plus parity stay below 255 symbols)";
  if (!(c.coding_margin >= 0 && c.coding_margin <= 10))
    return "coding_margin must be 0..10 standard deviations";
  if (!(c.coding_repair_share > 0 && c.coding_repair_share <= 1))
    return "coding_repair_share must be in (0, 1]";
  if (!(c.coding_proactive >= 0 && c.coding_proactive <= 4))
    return "coding_proactive must be 0..4";
  if (c.small_copies_max == 0 || c.small_copies_max > 16)
    return "small_copies_max must be 1..16";
  return {};
}

} // namespace peerlab::droplog
