#include "sim/fingerprint.hpp"

#include "sim/trace_recorder.hpp"

#include <xxhash.h>

#include <cstdio>

namespace peerlab::sim {

const char* kind_name(event_kind k) {
  switch (k) {
  case event_kind::deliver:
    return "deliver";
  case event_kind::timer:
    return "timer";
  case event_kind::command:
    return "command";
  case event_kind::node_up:
    return "node_up";
  case event_kind::node_down:
    return "node_down";
  case event_kind::arrive:
    return "arrive";
  case event_kind::control:
    return "control";
  }
  return "?";
}

std::uint64_t frame_digest(byte_view frame) { return XXH3_64bits(frame.data(), frame.size()); }

namespace {

void append_field(std::string& out, std::string_view s) {
  // Length as 8 little-endian bytes, whatever the host's byte order.
  std::uint64_t n = s.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(s);
}

} // namespace

std::uint64_t command_digest(std::string_view verb, const std::vector<std::string>& args) {
  std::string buf;
  append_field(buf, verb);
  for (auto& a : args)
    append_field(buf, a);
  return XXH3_64bits(buf.data(), buf.size());
}

void fingerprint::close() {
  if (!open_)
    return;
  open_ = false;
  if (rec_) {
    pending_.chain = chain_;
    rec_->on_event(count_ - 1, pending_);
  }
}

void fingerprint::extend(time_us t, event_kind k, std::uint64_t node, std::uint8_t port,
                         std::uint64_t detail, std::uint64_t content, std::uint8_t msg) {
  close();
  std::uint64_t h = chain_;
  h = hash_combine(h, static_cast<std::uint64_t>(t));
  h = hash_combine(h, (static_cast<std::uint64_t>(k) << 8) | port);
  h = hash_combine(h, node);
  h = hash_combine(h, detail);
  h = hash_combine(h, content);
  chain_ = h;
  ++count_;
  open_ = true;
  pending_ = {h, t, node, k, port, msg, detail};
}

void fingerprint::extend_frame(time_us t, event_kind k, std::uint64_t node, std::uint8_t port,
                               std::uint64_t detail, byte_view frame) {
  // The length goes in too: XXH3 already depends on it, this keeps it explicit.
  std::uint64_t content = hash_combine(frame.size(), frame_digest(frame));
  extend(t, k, node, port, detail, content, frame.size() > 1 ? frame[1] : 0);
}

void fingerprint::timer_set(std::uint64_t node, std::uint8_t port, time_us delay,
                            std::uint64_t token) {
  std::uint64_t h = hash_combine(0x74696d6572ULL, node); // "timer"
  h = hash_combine(h, port);
  h = hash_combine(h, static_cast<std::uint64_t>(delay));
  chain_ = hash_combine(chain_, hash_combine(h, token));
}

void fingerprint::finish(time_us t, std::uint64_t final_state) {
  extend(t, event_kind::control, 0, 0, end_of_run_detail, final_state);
  close();
}

bool fingerprint::recorder_done() const { return rec_ && rec_->done(); }

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string fingerprint::hex() const { return hex64(chain_); }

} // namespace peerlab::sim
