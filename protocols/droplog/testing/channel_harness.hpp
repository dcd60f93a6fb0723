#pragma once
// A deterministic file-drop channel between two sessions, for long runs: one
// priority queue of (time, seq) events (file arrivals and wake-ups), with
// delay, loss, truncation (at a uniformly random byte, or by size), bit rot
// per byte and duplication. It drives a workload, checks exactly-once
// in-order intact delivery as it goes, can restart a side mid-transfer, and
// measures goodput and latency. Pure (virtual time, seeded draws): the tests
// of tests/protocols/droplog and `peerlab droplog-table` both run it.
#include "protocols/common/memory_store.hpp"
#include "protocols/common/rng.hpp"
#include "protocols/droplog/session.hpp"

#include <memory>
#include <queue>
#include <string>
#include <vector>

namespace peerlab::droplog::testing {

/// The shared key of the harness configurations.
inline const std::string harness_key = "droplog test key: 32 bytes long!";

/// Small sizes so that runs exercise many packets and fragments.
session_config small_config(peer_id local, peer_id remote);

/// Deterministic message body: its index in the first 8 bytes, then seeded bytes.
bytes message_body(std::uint64_t index, std::size_t size, std::uint64_t salt = 0);

struct channel_params {
  time_us delay_min = 500 * us_per_ms;
  time_us delay_max = 1500 * us_per_ms;
  /// Delay added per byte of the file written (a drop channel delivers a
  /// file later the larger it is); 0 = size-blind delay, as before.
  double delay_per_byte_us = 0;
  double loss = 0;
  double truncate = 0; // probability a file is cut at a uniformly random byte
  /// Size-dependent truncation (link::truncate_by_size): each byte ends the
  /// file with hazard 1/truncate_scale, so P(cut | size) = 1 - exp(-size /
  /// truncate_scale). 0 = off.
  double truncate_scale = 0;
  double bitrot_per_byte = 0; // probability each byte has one bit flipped
  double duplicate = 0;       // probability a file arrives twice
};

struct workload {
  std::size_t messages = 1000; // per direction
  std::size_t min_size = 16, max_size = 600;
  double large_share = 0.02; // share of messages of large_size bytes
  std::size_t large_size = 5000;
  time_us spacing = 20 * us_per_ms; // between submissions
};

class channel_run {
public:
  channel_run(session_config a, session_config b, channel_params ch, workload w,
              std::uint64_t seed);

  /// Runs until every message is delivered and acknowledged, or `deadline`
  /// passes. Returns whether it finished.
  bool run(time_us deadline);

  /// Crash and restart a side: in-memory state is lost, its kv_store survives.
  void restart(int s);
  /// Runs until finished or `deadline`, crashing side 0 and side 1 in turn
  /// every `every` while messages are undelivered, at most `max_restarts`
  /// times. Returns how many restarts happened.
  int run_restarting(time_us every, int max_restarts, time_us deadline);

  bool done() const {
    return delivered_[0].size() == w_.messages && delivered_[1].size() == w_.messages;
  }
  bool finished() const {
    return done() && side_[0]->outbox_entries() == 0 && side_[1]->outbox_entries() == 0;
  }
  session& side(int s) { return *side_[s]; }
  time_us now() const { return now_; }
  std::size_t delivered(int s) const { return delivered_[s].size(); }
  std::uint64_t channel_bytes() const { return channel_bytes_; }
  std::uint64_t payload_bytes() const { return payload_bytes_; }
  double goodput() const {
    return channel_bytes_
             ? static_cast<double>(payload_bytes_) / static_cast<double>(channel_bytes_)
             : 0;
  }
  /// Submission-to-delivery latencies in microseconds, both directions.
  const std::vector<time_us>& latencies() const { return latencies_; }
  std::size_t violations() const { return violations_; }
  const std::string& first_violation() const { return first_violation_; }
  std::uint64_t files_truncated() const { return truncated_; }
  std::uint64_t files_rotten() const { return rotten_; }
  std::uint64_t files() const { return files_; }
  /// Sizes of every file written, in order (both directions).
  const std::vector<std::size_t>& file_sizes() const { return file_sizes_; }

private:
  enum class event_type { deliver, wake, submit };
  struct event {
    time_us at;
    std::uint64_t seq;
    int side;
    event_type type;
    bytes data;
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void push(time_us at, int s, event_type t, bytes data);
  void handle(event& ev);
  void submit_due(int s);
  void check(int s, std::vector<delivered_message>& got);
  void poll(int s);
  void transmit(int to, bytes data);

  channel_params ch_;
  workload w_;
  rng net_rng_, work_rng_;
  session_config cfg_[2];
  memory_store kv_[2];
  std::unique_ptr<session> side_[2];
  std::priority_queue<event, std::vector<event>, std::greater<event>> queue_;
  std::uint64_t next_seq_ = 0;
  time_us now_ = 0;
  time_us wake_at_[2] = {0, 0};
  std::vector<bytes> pending_[2];
  std::size_t next_submit_[2] = {0, 0};
  std::vector<time_us> submitted_at_[2];
  std::vector<std::uint64_t> delivered_[2];
  std::vector<time_us> latencies_;
  std::vector<std::size_t> file_sizes_;
  std::uint64_t channel_bytes_ = 0, payload_bytes_ = 0, files_ = 0, truncated_ = 0, rotten_ = 0;
  std::size_t violations_ = 0, restarts_ = 0;
  std::string first_violation_;
};

} // namespace peerlab::droplog::testing
