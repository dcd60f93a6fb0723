#include "protocols/droplog/rtt_size_model.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace peerlab::droplog {

rtt_size_model::rtt_size_model(double window, double min_samples, double min_spread)
    : decay_(1 - 1 / window), min_samples_(min_samples), min_spread_(min_spread) {
  // The decayed weight tends to `window`: a smaller one would never reach min_samples.
  if (!(min_samples >= 2) || !(window >= 2 * min_samples) || !(min_spread > 0))
    throw std::invalid_argument("rtt_size_model: need min_samples >= 2, window >= 2 x "
                                "min_samples and min_spread > 0");
}

void rtt_size_model::sample(std::uint64_t size, time_us rtt) {
  const double x = static_cast<double>(size);
  const double y = static_cast<double>(std::max<time_us>(rtt, 1));
  if (n_ == 0) {
    dev_ = y / 2; // as RFC 6298 seeds rttvar
  } else {
    dev_ += (std::abs(y - center(x)) - dev_) / 4;
  }
  // Weighted incremental means and co-moments with every old weight decayed.
  w_ = decay_ * w_ + 1;
  const double dx = x - mx_;
  mx_ += dx / w_;
  my_ += (y - my_) / w_;
  cxx_ = decay_ * cxx_ + dx * (x - mx_);
  cxy_ = decay_ * cxy_ + dx * (y - my_);
  ++n_;
  excess_ = y - center(x);
}

bool rtt_size_model::fitted() const {
  if (w_ < min_samples_ || mx_ <= 0)
    return false;
  const double var = cxx_ / w_, spread = min_spread_ * mx_;
  if (var < spread * spread)
    return false;
  // Size must explain more than noise: the slope over one standard deviation
  // of the sizes at least the deviation of the samples. Where delay does not
  // grow with size the slope found is a small artefact, and srtt does better.
  return cxy_ / cxx_ * std::sqrt(var) >= dev_;
}

rtt_size_model::line_t rtt_size_model::line() const {
  if (!fitted())
    return {my_, 0};
  const double b = std::max(0.0, cxy_ / cxx_);
  const double a = my_ - b * mx_;
  // A negative intercept (the line extrapolated below the smallest sizes)
  // would give small packets absurd timeouts: then the line goes through the
  // origin and the weighted means instead.
  if (a < 0)
    return {0, my_ / mx_};
  return {a, b};
}

double rtt_size_model::center(double x) const {
  auto l = line();
  return l.a + l.b * x;
}

time_us rtt_size_model::predict(std::uint64_t size) const {
  return std::max<time_us>(1,
                           static_cast<time_us>(std::llround(center(static_cast<double>(size)))));
}

} // namespace peerlab::droplog
