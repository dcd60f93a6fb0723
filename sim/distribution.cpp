#include "sim/distribution.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/limits.hpp"

#include <cmath>
#include <cstdio>

namespace peerlab::sim {

using nlohmann::json;

const char* distribution_names() {
  return "constant, uniform, normal, lognormal, exponential, pareto, weibull";
}

double distribution::sample(rng& r) const {
  double v = 0;
  switch (k) {
  case kind::constant:
    v = a;
    break;
  case kind::uniform:
    v = r.uniform(a, b);
    break;
  case kind::normal:
    v = r.normal(a, b);
    break;
  case kind::lognormal:
    v = r.lognormal(a, b);
    break;
  case kind::exponential:
    v = r.exponential(a);
    break;
  case kind::pareto:
    v = r.pareto(a, b);
    break;
  case kind::weibull:
    v = r.weibull(b, a);
    break;
  }
  v += offset;
  return v < 0 ? 0 : v;
}

double distribution::mean() const {
  switch (k) {
  case kind::constant:
    return a + offset;
  case kind::uniform:
    return (a + b) / 2 + offset;
  case kind::normal:
    return a + offset;
  case kind::lognormal:
    return a * std::exp(b * b / 2) + offset;
  case kind::exponential:
    return a + offset;
  case kind::pareto:
    return (b > 1 ? a * b / (b - 1) : INFINITY) + offset;
  case kind::weibull:
    return a * std::tgamma(1 + 1 / b) + offset;
  }
  return 0;
}

double distribution::p999() const {
  constexpr double z = 3.090232306167813; // standard normal quantile of 0.999
  const double ln1000 = std::log(1000.0);
  switch (k) {
  case kind::constant:
    return a + offset;
  case kind::uniform:
    return b + offset;
  case kind::normal:
    return a + z * b + offset;
  case kind::lognormal:
    return a * std::exp(z * b) + offset;
  case kind::exponential:
    return a * ln1000 + offset;
  case kind::pareto:
    return a * std::exp(ln1000 / b) + offset;
  case kind::weibull:
    return a * std::pow(ln1000, 1 / b) + offset;
  }
  return 0;
}

namespace {

// Samples become virtual time: a distribution that puts more than one sample
// in 1000 beyond the longest run (a Pareto with a tiny shape, a huge sigma)
// describes no scenario peerlab can simulate, and its samples would overflow.
void check_tail(const distribution& d, const std::string& path) {
  double q = d.p999();
  if (q <= static_cast<double>(limits::scenario_us_max))
    return;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.3g years", q / 1e6 / (365.0 * 86400));
  cfg::fail_msg(path, d.describe(true) + " puts one sample in 1000 beyond " + buf +
                        "; its 99.9th percentile must stay within 1000 years (the longest run)");
}

} // namespace

std::string distribution::describe(bool durations) const {
  auto f = [&](double x) {
    return durations ? cfg::format_duration(static_cast<time_us>(x)) : std::to_string(x);
  };
  std::string s;
  switch (k) {
  case kind::constant:
    s = "constant(" + f(a) + ")";
    break;
  case kind::uniform:
    s = "uniform(" + f(a) + ", " + f(b) + ")";
    break;
  case kind::normal:
    s = "normal(mean " + f(a) + ", sd " + f(b) + ")";
    break;
  case kind::lognormal:
    s = "lognormal(median " + f(a) + ", sigma " + std::to_string(b) + ")";
    break;
  case kind::exponential:
    s = "exponential(mean " + f(a) + ")";
    break;
  case kind::pareto:
    s = "pareto(min " + f(a) + ", shape " + std::to_string(b) + ")";
    break;
  case kind::weibull:
    s = "weibull(scale " + f(a) + ", shape " + std::to_string(b) + ")";
    break;
  }
  if (offset > 0)
    s += " + " + f(offset);
  return s;
}

namespace {

// One parser for both kinds of values: `value` reads a duration (µs) or a
// size (bytes) at a path.
template <class Value>
distribution parse_dist(const json& v, const std::string& path, Value&& value) {
  distribution d;
  if (v.is_string() || v.is_number()) { // shorthand: a constant
    d.a = value(v, path);
    check_tail(d, path);
    return d;
  }
  cfg::require_object(v, path);
  const auto& name = cfg::required(v, path, "dist", std::string("one of ") + distribution_names());
  std::string n = cfg::get_string(name, cfg::child(path, "dist"));
  auto dur = [&](const char* key) -> double {
    auto* m = cfg::member(v, key);
    if (!m)
      cfg::fail_msg(path, "distribution " + n + " needs \"" + key + "\"");
    return value(*m, cfg::child(path, key));
  };
  auto num = [&](const char* key) -> double {
    auto* m = cfg::member(v, key);
    if (!m)
      cfg::fail_msg(path, "distribution " + n + " needs \"" + key + "\"");
    double x = cfg::get_number(*m, cfg::child(path, key));
    if (x <= 0)
      cfg::fail(cfg::child(path, key), "a positive number", *m);
    return x;
  };
  if (n == "constant") {
    cfg::only_keys(v, path, {"dist", "value"});
    d.k = distribution::kind::constant;
    d.a = dur("value");
  } else if (n == "uniform") {
    cfg::only_keys(v, path, {"dist", "min", "max"});
    d.k = distribution::kind::uniform;
    d.a = dur("min");
    d.b = dur("max");
    if (d.b < d.a)
      cfg::fail_msg(cfg::child(path, "max"), "must not be below min");
  } else if (n == "normal") {
    cfg::only_keys(v, path, {"dist", "mean", "stddev"});
    d.k = distribution::kind::normal;
    d.a = dur("mean");
    d.b = dur("stddev");
  } else if (n == "lognormal") {
    cfg::only_keys(v, path, {"dist", "median", "sigma"});
    d.k = distribution::kind::lognormal;
    d.a = dur("median");
    d.b = num("sigma");
  } else if (n == "exponential") {
    cfg::only_keys(v, path, {"dist", "mean", "min"});
    d.k = distribution::kind::exponential;
    d.a = dur("mean");
    if (cfg::member(v, "min"))
      d.offset = dur("min");
  } else if (n == "pareto") {
    cfg::only_keys(v, path, {"dist", "min", "shape"});
    d.k = distribution::kind::pareto;
    d.a = dur("min");
    d.b = num("shape");
  } else if (n == "weibull") {
    cfg::only_keys(v, path, {"dist", "scale", "shape"});
    d.k = distribution::kind::weibull;
    d.a = dur("scale");
    d.b = num("shape");
  } else {
    cfg::fail(cfg::child(path, "dist"), std::string("one of ") + distribution_names(), name);
  }
  check_tail(d, path);
  return d;
}

} // namespace

distribution parse_duration_dist(const json& v, const std::string& path) {
  return parse_dist(v, path, [](const json& x, const std::string& p) {
    return static_cast<double>(cfg::get_duration(x, p));
  });
}

distribution parse_size_dist(const json& v, const std::string& path) {
  return parse_dist(v, path, [](const json& x, const std::string& p) {
    return static_cast<double>(cfg::get_size(x, p));
  });
}

} // namespace peerlab::sim
