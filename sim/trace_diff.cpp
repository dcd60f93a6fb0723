#include "sim/trace_diff.hpp"

#include <algorithm>
#include <stdexcept>

namespace peerlab::sim {

std::optional<divergence> first_divergence(const std::vector<trace_entry>& a,
                                           const std::vector<trace_entry>& b,
                                           std::uint64_t offset) {
  std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  // Each entry holds the chain value after that event, so the first unequal
  // chain value is the first event that differs.
  while (i < n && a[i].chain == b[i].chain)
    ++i;
  if (i == a.size() && i == b.size())
    return std::nullopt;
  divergence d{offset + i, std::nullopt, std::nullopt};
  if (i < a.size())
    d.first = a[i];
  if (i < b.size())
    d.second = b[i];
  return d;
}

namespace {

struct event_range {
  std::uint64_t lo, hi; // the first differing event is in [lo, hi)
};

// Both recorders started at `begin`, where the chains agree, and the first
// differing event is below `bound`. Any index both lists hold is comparable.
// If no shared checkpoint differs, the difference lies within one interval of
// the last shared one: every multiple of the larger interval up to the
// shorter run's end is in both lists.
event_range bracket(const trace_recorder& a, const trace_recorder& b, std::uint64_t begin,
                    std::uint64_t bound) {
  auto& ca = a.checkpoints();
  auto& cb = b.checkpoints();
  std::uint64_t lo = begin;
  std::size_t i = 0, j = 0;
  while (i < ca.size() && j < cb.size()) {
    if (ca[i].index != cb[j].index) {
      (ca[i].index < cb[j].index ? i : j)++;
      continue;
    }
    if (ca[i].chain != cb[j].chain)
      return {lo, std::min(ca[i].index, bound)};
    lo = ca[i].index;
    ++i;
    ++j;
  }
  std::uint64_t step = std::max(a.interval(), b.interval());
  return {lo, std::min(lo + step, bound)};
}

} // namespace

check_report compare_runs(const traced_run& a, const traced_run& b, const check_limits& lim) {
  if (lim.max_window == 0 || lim.max_window > record_plan::max_entries_bound ||
      lim.max_checkpoints < 2 || lim.interval == 0)
    throw std::invalid_argument("check limits: need interval >= 1, max_checkpoints >= 2 and "
                                "1 <= max_window <= " +
                                std::to_string(record_plan::max_entries_bound));
  check_report rep;
  auto note = [&](const trace_recorder& r) {
    rep.peak_checkpoints = std::max(rep.peak_checkpoints, r.checkpoints().size());
    rep.peak_entries = std::max(rep.peak_entries, r.entries().size());
  };
  // Runs both sides with one plan; the recorders are handed to `use`.
  auto both = [&](const record_plan& p, auto&& use) {
    trace_recorder ra(p), rb(p);
    auto x = a(ra);
    auto y = b(rb);
    ++rep.passes;
    note(ra);
    note(rb);
    use(ra, rb, x, y);
  };

  record_plan full;
  full.interval = lim.interval;
  full.max_checkpoints = lim.max_checkpoints;
  event_range r{};
  both(full, [&](auto& ra, auto& rb, const traced_result& x, const traced_result& y) {
    rep.first = x;
    rep.second = y;
    rep.identical = x.chain == y.chain && x.events == y.events;
    r = bracket(ra, rb, 0, std::min(x.events, y.events) + 1);
  });
  if (rep.identical)
    return rep;

  // Each pass spreads at most max_checkpoints over the range: it shrinks by
  // that factor. The pass limit only guards against runs that change between passes.
  while (r.hi - r.lo > lim.max_window && rep.passes < 64) {
    record_plan p;
    p.begin = r.lo;
    p.end = r.hi;
    p.interval = (r.hi - r.lo + lim.max_checkpoints - 1) / lim.max_checkpoints;
    p.max_checkpoints = lim.max_checkpoints;
    both(p, [&](auto& ra, auto& rb, auto&, auto&) { r = bracket(ra, rb, p.begin, p.end); });
  }
  if (r.hi - r.lo > lim.max_window)
    return rep; // not reproducible: diff stays empty
  record_plan w;
  w.begin = r.lo;
  w.end = r.hi;
  w.entries = true;
  both(w, [&](auto& ra, auto& rb, auto&, auto&) {
    rep.diff = first_divergence(ra.entries(), rb.entries(), r.lo);
  });
  return rep;
}

} // namespace peerlab::sim
