#include "sim/drivers/drop_driver.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/sha256.hpp"
#include "protocols/droplog/http_gateway.hpp"
#include "sim/checkers.hpp"
#include "sim/seed_streams.hpp"
#include "sim/sim_time.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace peerlab::sim::drop {

namespace {

using nlohmann::json;
namespace http = peerlab::droplog::http;

struct params {
  std::string a, b, forger;
  time_us start = 1 * us_per_s;
  std::uint64_t messages = 100; // per direction
  time_us interval = 100 * us_per_ms;
  std::uint64_t min_size = 16, max_size = 600;
  double large_share = 0.02;
  std::uint64_t large_size = 5000;
  std::uint64_t http_calls = 0;
  time_us http_interval = 1 * us_per_s;
  std::uint64_t http_body = 2048, http_response = 8192;
};

constexpr std::uint64_t max_messages = 1'000'000;
constexpr std::uint64_t max_message_size = 16u << 20;

params parse(const json& item, const std::string& path, const scenario& s) {
  cfg::only_keys(item, path,
                 {"kind", "a", "b", "forger", "start", "messages", "interval", "min_size",
                  "max_size", "large_share", "large_size", "http_calls", "http_interval",
                  "http_body", "http_response"});
  params p;
  auto group = [&](const char* k, std::string& out, bool required) {
    auto* v = cfg::member(item, k);
    if (!v) {
      if (required)
        cfg::fail_msg(path, std::string("droplog workload needs \"") + k + "\" (a group name)");
      return;
    }
    out = cfg::get_string(*v, cfg::child(path, k));
    auto* g = s.find_group(out);
    if (!g)
      cfg::fail(cfg::child(path, k), "the name of a group", *v);
    if (g->count == 0)
      cfg::fail(cfg::child(path, k), "a group with at least one node", *v);
  };
  group("a", p.a, true);
  group("b", p.b, true);
  group("forger", p.forger, false);
  if (p.a == p.b)
    cfg::fail_msg(path, "\"a\" and \"b\" must be different groups");
  auto duration = [&](const char* k, time_us& f) {
    if (auto* v = cfg::member(item, k))
      f = cfg::get_duration(*v, cfg::child(path, k));
  };
  auto count = [&](const char* k, std::uint64_t& f, std::uint64_t max) {
    if (auto* v = cfg::member(item, k)) {
      f = cfg::get_count(*v, cfg::child(path, k));
      if (f > max)
        cfg::fail(cfg::child(path, k), "at most " + std::to_string(max), *v);
    }
  };
  duration("start", p.start);
  duration("interval", p.interval);
  duration("http_interval", p.http_interval);
  count("messages", p.messages, max_messages);
  count("min_size", p.min_size, max_message_size);
  count("max_size", p.max_size, max_message_size);
  count("large_size", p.large_size, max_message_size);
  count("http_calls", p.http_calls, max_messages);
  count("http_body", p.http_body, max_message_size);
  count("http_response", p.http_response, max_message_size);
  if (auto* v = cfg::member(item, "large_share"))
    p.large_share = cfg::get_probability(*v, cfg::child(path, "large_share"));
  if (p.min_size < 8 || p.min_size > p.max_size)
    cfg::fail_msg(path,
                  "need 8 <= min_size <= max_size (the first 8 bytes carry the message index)");
  if (p.large_size < 8)
    cfg::fail_msg(path, "large_size must be at least 8");
  if (p.interval <= 0 || p.http_interval <= 0)
    cfg::fail_msg(path, "interval and http_interval must be positive");
  return p;
}

/// Message i of a direction: its index in 8 bytes, then bytes of a seeded generator.
bytes message_body(std::uint64_t index, std::uint64_t size, std::uint64_t stream) {
  bytes b(size);
  rng r(derive_seed(stream, index));
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<std::uint8_t>(i < 8 ? (index >> (8 * i)) : r.next());
  return b;
}

std::string as_string(const bytes& b) { return {b.begin(), b.end()}; }

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

enum tick_kind : std::uint64_t { send_ab = 0, send_ba = 1, http_call = 2 };

class driver final : public workload_driver {
public:
  explicit driver(params p) : p_(std::move(p)) {}

  void start(sim_api& api) override {
    // Message bytes: one stream per direction and one for HTTP bodies.
    for (std::uint64_t k = 0; k < 3; ++k)
      body_seed_[k] = stream_seed(api.run_seed(), seed_stream::message_bodies, k);
    node_a_ = api.group_nodes(p_.a).first;
    node_b_ = api.group_nodes(p_.b).first;
    dir_[0].from = node_a_, dir_[0].to = node_b_;
    dir_[1].from = node_b_, dir_[1].to = node_a_;
    for (int d = 0; d < 2; ++d) {
      auto& dr = dir_[d];
      for (std::uint64_t i = 0; i < p_.messages; ++i) {
        bool large = api.workload_rng().chance(p_.large_share);
        auto size = large ? p_.large_size
                          : p_.min_size + api.workload_rng().below(p_.max_size - p_.min_size + 1);
        auto body = message_body(i, size, body_seed_[d]);
        dr.sizes.push_back(size);
        dr.sha.push_back(to_hex(sha256::of({body.data(), body.size()})));
      }
      dr.submitted_at.assign(p_.messages, -1);
      if (p_.messages > 0)
        api.schedule(p_.start, dr.from, (static_cast<std::uint64_t>(d) << 32) | 0);
    }
    if (p_.http_calls > 0)
      api.schedule(p_.start, node_a_, (static_cast<std::uint64_t>(http_call) << 32) | 0);
  }

  void tick(sim_api& api, std::uint32_t, std::uint64_t arg) override {
    auto kind = arg >> 32;
    auto idx = arg & 0xffffffffu;
    if (kind == http_call)
      return issue_http(api, idx);
    auto& dr = dir_[kind];
    if (idx != dr.next || dr.outstanding != 0 || idx >= p_.messages)
      return; // stale or already in progress
    auto body = message_body(idx, dr.sizes[idx], body_seed_[kind]);
    auto cmd =
      api.issue_command(dr.from, "droplog", "send", {api.peer_arg(dr.to), as_string(body)});
    if (cmd == 0) { // offline: try again later
      api.schedule(api.now() + p_.interval, dr.from, arg);
      return;
    }
    dr.outstanding = cmd;
    sends_[cmd] = {static_cast<int>(kind), idx};
  }

  void on_event(sim_api& api, std::uint32_t node, const event& e) override {
    if (e.kind == "droplog_submitted" || (e.kind == "command_failed" && sends_.count(e.command_id)))
      return on_submit(api, e);
    if (e.kind == "command_failed" && calls_.count(e.command_id)) {
      auto& c = calls_[e.command_id];
      c.done = true;
      ++http_refused_;
      note_http("call " + std::to_string(c.index) + " refused: " + field(e, "reason"));
      return;
    }
    if (e.kind == "droplog_delivered")
      return on_delivered(api, node, e);
    if (e.kind == "http_response")
      return on_http_response(api, e);
    if (node != node_a_ && node != node_b_) {
      if (e.kind == "droplog_forged_sent")
        ++forged_sent_;
      return;
    }
    if (e.kind == "droplog_written") {
      channel_bytes_ += static_cast<std::uint64_t>(e.value("bytes"));
      files_ += static_cast<std::uint64_t>(e.value("files"));
    } else if (e.kind == "droplog_rejected") {
      ++rejected_;
    }
  }

  void on_node_down(sim_api&, std::uint32_t node, bool) override {
    for (auto& dr : dir_)
      if (dr.from == node && dr.outstanding) {
        sends_.erase(dr.outstanding); // the command is skipped while the node is down
        dr.outstanding = 0;
      }
    if (node == node_a_)
      for (auto& [id, c] : calls_)
        if (!c.done) {
          c.done = true;
          ++http_lost_to_crash_;
        }
  }

  void on_node_up(sim_api& api, std::uint32_t node) override {
    for (int d = 0; d < 2; ++d)
      if (dir_[d].from == node && dir_[d].outstanding == 0 && dir_[d].next < p_.messages)
        api.schedule(std::max(api.now(), p_.start), node,
                     (static_cast<std::uint64_t>(d) << 32) | dir_[d].next);
  }

  bool evaluate(const sim_api& api, const checker_spec& c, verdict& v) const override {
    if (c.check == "droplog_delivery") {
      std::string bad;
      for (int d = 0; d < 2; ++d) {
        auto& dr = dir_[d];
        if (dr.delivered != p_.messages)
          bad += std::string(d ? "b->a" : "a->b") + ": " + std::to_string(dr.delivered) + " of " +
                 std::to_string(p_.messages) + " delivered; ";
      }
      v.passed = bad.empty() && order_violations_ == 0 && content_violations_ == 0;
      v.detail = v.passed ? std::to_string(2 * p_.messages) +
                              " messages delivered exactly once, in order, intact"
                          : bad + std::to_string(order_violations_) + " order/duplicate and " +
                              std::to_string(content_violations_) + " content violations" +
                              (first_violation_.empty() ? "" : "; first: " + first_violation_);
      return true;
    }
    if (c.check == "droplog_no_forgery") {
      bool want_forgeries = !p_.forger.empty();
      v.passed =
        content_violations_ == 0 && (!want_forgeries || (forged_sent_ > 0 && rejected_ > 0));
      v.detail = std::to_string(content_violations_) +
                 " messages with content that was never sent; " + std::to_string(forged_sent_) +
                 " forged files sent, " + std::to_string(rejected_) +
                 " files rejected by the two sides" +
                 (first_violation_.empty() ? "" : "; first: " + first_violation_);
      return true;
    }
    if (c.check == "droplog_http") {
      double max_timeouts = 0;
      if (auto it = c.raw.find("max_timeouts"); it != c.raw.end() && it->is_number())
        max_timeouts = it->get<double>();
      std::uint64_t open = 0;
      for (auto& [id, call] : calls_)
        open += !call.done;
      v.passed = http_issued_ == p_.http_calls && open == 0 && http_wrong_ == 0 &&
                 http_refused_ == 0 && static_cast<double>(http_timeouts_) <= max_timeouts;
      v.detail = std::to_string(http_ok_) + " of " + std::to_string(p_.http_calls) +
                 " calls answered correctly, " + std::to_string(http_timeouts_) +
                 " gateway timeouts (max " + std::to_string(static_cast<int>(max_timeouts)) +
                 "), " + std::to_string(http_wrong_) + " wrong, " + std::to_string(open) +
                 " unanswered, " + std::to_string(http_lost_to_crash_) +
                 " lost with a crashed caller" +
                 (first_http_problem_.empty() ? "" : "; first: " + first_http_problem_);
      (void)api;
      return true;
    }
    return false;
  }

  void summarize(const sim_api&, json& summary) const override {
    std::vector<double> lat;
    for (auto l : latencies_)
      lat.push_back(static_cast<double>(l) / us_per_s);
    double mean = 0;
    for (auto l : lat)
      mean += l;
    mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size());
    std::vector<double> hl;
    for (auto l : http_latencies_)
      hl.push_back(static_cast<double>(l) / us_per_s);
    double useful = static_cast<double>(payload_bytes_ + http_payload_bytes_);
    summary["droplog"] = {
      {"messages_delivered", dir_[0].delivered + dir_[1].delivered},
      {"payload_bytes", payload_bytes_},
      {"http_payload_bytes", http_payload_bytes_},
      {"channel_bytes", channel_bytes_},
      {"files", files_},
      {"goodput", channel_bytes_ ? useful / static_cast<double>(channel_bytes_) : 0.0},
      {"latency_mean_s", mean},
      {"latency_p95_s", quantile(lat, 0.95)},
      {"last_delivery_s", static_cast<double>(last_delivery_) / us_per_s},
      {"http_ok", http_ok_},
      {"http_timeouts", http_timeouts_},
      {"http_latency_p50_s", quantile(hl, 0.5)},
      {"http_latency_p95_s", quantile(hl, 0.95)},
      {"files_rejected", rejected_},
      {"forged_sent", forged_sent_},
      {"violations", order_violations_ + content_violations_}};
  }

private:
  struct direction {
    std::uint32_t from = 0, to = 0;
    std::vector<std::uint64_t> sizes;
    std::vector<std::string> sha;
    std::vector<time_us> submitted_at;
    std::uint64_t next = 0;        // next index to submit
    std::uint64_t outstanding = 0; // command id waiting for its answer
    std::uint64_t delivered = 0;   // next index expected at the receiver
  };
  struct call {
    std::uint64_t index = 0;
    time_us issued = 0;
    std::uint16_t expected_status = 0;
    std::string expected_sha;
    std::uint64_t payload = 0; // request + response body bytes
    bool done = false;
  };

  static std::string field(const event& e, const char* k) {
    auto* f = e.field(k);
    return f ? *f : std::string();
  }

  void violation(std::uint64_t& counter, std::string what) {
    if (order_violations_ + content_violations_ == 0)
      first_violation_ = std::move(what);
    ++counter;
  }

  void note_http(std::string what) {
    if (first_http_problem_.empty())
      first_http_problem_ = std::move(what);
  }

  void on_submit(sim_api& api, const event& e) {
    auto it = sends_.find(e.command_id);
    if (it == sends_.end())
      return;
    auto [d, idx] = it->second;
    sends_.erase(it);
    auto& dr = dir_[d];
    dr.outstanding = 0;
    std::uint64_t arg = (static_cast<std::uint64_t>(d) << 32);
    if (e.kind == "command_failed") { // outbox full: the same message again later
      api.schedule(api.now() + p_.interval, dr.from, arg | idx);
      return;
    }
    dr.submitted_at[idx] = api.now();
    dr.next = idx + 1;
    if (dr.next < p_.messages)
      api.schedule(std::max(api.now(), later(p_.start, times(dr.next, p_.interval))), dr.from,
                   arg | dr.next);
  }

  void on_delivered(sim_api& api, std::uint32_t node, const event& e) {
    auto from = field(e, "from");
    int d = -1;
    for (int k = 0; k < 2; ++k)
      if (dir_[k].to == node && api.peer_arg(dir_[k].from) == from)
        d = k;
    if (d < 0)
      return violation(content_violations_, "node " + std::to_string(node) +
                                              " delivered a message claiming sender " + from);
    auto& dr = dir_[d];
    auto head = bytes_from_hex(field(e, "head"));
    if (!head || head->size() < 8)
      return violation(content_violations_,
                       "a message without an index (" + field(e, "head") + ")");
    std::uint64_t idx = 0;
    for (int i = 0; i < 8; ++i)
      idx |= static_cast<std::uint64_t>((*head)[i]) << (8 * i);
    std::string where = std::string(d ? "b->a" : "a->b") + " message " + std::to_string(idx);
    if (idx >= p_.messages || field(e, "sha256") != dr.sha[idx])
      return violation(content_violations_, where + ": content differs from what was sent");
    if (idx != dr.delivered)
      return violation(order_violations_, where + " delivered where " +
                                            std::to_string(dr.delivered) + " was expected");
    if (dr.submitted_at[idx] < 0)
      return violation(order_violations_, where + " delivered before it was submitted");
    ++dr.delivered;
    payload_bytes_ += dr.sizes[idx];
    latencies_.push_back(api.now() - dr.submitted_at[idx]);
    last_delivery_ = api.now();
  }

  void issue_http(sim_api& api, std::uint64_t idx) {
    if (idx >= p_.http_calls)
      return;
    if (idx == http_issued_) { // the next call is due regardless of answers
      http::request q;
      q.method = idx % 2 ? "POST" : "GET";
      q.target = "/size/" + std::to_string(idx % 2 ? p_.http_body : p_.http_response) +
                 "?call=" + std::to_string(idx);
      if (idx % 2)
        q.body = message_body(idx, p_.http_body, body_seed_[http_call]);
      auto expected = http::simulated_upstream(q, http::limits::body_bytes_max);
      auto cmd = api.issue_command(node_a_, "droplog", "http",
                                   {api.peer_arg(node_b_), q.method, q.target, as_string(q.body)});
      if (cmd == 0) {
        api.schedule(api.now() + p_.http_interval, node_a_,
                     (static_cast<std::uint64_t>(http_call) << 32) | idx);
        return;
      }
      calls_[cmd] = {idx,
                     api.now(),
                     expected.status,
                     to_hex(sha256::of({expected.body.data(), expected.body.size()})),
                     q.body.size() + expected.body.size(),
                     false};
      ++http_issued_;
      if (http_issued_ < p_.http_calls)
        api.schedule(std::max(api.now(), later(p_.start, times(http_issued_, p_.http_interval))),
                     node_a_, (static_cast<std::uint64_t>(http_call) << 32) | http_issued_);
    }
  }

  void on_http_response(sim_api& api, const event& e) {
    auto it = calls_.find(e.command_id);
    if (it == calls_.end() || it->second.done)
      return;
    auto& c = it->second;
    c.done = true;
    auto status = static_cast<std::uint16_t>(e.value("status"));
    http_latencies_.push_back(api.now() - c.issued);
    if (status == 504) {
      ++http_timeouts_;
      return;
    }
    if (status != c.expected_status || field(e, "sha256") != c.expected_sha) {
      ++http_wrong_;
      note_http("call " + std::to_string(c.index) + ": status " + std::to_string(status) +
                " or body differs");
      return;
    }
    ++http_ok_;
    http_payload_bytes_ += c.payload;
  }

  params p_;
  std::uint32_t node_a_ = 0, node_b_ = 0;
  std::uint64_t body_seed_[3] = {}; // message bytes: a->b, b->a, HTTP bodies
  direction dir_[2];
  std::map<std::uint64_t, std::pair<int, std::uint64_t>> sends_; // command id -> (direction, index)
  std::map<std::uint64_t, call> calls_;                          // command id -> HTTP call
  std::vector<time_us> latencies_, http_latencies_;
  std::uint64_t payload_bytes_ = 0, http_payload_bytes_ = 0, channel_bytes_ = 0, files_ = 0;
  std::uint64_t order_violations_ = 0, content_violations_ = 0;
  std::uint64_t rejected_ = 0, forged_sent_ = 0;
  std::uint64_t http_issued_ = 0, http_ok_ = 0, http_timeouts_ = 0, http_wrong_ = 0,
                http_refused_ = 0, http_lost_to_crash_ = 0;
  time_us last_delivery_ = 0;
  std::string first_violation_, first_http_problem_;
};

} // namespace

driver_kind droplog_driver_kind() {
  driver_kind k;
  k.validate = [](const json& item, const std::string& path, const scenario& so_far) {
    for (auto& d : so_far.driver_items)
      if (d.kind == "droplog")
        cfg::fail_msg(path, "only one droplog workload per scenario");
    parse(item, path, so_far);
  };
  k.make = [](const json& item, const scenario& s) -> std::unique_ptr<workload_driver> {
    return std::make_unique<driver>(parse(item, "workload", s));
  };
  k.checkers = {"droplog_delivery", "droplog_no_forgery", "droplog_http"};
  return k;
}

} // namespace peerlab::sim::drop
