#include "protocols/gossip/codec.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/common/wire.hpp"

#include <algorithm>

namespace peerlab::gossip {

msg_id message_id(std::string_view topic, byte_view data) {
  // The topic is part of the content, so equal payloads on two topics stay
  // two messages. Receivers recompute the id: it is never taken from a sender.
  sha256 h;
  const std::uint16_t len = static_cast<std::uint16_t>(topic.size());
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(len & 0xff),
                                  static_cast<std::uint8_t>(len >> 8)};
  h.update(byte_view{prefix, 2});
  h.update(byte_view{reinterpret_cast<const std::uint8_t*>(topic.data()), topic.size()});
  h.update(data);
  auto d = h.finish();
  msg_id id{};
  std::copy_n(d.begin(), id.size(), id.begin());
  return id;
}

std::string to_hex(const msg_id& id) { return peerlab::to_hex(byte_view{id.data(), id.size()}); }

const char* type_name(std::uint8_t type) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::subscriptions:
    return "SUBSCRIPTIONS";
  case msg_type::message:
    return "MESSAGE";
  case msg_type::ihave:
    return "IHAVE";
  case msg_type::iwant:
    return "IWANT";
  case msg_type::graft:
    return "GRAFT";
  case msg_type::prune:
    return "PRUNE";
  }
  return "?";
}

bool valid_topic(std::string_view topic) {
  if (topic.empty() || topic.size() > limits::topic_bytes_max)
    return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

namespace {

void put_ids(wire::writer& w, const std::vector<msg_id>& ids) {
  w.u16(static_cast<std::uint16_t>(ids.size()));
  for (auto& id : ids)
    w.fixed(id);
}

struct encoder {
  wire::writer& w;
  void operator()(const subscriptions_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::subscriptions));
    w.u8(static_cast<std::uint8_t>(m.subs.size()));
    for (auto& s : m.subs) {
      w.u8(s.subscribe ? 1 : 0);
      w.str16(s.topic);
    }
  }
  void operator()(const message_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::message));
    w.str16(m.topic);
    w.u8(m.hops);
    w.blob32(m.data);
  }
  void operator()(const ihave_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::ihave));
    w.str16(m.topic);
    put_ids(w, m.ids);
  }
  void operator()(const iwant_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::iwant));
    put_ids(w, m.ids);
  }
  void operator()(const graft_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::graft));
    w.str16(m.topic);
  }
  void operator()(const prune_msg& m) {
    w.u8(static_cast<std::uint8_t>(msg_type::prune));
    w.str16(m.topic);
    w.u32(m.backoff_s);
  }
};

// Reads a topic and checks it; `what` names the field for the error.
bool get_topic(wire::reader& r, std::string& topic, std::string& error) {
  if (!r.str16(topic, limits::topic_bytes_max)) {
    error = "topic truncated or longer than 256 bytes";
    return false;
  }
  if (!valid_topic(topic)) {
    error = "topic empty or not printable ASCII";
    return false;
  }
  return true;
}

bool get_ids(wire::reader& r, std::vector<msg_id>& ids, std::string& error) {
  std::uint16_t n = 0;
  if (!r.u16(n)) {
    error = "id count truncated";
    return false;
  }
  if (n == 0 || n > limits::ids_per_frame_max) {
    error = "id count must be 1..5000";
    return false;
  }
  if (r.remaining() < std::size_t{n} * sizeof(msg_id)) {
    error = "ids truncated";
    return false;
  }
  ids.resize(n);
  for (auto& id : ids)
    r.fixed(id);
  return true;
}

bool decode_body(wire::reader& r, std::uint8_t type, std::size_t max_message_bytes, frame_body& out,
                 std::string& error) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::subscriptions: {
    subscriptions_msg m;
    std::uint8_t n = 0;
    if (!r.u8(n)) {
      error = "subscription count truncated";
      return false;
    }
    if (n > limits::subscriptions_per_frame_max) {
      error = "more than 64 subscriptions in one frame";
      return false;
    }
    m.subs.resize(n);
    for (auto& s : m.subs) {
      std::uint8_t flag = 0;
      if (!r.u8(flag)) {
        error = "subscription flag truncated";
        return false;
      }
      if (flag > 1) {
        error = "subscription flag must be 0 or 1";
        return false;
      }
      s.subscribe = flag == 1;
      if (!get_topic(r, s.topic, error))
        return false;
    }
    out = std::move(m);
    return true;
  }
  case msg_type::message: {
    message_msg m;
    if (!get_topic(r, m.topic, error))
      return false;
    if (!r.u8(m.hops)) {
      error = "hop count truncated";
      return false;
    }
    byte_view data;
    std::uint32_t declared = 0;
    {
      wire::reader peek = r;
      if (peek.u32(declared) && declared > max_message_bytes) {
        error = "message larger than the size bound";
        return false;
      }
    }
    if (!r.blob32(data, max_message_bytes)) {
      error = "message data truncated";
      return false;
    }
    m.data.assign(data.begin(), data.end());
    out = std::move(m);
    return true;
  }
  case msg_type::ihave: {
    ihave_msg m;
    if (!get_topic(r, m.topic, error) || !get_ids(r, m.ids, error))
      return false;
    out = std::move(m);
    return true;
  }
  case msg_type::iwant: {
    iwant_msg m;
    if (!get_ids(r, m.ids, error))
      return false;
    out = std::move(m);
    return true;
  }
  case msg_type::graft: {
    graft_msg m;
    if (!get_topic(r, m.topic, error))
      return false;
    out = std::move(m);
    return true;
  }
  case msg_type::prune: {
    prune_msg m;
    if (!get_topic(r, m.topic, error))
      return false;
    if (!r.u32(m.backoff_s)) {
      error = "backoff truncated";
      return false;
    }
    if (m.backoff_s > limits::backoff_s_max) {
      error = "backoff longer than one hour";
      return false;
    }
    out = std::move(m);
    return true;
  }
  }
  error = "unknown message type";
  return false;
}

} // namespace

bytes encode(const frame_body& body) {
  bytes out;
  wire::writer w(out);
  w.u8(ports::gossip);
  std::visit(encoder{w}, body);
  return out;
}

bool decode(byte_view frame, std::size_t max_message_bytes, frame_body& out, std::string& error) {
  wire::reader r(frame);
  std::uint8_t port = 0, type = 0;
  if (!r.u8(port) || !r.u8(type)) {
    error = "frame shorter than its header";
    return false;
  }
  if (port != ports::gossip) {
    error = "frame is not for the gossip port";
    return false;
  }
  if (!decode_body(r, type, max_message_bytes, out, error))
    return false;
  if (!r.at_end()) {
    error = "trailing bytes";
    return false;
  }
  return true;
}

} // namespace peerlab::gossip
