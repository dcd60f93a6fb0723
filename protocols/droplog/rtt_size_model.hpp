#pragma once
// Round trip as a function of packet size, rtt = a + b x size (issue 15: on a
// file-drop channel a file takes longer to deliver the larger it is, so one
// srtt for every file times large ones out too early and small ones too late).
// Exponentially decayed weighted least squares over (size, rtt) samples kept
// as running weighted means and co-moments (West's update, stable when sizes
// barely vary), so the state is a handful of numbers. The slope is clamped at
// 0; with too few samples, sizes that hardly varied, or a size effect below
// the noise the fit is not used and the caller falls back to its plain srtt. A deviation of the
// residuals, as rttvar is of srtt, gives a per-size timeout a + b x size + 4 dev.
#include "protocols/common/types.hpp"

#include <cstdint>

namespace peerlab::droplog {

class rtt_size_model {
public:
  /// `window`: each sample's weight decays by 1 - 1/window per later sample,
  /// so about the last `window` samples count. `min_samples`: effective weight
  /// needed before the fit is used (at most window / 2; else it throws). `min_spread`: weighted
  /// standard deviation of the sizes, relative to their mean, below which the slope is noise.
  explicit rtt_size_model(double window = 32, double min_samples = 8, double min_spread = 0.1);

  /// One sample: a packet of `size` bytes acknowledged `rtt` after it was sent.
  void sample(std::uint64_t size, time_us rtt);

  /// Whether the fit is usable: enough samples, sizes varied enough, and the
  /// slope over one standard deviation of the sizes at least the deviation
  /// (size explains more than noise; a falling slope never qualifies).
  bool fitted() const;
  /// Intercept (us) and slope (us per byte, >= 0) of the current fit; without
  /// a usable fit, the weighted mean rtt and 0.
  double intercept() const { return line().a; }
  double slope() const { return line().b; }
  /// Expected round trip of a packet of `size` bytes (at least 1 us).
  time_us predict(std::uint64_t size) const;
  /// Mean absolute residual of samples against the fit before them (out of
  /// sample, so it also holds the fit's own error), EWMA with gain 1/4.
  time_us deviation() const { return static_cast<time_us>(dev_); }
  /// Residual of the latest sample against the current fit: the analogue of
  /// RFC 9002's latest_rtt in max(srtt, latest_rtt), moved to any size.
  time_us latest_excess() const { return static_cast<time_us>(excess_); }
  /// Effective number of samples (sum of the decayed weights).
  double weight() const { return w_; }
  std::uint64_t samples() const { return n_; }

private:
  struct line_t {
    double a, b;
  };
  line_t line() const;
  double center(double x) const;

  double decay_, min_samples_, min_spread_;
  double w_ = 0, mx_ = 0, my_ = 0, cxx_ = 0, cxy_ = 0; // decayed weight, means, co-moments
  double dev_ = 0, excess_ = 0;
  std::uint64_t n_ = 0;
};

} // namespace peerlab::droplog
