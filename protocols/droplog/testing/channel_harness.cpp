#include "protocols/droplog/testing/channel_harness.hpp"

#include "protocols/common/link_rules.hpp"

#include <algorithm>
#include <cmath>

namespace peerlab::droplog::testing {

session_config small_config(peer_id local, peer_id remote) {
  session_config c;
  c.local = local;
  c.remote = remote;
  c.shared_key = harness_key;
  c.fragment_bytes = 256;
  c.ack_ranges = 8;
  c.nacks_per_packet = 8;
  c.min_packet_bytes = 1024;
  c.max_packet_bytes = 16 * 1024;
  c.initial_packet_bytes = 4 * 1024;
  c.size_increase_bytes = 512;
  c.initial_rtt = 1 * us_per_s;
  c.max_ack_delay = 50 * us_per_ms;
  c.max_outbox_entries = 1 << 14;
  c.max_outbox_bytes = 4 << 20;
  c.window_entries = 1024;
  c.max_inflight_packets = 64;
  c.max_inflight_bytes = 256 * 1024;
  c.max_tracked_packets = 1024;
  return c;
}

bytes message_body(std::uint64_t index, std::size_t size, std::uint64_t salt) {
  bytes b(size);
  rng r(derive_seed(salt, index));
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<std::uint8_t>(i < 8 ? (index >> (8 * i)) : r.next());
  return b;
}

namespace {
byte_view view(const bytes& b) { return {b.data(), b.size()}; }
} // namespace

channel_run::channel_run(session_config a, session_config b, channel_params ch, workload w,
                         std::uint64_t seed)
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

bool channel_run::run(time_us deadline) {
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

int channel_run::run_restarting(time_us every, int max_restarts, time_us deadline) {
  time_us t = now_;
  int restarts = 0;
  while (!finished() && t < deadline) {
    t += every;
    run(t);
    if (!done() && restarts < max_restarts)
      restart(restarts++ % 2);
  }
  return restarts;
}

void channel_run::restart(int s) {
  side_[s].reset();
  side_[s] = std::make_unique<session>(cfg_[s], &kv_[s]);
  ++restarts_;
  wake_at_[s] = now_;
  push(now_, s, event_type::wake, {});
}

void channel_run::push(time_us at, int s, event_type t, bytes data) {
  queue_.push({at, next_seq_++, s, t, std::move(data)});
}

void channel_run::handle(event& ev) {
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

void channel_run::submit_due(int s) {
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

void channel_run::check(int s, std::vector<delivered_message>& got) {
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

void channel_run::poll(int s) {
  auto r = side_[s]->poll(now_);
  for (auto& p : r.packets)
    transmit(1 - s, std::move(p.data));
  if (r.next_wake != never && (wake_at_[s] <= now_ || r.next_wake < wake_at_[s])) {
    wake_at_[s] = std::max(r.next_wake, now_);
    push(wake_at_[s], s, event_type::wake, {});
  }
}

void channel_run::transmit(int to, bytes data) {
  channel_bytes_ += data.size();
  file_sizes_.push_back(data.size());
  ++files_;
  if (net_rng_.chance(ch_.loss))
    return;
  const int copies = net_rng_.chance(ch_.duplicate) ? 2 : 1;
  for (int c = 0; c < copies; ++c) {
    bytes f = data;
    bool cut = false;
    if (net_rng_.chance(ch_.truncate)) {
      f.resize(net_rng_.below(f.size()));
      cut = true;
    }
    // After the uniform cut, as in the simulator's rule chain; no draw when
    // off, so runs without it keep their numbers.
    if (ch_.truncate_scale > 0 && !f.empty()) {
      auto at = link::size_cut(f.size(), ch_.truncate_scale, net_rng_);
      if (at < f.size()) {
        f.resize(at);
        cut = true;
      }
    }
    truncated_ += cut;
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
    time_us delay = ch_.delay_min + static_cast<time_us>(net_rng_.below(static_cast<std::uint64_t>(
                                      ch_.delay_max - ch_.delay_min + 1)));
    // By the size written, not what survives a cut: writing takes that long.
    delay += static_cast<time_us>(ch_.delay_per_byte_us * static_cast<double>(data.size()));
    push(now_ + delay, to, event_type::deliver, std::move(f));
  }
}

} // namespace peerlab::droplog::testing
