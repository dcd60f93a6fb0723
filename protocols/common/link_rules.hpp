#pragma once
// Link faults as one chain of rules (after turmoil): each rule looks at a
// frame on its way and returns a verdict: pass, drop, duplicate, delay by,
// truncate at, flip bits at. The simulator's network model and the live
// fault-injecting folder mirror (net/mirror) run the same chain, so a fault
// means the same thing in both. Pure: time and randomness come in as
// arguments, and a rule whose rate is 0 draws nothing.
#include "protocols/common/rng.hpp"
#include "protocols/common/types.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace peerlab::link {

namespace bounds {
constexpr std::size_t copies_max = 2;             // a frame and one duplicate
constexpr std::size_t flips_per_frame_max = 4096; // bit rot stops flipping past this
} // namespace bounds

/// What a rule may look at. `from`/`to` are group indices in the simulator
/// (0 in the mirror, which has one link).
struct frame_info {
  std::uint32_t from = 0, to = 0;
  time_us now = 0;
  std::size_t size = 0; // bytes, after the truncations of earlier rules
};

enum class rule_kind : std::uint8_t {
  partition,
  loss,
  duplicate,
  delay,
  truncate,
  corrupt,
  bit_rot,
  truncate_by_size
};
const char* name(rule_kind k);

struct verdict {
  enum class kind : std::uint8_t { pass, drop, duplicate, delay, truncate, flip };
  kind what = kind::pass;
  time_us delay = 0;               // delay: extra time in flight
  std::size_t at = 0;              // truncate: the new length (< size)
  std::vector<std::uint64_t> bits; // flip: bit positions, byte * 8 + bit
};

class rule {
public:
  virtual ~rule() = default;
  virtual rule_kind kind() const = 0;
  virtual verdict judge(const frame_info& f, rng& r) const = 0;
};

/// Frames from group `from` to group `to` in [start, until) are dropped.
struct window {
  std::uint32_t from = 0, to = 0;
  time_us start = 0, until = 0;
};

class partition_rule final : public rule {
public:
  explicit partition_rule(std::vector<window> w) : windows_(std::move(w)) {}
  rule_kind kind() const override { return rule_kind::partition; }
  verdict judge(const frame_info& f, rng& r) const override;
  /// No draw: also asked when a frame in flight arrives.
  bool cuts(std::uint32_t from, std::uint32_t to, time_us now) const;

private:
  std::vector<window> windows_;
};

std::unique_ptr<rule> loss(double p);
std::unique_ptr<rule> duplicate(double p);
/// With probability p, extra delay uniform in [0, max] (p = 1: always).
std::unique_ptr<rule> delay(double p, time_us max);
/// With probability p, cut at a uniformly random byte (an empty frame passes).
std::unique_ptr<rule> truncate(double p);
/// Size-dependent truncation: every byte ends the frame early with the same
/// hazard 1/scale, so a frame of `size` bytes is cut with probability
/// 1 - exp(-size / scale) (large files are cut more often), at an
/// exponentially distributed length. scale 0: no rule.
std::unique_ptr<rule> truncate_by_size(std::uint64_t scale_bytes);
/// The cut of truncate_by_size as a function (one draw): the new length if
/// the frame is cut, else `size`.
std::size_t size_cut(std::size_t size, double scale_bytes, rng& r);
/// The scale at which a frame of `size` bytes is cut with probability `p`
/// (0 < p < 1): what makes truncate_by_size comparable to truncate(p) at
/// that size.
double scale_for(double p, double size);

/// With probability p, one uniformly random bit flipped.
std::unique_ptr<rule> corrupt(double p);
/// Each byte independently gets one bit flipped with probability p (geometric
/// gaps: one draw per flip, not per byte).
std::unique_ptr<rule> bit_rot(double per_byte);

/// What happens to one copy of a frame.
struct copy_fate {
  bool dropped = false; // by a rule after the duplicate that made it
  rule_kind dropped_by = rule_kind::loss;
  time_us delay = 0;
  bool delayed = false; // a delay rule fired (the copy may overtake others)
  bool truncated = false;
  std::size_t size = 0;            // length after truncation
  std::vector<std::uint64_t> bits; // flipped, within `size`
};

struct fate {
  bool dropped = false;                   // no copy survives
  rule_kind dropped_by = rule_kind::loss; // the rule that dropped the first copy
  bool duplicated = false;
  std::size_t copies = 0; // surviving copies, in copy[0 .. copies)
  std::array<copy_fate, bounds::copies_max> copy;
};

class chain {
public:
  /// Rules run in the order added. A null rule (rate 0) is skipped.
  chain& add(std::unique_ptr<rule> r);
  bool empty() const { return rules_.empty(); }
  std::size_t size() const { return rules_.size(); }

  /// Runs every rule on the frame; a duplicate runs the rest of the chain
  /// separately for each copy.
  fate run(const frame_info& f, rng& r) const;

private:
  void run_from(std::size_t i, frame_info f, std::size_t copy, fate& out, rng& r) const;
  std::vector<std::unique_ptr<rule>> rules_;
};

/// Applies a copy's truncation and bit flips to the frame's bytes.
void apply(const copy_fate& c, bytes& frame);

} // namespace peerlab::link
