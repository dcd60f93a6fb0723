#pragma once
// The run's fingerprint: every processed event extends a hash chain. Two runs
// with equal chains processed the same events in the same order, with the same
// frame bytes, command verbs and arguments and timer delays, and ended with
// the same generator states and counters.
//
// Every value goes through fixed-width integer mixing or XXH3 (both defined
// bit for bit, independent of compiler, build type and library version),
// never std::hash.
#include "protocols/common/stable_hash.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
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

/// `detail` of the last step of every run (the final state, see finish()).
inline constexpr std::uint64_t end_of_run_detail = 0xe0d0f0e0d0f0e0d0ULL;

/// One step of the chain as a trace recorder sees it (peerlab check).
struct trace_entry {
  std::uint64_t chain; // the chain value after this event and its effects
  time_us time;
  std::uint64_t node;
  event_kind kind;
  std::uint8_t port;
  std::uint8_t msg;     // frame byte 1 (message type) or 0
  std::uint64_t detail; // from-node for deliveries, token for timers, id for commands
};

class trace_recorder;

/// XXH3-64 of every byte.
std::uint64_t frame_digest(byte_view frame);
/// XXH3-64 of the verb and each argument, each prefixed by its length (so
/// ("ab","c") and ("a","bc") differ).
std::uint64_t command_digest(std::string_view verb, const std::vector<std::string>& args);

class fingerprint {
public:
  /// Opens the step of one processed event; the previous step is closed (and
  /// handed to the recorder) first. `content` digests what the event carries.
  void extend(time_us t, event_kind k, std::uint64_t node, std::uint8_t port, std::uint64_t detail,
              std::uint64_t content = 0, std::uint8_t msg = 0);
  /// A step whose content is a frame: all of its bytes are digested.
  void extend_frame(time_us t, event_kind k, std::uint64_t node, std::uint8_t port,
                    std::uint64_t detail, byte_view frame);
  /// Folds an effect of the open event into its step: a timer the event set.
  void timer_set(std::uint64_t node, std::uint8_t port, time_us delay, std::uint64_t token);
  /// The last step: the end time and a digest of the final state (generators,
  /// counters). Closes it at once.
  void finish(time_us t, std::uint64_t final_state);

  std::uint64_t value() const { return chain_; }
  /// Steps so far (processed events, plus the end-of-run step once finished).
  std::uint64_t events() const { return count_; }
  std::string hex() const;

  /// Hands every closed step to `r` (nullptr: none). Not owned.
  void attach(trace_recorder* r) { rec_ = r; }
  /// True once the attached recorder has every step it asked for: the run may stop.
  bool recorder_done() const;

private:
  void close();

  std::uint64_t chain_ = 0x7065657240ab5eedULL;
  std::uint64_t count_ = 0;
  bool open_ = false;
  trace_entry pending_{};
  trace_recorder* rec_ = nullptr;
};

std::string hex64(std::uint64_t v);

} // namespace peerlab::sim
