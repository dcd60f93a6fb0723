#pragma once
// A deterministic file-drop channel between two sessions, for long runs: one
// priority queue of (time, seq) events (file arrivals and wake-ups), with
// delay, loss, truncation at a random byte, bit rot and duplication. It drives
// a workload, checks exactly-once in-order intact delivery as it goes, can
// restart a side mid-transfer, and measures goodput and latency.
#include "helpers.hpp"

#include <cmath>
#include <deque>
#include <memory>
#include <queue>

namespace droplog_test {

struct channel_params {
  time_us delay_min = 500 * us_per_ms;
  time_us delay_max = 1500 * us_per_ms;
  double loss = 0;
  double truncate = 0;        // probability a file is cut at a uniformly random byte
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
  channel_run(session_config a, session_config b, channel_params ch, workload w, std::uint64_t seed)
      : ch_(ch), w_(w), net_rng_(derive_seed(seed, 1)), work_rng_(derive_seed(seed, 2)) {
    cfg_[0] = std::move(a);
    cfg_[1] = std::move(b);
    for (int s = 0; s < 2; ++s) {
      side_[s] = std::make_unique<session>(cfg_[s], &kv_[s]);
      for (std::size_t i = 0; i < w_.messages; ++i) {
        bool large = work_rng_.chance(w_.large_share);
        std::size_t size =
          large ? w_.large_size : w_.min_size + work_rng_.below(w_.max_size - w_.min_size + 1);
        pending_[s].push_back(message_body(i, size, 1000 + s));
      }
      push(0, s, event_type::submit, {});
    }
  }

  /// Runs until every message is delivered and acknowledged, or `deadline`
  /// passes. Returns whether it finished.
  bool run(time_us deadline) {
    while (!queue_.empty() && !finished()) {
      auto ev = queue_.top();
      if (ev.at > deadline)
        return false;
      queue_.pop();
      now_ = ev.at;
      handle(ev);
    }
    return finished();
  }

  /// Crash and restart a side: in-memory state is lost, its kv_store survives.
  void restart(int s) {
    side_[s].reset();
    side_[s] = std::make_unique<session>(cfg_[s], &kv_[s]);
    ++restarts_;
    wake_at_[s] = now_;
    push(now_, s, event_type::wake, {});
  }

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
  std::vector<time_us> latencies() const { return latencies_; }
  std::size_t violations() const { return violations_; }
  const std::string& first_violation() const { return first_violation_; }
  std::uint64_t files_truncated() const { return truncated_; }
  std::uint64_t files_rotten() const { return rotten_; }
  std::uint64_t files() const { return files_; }

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

  void push(time_us at, int s, event_type t, bytes data) {
    queue_.push({at, next_seq_++, s, t, std::move(data)});
  }

  void handle(event& ev) {
    const int s = ev.side;
    if (ev.type == event_type::submit) {
      submit_due(s);
    } else if (ev.type == event_type::deliver) {
      auto r = side_[s]->on_packet(now_, view(ev.data));
      check(s, r.delivered);
    } else if (ev.at != wake_at_[s]) {
      return; // a stale wake-up: a newer one is queued
    }
    poll(s);
  }

  void submit_due(int s) {
    // One message per spacing; when the outbox is full, retry at the next slot.
    if (next_submit_[s] < pending_[s].size()) {
      auto& m = pending_[s][next_submit_[s]];
      if (auto id = side_[s]->submit(view(m))) {
        submitted_at_[s].push_back(now_);
        ++next_submit_[s];
      }
      if (next_submit_[s] < pending_[s].size())
        push(now_ + w_.spacing, s, event_type::submit, {});
    }
  }

  void check(int s, std::vector<delivered_message>& got) {
    const int from = 1 - s;
    for (auto& d : got) {
      std::size_t index = delivered_[s].size();
      auto fail = [&](const std::string& why) {
        if (violations_++ == 0)
          first_violation_ =
            "side " + std::to_string(s) + " message " + std::to_string(index) + ": " + why;
      };
      if (index >= pending_[from].size())
        fail("more messages than were sent");
      else if (index >= submitted_at_[from].size())
        fail("delivered before it was submitted");
      else if (d.data != pending_[from][index])
        fail("content or order differs");
      else if (!delivered_[s].empty() && d.id <= delivered_[s].back())
        fail("id not increasing");
      if (index < submitted_at_[from].size())
        latencies_.push_back(now_ - submitted_at_[from][index]);
      payload_bytes_ += d.data.size();
      delivered_[s].push_back(d.id);
    }
  }

  void poll(int s) {
    auto r = side_[s]->poll(now_);
    for (auto& p : r.packets)
      transmit(1 - s, std::move(p.data));
    if (r.next_wake != never && (wake_at_[s] <= now_ || r.next_wake < wake_at_[s])) {
      wake_at_[s] = std::max(r.next_wake, now_);
      push(wake_at_[s], s, event_type::wake, {});
    }
  }

  void transmit(int to, bytes data) {
    channel_bytes_ += data.size();
    ++files_;
    if (net_rng_.chance(ch_.loss))
      return;
    const int copies = net_rng_.chance(ch_.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      bytes f = data;
      if (net_rng_.chance(ch_.truncate)) {
        f.resize(net_rng_.below(f.size()));
        ++truncated_;
      }
      if (ch_.bitrot_per_byte > 0 && !f.empty()) {
        // Geometric gaps between rotten bytes: one draw per flip, not per byte.
        const double lg = std::log1p(-ch_.bitrot_per_byte);
        bool any = false;
        for (double pos = std::floor(std::log1p(-net_rng_.uniform01()) / lg);
             pos < static_cast<double>(f.size());
             pos += 1 + std::floor(std::log1p(-net_rng_.uniform01()) / lg)) {
          f[static_cast<std::size_t>(pos)] ^= static_cast<std::uint8_t>(1u << net_rng_.below(8));
          any = true;
        }
        rotten_ += any;
      }
      time_us delay =
        ch_.delay_min + static_cast<time_us>(net_rng_.below(
                          static_cast<std::uint64_t>(ch_.delay_max - ch_.delay_min + 1)));
      push(now_ + delay, to, event_type::deliver, std::move(f));
    }
  }

  channel_params ch_;
  workload w_;
  rng net_rng_, work_rng_;
  session_config cfg_[2];
  memory_kv kv_[2];
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
  std::uint64_t channel_bytes_ = 0, payload_bytes_ = 0, files_ = 0, truncated_ = 0, rotten_ = 0;
  std::size_t violations_ = 0, restarts_ = 0;
  std::string first_violation_;
};

} // namespace droplog_test
