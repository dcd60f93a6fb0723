#pragma once
// The run's fingerprint: every processed event extends a hash chain. Two runs
// with equal chains processed the same events in the same order with the same
// frame contents (up to the digest, see below).
#include "protocols/common/stable_hash.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace peerlab::sim {

enum class event_kind : std::uint8_t {
  deliver = 1,   // a frame reaches a node's role
  timer = 2,     // a role's timer fires
  command = 3,   // the workload issues a command
  node_up = 4,   // a node starts or restarts
  node_down = 5, // crash or graceful leave
  arrive = 6,    // a frame reaches the receiver's download link (bandwidth model)
  control = 7,   // simulator bookkeeping (metrics sampling, end of run)
};

const char* kind_name(event_kind k);

/// One step of the chain, kept when a run records its trace (peerlab check).
struct trace_entry {
  std::uint64_t chain;
  time_us time;
  std::uint64_t node;
  event_kind kind;
  std::uint8_t port;
  std::uint8_t msg;     // frame byte 1 (message type) or 0
  std::uint64_t detail; // from-node for deliveries, token for timers
};

class fingerprint {
public:
  /// Extends the chain. `payload` is digested by length plus its first 64 and
  /// last 16 bytes: enough to see a differing header, size or flipped tail while
  /// keeping 64 KiB chunks cheap.
  void extend(time_us t, event_kind k, std::uint64_t node, std::uint8_t port, std::uint64_t detail,
              byte_view payload);

  std::uint64_t value() const { return chain_; }
  std::uint64_t events() const { return count_; }
  std::string hex() const;

  void record_trace(bool on, std::size_t max_entries = 50'000'000) {
    record_ = on;
    max_entries_ = max_entries;
  }
  const std::vector<trace_entry>& trace() const { return trace_; }

private:
  std::uint64_t chain_ = 0x7065657240ab5eedULL;
  std::uint64_t count_ = 0;
  bool record_ = false;
  std::size_t max_entries_ = 0;
  std::vector<trace_entry> trace_;
};

std::string hex64(std::uint64_t v);

} // namespace peerlab::sim
