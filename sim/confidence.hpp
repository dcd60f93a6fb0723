#pragma once
// Mean and 95 % confidence interval over the seeds of one sweep configuration
// (Student t: the seeds are few and the spread is unknown).
#include <cstddef>
#include <vector>

namespace peerlab::sim {

struct mean_ci {
  std::size_t n = 0;
  double mean = 0;
  double half_width = 0;     // the interval is mean +- half_width
  bool has_interval = false; // false for fewer than 2 samples
};

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom
/// (t such that P(|T| <= t) = 0.95); df >= 1.
double student_t95(std::size_t df);

mean_ci mean_ci95(const std::vector<double>& samples);

} // namespace peerlab::sim
