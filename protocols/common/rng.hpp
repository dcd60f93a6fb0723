#pragma once
// Seeded randomness. xoshiro256** seeded through splitmix64, plus the few
// distributions the project needs, written out here because the standard
// library's distributions differ between implementations.
#include <cmath>
#include <cstdint>

namespace peerlab {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Derives an independent seed for a sub-stream (a node, the network, churn).
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub = 0) {
  std::uint64_t s = seed ^ (stream * 0xd1342543de82ef95ULL) ^ (sub * 0xa0761d6478bd642fULL);
  splitmix64(s);
  return splitmix64(s);
}

class rng {
public:
  explicit rng(std::uint64_t seed = 1) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& w : s_)
      w = splitmix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1).
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n); n > 0. Lemire's multiply-shift (tiny bias is fine here).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  bool chance(double p) { return p > 0 && uniform01() < p; }

  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }

  double exponential(double mean) { return -mean * std::log1p(-uniform01()); }

  /// Standard normal by Box-Muller (one value per call, no caching, so the
  /// number of draws per call is always two).
  double normal(double mean, double stddev) {
    double u1 = uniform01();
    double u2 = uniform01();
    if (u1 < 1e-300)
      u1 = 1e-300;
    return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  double lognormal(double median, double sigma) { return median * std::exp(normal(0.0, sigma)); }

  /// Pareto with scale x_m (minimum) and shape alpha.
  double pareto(double xm, double alpha) { return xm / std::pow(1.0 - uniform01(), 1.0 / alpha); }

  /// Weibull with shape k and scale lambda.
  double weibull(double k, double lambda) {
    return lambda * std::pow(-std::log1p(-uniform01()), 1.0 / k);
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

} // namespace peerlab
