#include "protocols/droplog/survival_model.hpp"

#include <algorithm>
#include <bit>

namespace peerlab::droplog {

namespace {
constexpr double decay = 1.0 - 1.0 / 256; // about the last 256 samples count
constexpr double prior_weight = 8;        // samples before a class stands on its own
} // namespace

std::size_t survival_model::class_of(std::uint64_t size) {
  return std::min<std::size_t>(classes - 1, size ? std::bit_width(size) - 1 : 0);
}

void survival_model::add(stats& s, bool intact, std::size_t bin) {
  s.n = s.n * decay + 1;
  s.cut *= decay;
  for (auto& a : s.at)
    a *= decay;
  if (!intact) {
    s.cut += 1;
    s.at[bin] += 1;
  }
}

void survival_model::observe(std::uint64_t size, std::uint64_t bytes_read, bool intact) {
  if (size == 0)
    return;
  const double f =
    std::clamp(static_cast<double>(bytes_read) / static_cast<double>(size), 0.0, 1.0);
  const auto bin = std::min<std::size_t>(bins - 1, static_cast<std::size_t>(f * bins));
  add(by_size_[class_of(size)], intact, bin);
  add(pooled_, intact, bin);
}

double survival_model::cut_before(const stats& s, double f) {
  if (s.n <= 0)
    return 0;
  // Cuts spread evenly within a bin.
  double below = 0;
  const double pos = std::clamp(f, 0.0, 1.0) * bins;
  for (std::size_t b = 0; b < bins; ++b) {
    const double lo = static_cast<double>(b);
    if (pos >= lo + 1)
      below += s.at[b];
    else if (pos > lo)
      below += s.at[b] * (pos - lo);
  }
  return below / s.n;
}

double survival_model::cut_in_class(std::size_t c, double f) const {
  // A class with few samples leans on the next smaller class that has any,
  // down to the estimate pooled over all sizes: a larger file is never
  // judged better than the sizes below it until it has been tried. (Leaning
  // on the pooled estimate alone let a class that was never completed, as
  // files aimed at it were closed early, look better than every tried one.)
  double cut = 0, weight = 1;
  for (std::size_t k = c + 1; k-- > 0 && weight > 1e-3;) {
    const auto& s = by_size_[k];
    if (s.n <= 0)
      continue;
    const double w = s.n / (s.n + prior_weight);
    cut += weight * w * cut_before(s, f);
    weight *= 1 - w;
  }
  return cut + weight * cut_before(pooled_, f);
}

double survival_model::survive(std::uint64_t end, std::uint64_t size) const {
  if (size == 0)
    return 1;
  const double f = static_cast<double>(end) / static_cast<double>(size);
  return std::clamp(1.0 - cut_in_class(class_of(size), f), 0.0, 1.0);
}

double survival_model::mean_share(std::uint64_t size) const {
  double sum = 0;
  constexpr int steps = 32;
  for (int i = 0; i < steps; ++i)
    sum += survive(static_cast<std::uint64_t>((i + 0.5) / steps * static_cast<double>(size)), size);
  return sum / steps;
}

double survival_model::samples(std::uint64_t size) const { return by_size_[class_of(size)].n; }

} // namespace peerlab::droplog
