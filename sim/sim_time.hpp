#pragma once
// Virtual time arithmetic that cannot overflow. Every place where a double
// (a distribution sample, a serialisation delay) becomes a time_us, and every
// "now + delay", goes through these helpers: a value beyond the range of
// time_us saturates at time_never, which lies after the end of every run, so
// the event it schedules simply never happens. Converting an out-of-range
// double with static_cast is undefined behaviour and gave events at negative
// times.
#include "protocols/common/types.hpp"

#include <cmath>
#include <limits>

namespace peerlab::sim {

/// Later than any scenario's end: an event at this time is never processed.
constexpr time_us time_never = std::numeric_limits<time_us>::max();

/// A delay in µs as a time_us: rounded down, negative and NaN give 0, values
/// at or beyond time_never give time_never.
inline time_us delay_us(double us) {
  if (!(us > 0)) // also NaN
    return 0;
  // 2^63 is exactly representable; every double below it converts without overflow.
  if (us >= 9223372036854775808.0)
    return time_never;
  return static_cast<time_us>(us);
}

/// t + delay for t >= 0, saturating at time_never; a negative delay counts as 0.
inline time_us later(time_us t, time_us delay) {
  if (delay <= 0)
    return t;
  return t > time_never - delay ? time_never : t + delay;
}

/// n * d for d >= 0 (the n-th tick of a period), saturating at time_never.
inline time_us times(std::uint64_t n, time_us d) {
  if (n == 0 || d <= 0)
    return 0;
  return n > static_cast<std::uint64_t>(time_never / d) ? time_never : static_cast<time_us>(n) * d;
}

} // namespace peerlab::sim
