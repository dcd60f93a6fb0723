#pragma once
// A lossless lock-step driver for two sessions: each round both sides poll,
// then every packet arrives after a fixed delay. Tests tamper with packets in
// between through the `filter` hook.
#include "helpers.hpp"

#include <functional>

namespace droplog_test {

struct lockstep {
  lockstep(session* a_, session* b_) : a(a_), b(b_) {}
  session* a;
  session* b;
  time_us now = 0;
  time_us delay = 20 * us_per_ms;
  std::vector<delivered_message> at_a, at_b; // delivered to each side
  std::vector<session_event> events_a, events_b;
  std::size_t packets_a_to_b = 0, packets_b_to_a = 0;
  /// Return false to drop a packet; may modify it. `from_a` tells the direction.
  std::function<bool(bool from_a, bytes&)> filter;

  /// Runs until both sides are idle (no packets, no timers) or `max_rounds`.
  void run(int max_rounds = 200) {
    for (int round = 0; round < max_rounds; ++round) {
      auto pa = a->poll(now);
      auto pb = b->poll(now);
      if (pa.packets.empty() && pb.packets.empty()) {
        time_us wake = std::min(pa.next_wake, pb.next_wake);
        if (wake == never)
          return;
        now = std::max(now + 1, wake);
        continue;
      }
      now += delay;
      deliver(true, pa.packets);
      deliver(false, pb.packets);
    }
  }

  void deliver(bool from_a, std::vector<outgoing_packet>& ps) {
    for (auto& p : ps) {
      if (filter && !filter(from_a, p.data))
        continue;
      auto& to = from_a ? *b : *a;
      auto r = to.on_packet(now, view(p.data));
      auto& got = from_a ? at_b : at_a;
      auto& evs = from_a ? events_b : events_a;
      (from_a ? packets_a_to_b : packets_b_to_a)++;
      for (auto& d : r.delivered)
        got.push_back(std::move(d));
      evs.insert(evs.end(), r.events.begin(), r.events.end());
    }
  }
};

inline std::size_t count_events(const std::vector<session_event>& evs, event_kind k) {
  std::size_t n = 0;
  for (auto& e : evs)
    n += e.kind == k;
  return n;
}

} // namespace droplog_test
