#include "sim/trace_recorder.hpp"

#include <stdexcept>
#include <string>

namespace peerlab::sim {

trace_recorder::trace_recorder(record_plan p) : plan_(p), interval_(p.interval) {
  if (plan_.end <= plan_.begin)
    throw std::invalid_argument("trace recorder: empty range [" + std::to_string(plan_.begin) +
                                ", " + std::to_string(plan_.end) + ")");
  if (plan_.entries) {
    if (plan_.end - plan_.begin > record_plan::max_entries_bound)
      throw std::invalid_argument("trace recorder: " + std::to_string(plan_.end - plan_.begin) +
                                  " steps requested, at most " +
                                  std::to_string(record_plan::max_entries_bound) + " are kept");
    entries_.reserve(plan_.end - plan_.begin);
  } else if (plan_.interval == 0 || plan_.max_checkpoints < 2) {
    throw std::invalid_argument(
      "trace recorder: checkpoints need an interval >= 1 and room for at least 2");
  }
  next_ = plan_.begin + interval_;
}

void trace_recorder::add_checkpoint(std::uint64_t index, std::uint64_t chain) {
  checkpoints_.push_back({index, chain});
  next_ = index + interval_;
  if (checkpoints_.size() <= plan_.max_checkpoints)
    return;
  // Full: keep the checkpoints on the doubled grid, so the list covers the
  // whole run at half the resolution and never grows past its bound.
  interval_ *= 2;
  std::size_t kept = 0;
  for (auto& c : checkpoints_)
    if ((c.index - plan_.begin) % interval_ == 0)
      checkpoints_[kept++] = c;
  checkpoints_.resize(kept);
  std::uint64_t last = kept ? checkpoints_.back().index : plan_.begin;
  next_ = last + interval_;
}

} // namespace peerlab::sim
