#include "sim/confidence.hpp"

#include <cmath>
#include <stdexcept>

namespace peerlab::sim {

namespace {

// Continued fraction of the regularized incomplete beta (Lentz's method).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  d = 1 / (std::fabs(d) < tiny ? tiny : d);
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < tiny ? tiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < tiny ? tiny : c;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < tiny ? tiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < tiny ? tiny : c;
    double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15)
      break;
  }
  return h;
}

// I_x(a, b).
double inc_beta(double a, double b, double x) {
  if (x <= 0)
    return 0;
  if (x >= 1)
    return 1;
  double lbt =
    std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log(1 - x);
  if (x < (a + 1) / (a + b + 2))
    return std::exp(lbt) * beta_cf(a, b, x) / a;
  return 1 - std::exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

// P(|T| > t) for Student's t with df degrees of freedom.
double two_sided_tail(double t, double df) { return inc_beta(df / 2, 0.5, df / (df + t * t)); }

} // namespace

double student_t95(std::size_t df) {
  if (df == 0)
    throw std::invalid_argument("student_t95: needs at least one degree of freedom");
  // The tail falls as t grows: bisect for tail = 0.05 (t is below 13 for df >= 1).
  double lo = 0, hi = 20;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    double mid = (lo + hi) / 2;
    (two_sided_tail(mid, static_cast<double>(df)) > 0.05 ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

mean_ci mean_ci95(const std::vector<double>& samples) {
  mean_ci r;
  r.n = samples.size();
  if (r.n == 0)
    return r;
  double sum = 0;
  for (double x : samples)
    sum += x;
  r.mean = sum / static_cast<double>(r.n);
  if (r.n < 2)
    return r;
  double ss = 0;
  for (double x : samples)
    ss += (x - r.mean) * (x - r.mean);
  double sd = std::sqrt(ss / static_cast<double>(r.n - 1));
  r.half_width = student_t95(r.n - 1) * sd / std::sqrt(static_cast<double>(r.n));
  r.has_interval = true;
  return r;
}

} // namespace peerlab::sim
