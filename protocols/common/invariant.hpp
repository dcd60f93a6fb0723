#pragma once
// An assertion that stays on in Release builds. A broken invariant means the
// program is wrong, not the input: it throws `invariant_violation` with the
// source location and what was expected, so the caller can stop the run,
// report it (exit 3) and print how to reproduce it. The condition costs one
// branch; the message is only built when the check fails.
#include <stdexcept>
#include <string>

namespace peerlab {

struct invariant_violation : std::logic_error {
  using std::logic_error::logic_error;
};

namespace detail {

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* cond,
                                          const std::string& what) {
  throw invariant_violation("invariant violated at " + std::string(file) + ":" +
                            std::to_string(line) + ": " + what + " (" + cond + ")");
}

} // namespace detail

} // namespace peerlab

/// Throws peerlab::invariant_violation naming file:line, `what` (a string) and
/// the condition when `cond` is false, in every build type.
#define PEERLAB_INVARIANT(cond, what)                                                              \
  do {                                                                                             \
    if (!(cond)) [[unlikely]]                                                                      \
      ::peerlab::detail::invariant_failed(__FILE__, __LINE__, #cond, (what));                      \
  } while (false)
