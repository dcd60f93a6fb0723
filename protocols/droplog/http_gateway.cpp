#include "protocols/droplog/http_gateway.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/common/stable_hash.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace peerlab::droplog::http {

// -- pending_table --------------------------------------------------------------

std::optional<std::uint64_t> pending_table::begin(rng& r, time_us now, time_us timeout,
                                                  std::uint64_t tag, std::uint64_t request_bytes) {
  if (by_id_.size() >= max_)
    return std::nullopt;
  std::uint64_t id = 0;
  do
    id = r.next();
  while (id == 0 || by_id_.count(id));
  entry e{now, now + timeout, tag, request_bytes};
  by_id_.emplace(id, e);
  by_deadline_.emplace(e.deadline, id);
  return id;
}

std::optional<pending_table::entry> pending_table::complete(std::uint64_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return std::nullopt;
  auto e = it->second;
  auto [lo, hi] = by_deadline_.equal_range(e.deadline);
  for (auto d = lo; d != hi; ++d)
    if (d->second == id) {
      by_deadline_.erase(d);
      break;
    }
  by_id_.erase(it);
  return e;
}

std::vector<std::pair<std::uint64_t, pending_table::entry>> pending_table::expire(time_us now) {
  std::vector<std::pair<std::uint64_t, entry>> out;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    auto id = by_deadline_.begin()->second;
    by_deadline_.erase(by_deadline_.begin());
    auto it = by_id_.find(id);
    out.emplace_back(id, it->second);
    by_id_.erase(it);
  }
  return out;
}

time_us pending_table::next_deadline() const {
  return by_deadline_.empty() ? std::numeric_limits<time_us>::max() : by_deadline_.begin()->first;
}

// -- metrics --------------------------------------------------------------------

void gateway_metrics::count_status(std::uint16_t status) {
  ++responses;
  if (status >= 200 && status < 300)
    ++status_2xx;
  else if (status >= 300 && status < 400)
    ++status_3xx;
  else if (status >= 400 && status < 500)
    ++status_4xx;
  else if (status >= 500)
    ++status_5xx;
}

void gateway_metrics::add_latency(time_us d) {
  double s = static_cast<double>(d) / us_per_s;
  ++latency_samples;
  latency_sum_s += s;
  latency_max_s = std::max(latency_max_s, s);
}

double gateway_metrics::error_percent() const {
  return responses ? 100.0 * static_cast<double>(status_5xx) / static_cast<double>(responses) : 0;
}

std::vector<std::pair<std::string, double>> gateway_metrics::values() const {
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  return {{"requests", d(requests)},
          {"responses", d(responses)},
          {"status_2xx", d(status_2xx)},
          {"status_3xx", d(status_3xx)},
          {"status_4xx", d(status_4xx)},
          {"status_5xx", d(status_5xx)},
          {"gateway_timeouts", d(gateway_timeouts)},
          {"upstream_errors", d(upstream_errors)},
          {"rejected", d(rejected)},
          {"late_responses", d(late_responses)},
          {"bad_messages", d(bad_messages)},
          {"request_body_bytes", d(request_body_bytes)},
          {"response_body_bytes", d(response_body_bytes)},
          {"latency_mean_s", latency_samples ? latency_sum_s / d(latency_samples) : 0},
          {"latency_max_s", latency_max_s},
          {"error_percent", error_percent()}};
}

// -- simulated upstream ---------------------------------------------------------

bytes simulated_body(std::string_view target, std::uint64_t n) {
  rng r(stable_hash(target.data(), target.size(), 0x5eed));
  bytes b(n);
  for (std::size_t i = 0; i < n; i += 8) {
    auto v = r.next();
    for (std::size_t k = 0; k < 8 && i + k < n; ++k)
      b[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
  return b;
}

namespace {
std::optional<std::uint64_t> number_after(std::string_view target, std::string_view prefix) {
  if (target.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto rest = target.substr(prefix.size());
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
  if (ec != std::errc() || p == rest.data())
    return std::nullopt;
  return v;
}
} // namespace

response simulated_upstream(const request& q, std::uint64_t max_body) {
  response p;
  p.id = q.id;
  p.headers.push_back({"Content-Type", "application/octet-stream"});
  if (auto code = number_after(q.target, "/status/"); code && *code >= 200 && *code <= 599) {
    p.status = static_cast<std::uint16_t>(*code);
  } else if (auto n = number_after(q.target, "/size/")) {
    if (*n > max_body) {
      p.status = 413;
    } else if (q.method == "GET" || q.method == "HEAD" || q.method == "DELETE") {
      p.status = 200;
      if (q.method != "HEAD")
        p.body = simulated_body(q.target, *n);
    } else {
      // Echo: the digest of what was received, then the body itself.
      p.status = 200;
      auto dg = sha256::of(byte_view{q.body.data(), q.body.size()});
      p.body.assign(dg.begin(), dg.end());
      if (q.body.size() + dg.size() <= max_body)
        p.body.insert(p.body.end(), q.body.begin(), q.body.end());
    }
  } else {
    p.status = 404;
  }
  p.reason = reason_phrase(p.status);
  return p;
}

} // namespace peerlab::droplog::http
