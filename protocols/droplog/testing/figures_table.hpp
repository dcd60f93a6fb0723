#pragma once
// The goodput table of docs/protocols/droplog.md ("Measured goodput"): every
// design over the uniform and the size-dependent truncation channel at each
// truncation rate, same workload and seed. `peerlab droplog-table` prints it
// and the hidden figures test runs it; pure (the caller prints).
#include "protocols/droplog/testing/channel_harness.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace peerlab::droplog::testing {

/// The designs compared, by name: "coded" (adaptive + erasure_coding),
/// "adaptive" (the session's defaults), "fixed5s" (the original's design in
/// the same codec: 5 s fixed timeout, no thresholds, fixed 16 KiB packets, 5
/// NACK copies).
const std::vector<std::string>& figure_designs();
/// The configuration of a design on the harness's small sizes; throws
/// std::invalid_argument for an unknown name.
session_config design_config(const std::string& design, peer_id local, peer_id remote);

/// The channel of the figures: delay U[0.5 s, 1.5 s], bit rot 1e-4 per byte,
/// truncation `rate`: "uniform" cuts that share of files at a random byte;
/// "size" cuts each file with P = 1 - exp(-size / scale), the scale chosen so
/// that a file of `reference_bytes` is cut with probability `rate`.
channel_params figure_channel(const std::string& channel, double rate, double reference_bytes);

struct figure_row {
  std::string design, channel;
  double truncate = 0;
  double goodput = 0, latency_mean_s = 0, latency_p95_s = 0, finish_s = 0;
  std::uint64_t files = 0, retransmitted = 0, truncated = 0;
  bool complete = false;     // every message delivered and acknowledged, no violation
  std::string first_problem; // why not, when not complete
};

struct figure_table {
  std::uint64_t seed = 0;
  std::size_t messages = 0;
  double reference_bytes = 0; // reference_file_bytes(seed)
  std::vector<figure_row> rows;
  bool complete() const;
};

inline const std::vector<double>& figure_rates() {
  static const std::vector<double> r = {0.0, 0.10, 0.50, 0.75};
  return r;
}

/// One run of a design over a channel (24 h of virtual time at most).
figure_row run_figure(const std::string& design, const std::string& channel, double rate,
                      double reference_bytes, std::size_t messages, std::uint64_t seed);

/// The reference file of the size channel: the median size of the files
/// "adaptive" writes on the lossless uniform channel under the default
/// workload (1000 messages each way), whatever the table's message count.
double reference_file_bytes(std::uint64_t seed);

/// Every row: rates outermost, then channels (uniform, size), then designs.
figure_table run_figure_table(std::uint64_t seed, std::size_t messages);

/// The markdown table (header, separator and one line per row).
std::string markdown(const figure_table& t);

/// `doc` with the text between the lines `begin` and `end` replaced by
/// `table`; throws std::invalid_argument naming the marker that is missing.
std::string replace_between(const std::string& doc, const std::string& begin,
                            const std::string& end, const std::string& table);

} // namespace peerlab::droplog::testing
