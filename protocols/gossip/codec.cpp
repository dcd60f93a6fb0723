#include "protocols/gossip/codec.hpp"

#include "protocols/common/sha256.hpp"
#include "protocols/common/wire.hpp"
#include "protocols/gossip/gossip.hpp"

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

void get_topic(wire::fields& f, std::string& topic) {
  f.str16(topic, limits::topic_bytes_max, "topic");
  f.check(valid_topic(topic), "topic empty or not printable ASCII");
}

void get_ids(wire::reader& r, wire::fields& f, std::vector<msg_id>& ids) {
  std::uint16_t n = 0;
  f.u16(n, "id count");
  f.check(n != 0 && n <= limits::ids_per_frame_max, "id count must be 1..5000");
  f.check(r.remaining() >= std::size_t{n} * sizeof(msg_id), "ids truncated");
  if (!f.ok())
    return;
  ids.resize(n);
  for (auto& id : ids)
    r.fixed(id);
}

// Reads the body of a frame of `type` into `out`; `f` keeps the first error.
void decode_body(wire::reader& r, wire::fields& f, std::uint8_t type, std::size_t max_message_bytes,
                 frame_body& out) {
  switch (static_cast<msg_type>(type)) {
  case msg_type::subscriptions: {
    subscriptions_msg m;
    std::uint8_t n = 0;
    f.u8(n, "subscription count");
    f.check(n <= limits::subscriptions_per_frame_max, "more than 64 subscriptions in one frame");
    if (f.ok())
      m.subs.resize(n);
    for (auto& s : m.subs) {
      std::uint8_t flag = 0;
      f.u8(flag, "subscription flag");
      f.check(flag <= 1, "subscription flag must be 0 or 1");
      s.subscribe = flag == 1;
      get_topic(f, s.topic);
    }
    out = std::move(m);
    return;
  }
  case msg_type::message: {
    message_msg m;
    get_topic(f, m.topic);
    f.u8(m.hops, "hop count");
    // A declared size above the bound is named as such, even when the frame
    // is also cut short.
    std::uint32_t declared = 0;
    wire::reader peek = r;
    f.check(!(peek.u32(declared) && declared > max_message_bytes),
            "message larger than the size bound");
    byte_view data;
    if (f.ok())
      f.check(r.blob32(data, max_message_bytes), "message data truncated");
    m.data.assign(data.begin(), data.end());
    out = std::move(m);
    return;
  }
  case msg_type::ihave: {
    ihave_msg m;
    get_topic(f, m.topic);
    get_ids(r, f, m.ids);
    out = std::move(m);
    return;
  }
  case msg_type::iwant: {
    iwant_msg m;
    get_ids(r, f, m.ids);
    out = std::move(m);
    return;
  }
  case msg_type::graft: {
    graft_msg m;
    get_topic(f, m.topic);
    out = std::move(m);
    return;
  }
  case msg_type::prune: {
    prune_msg m;
    get_topic(f, m.topic);
    f.u32(m.backoff_s, "backoff");
    f.check(m.backoff_s <= limits::backoff_s_max, "backoff longer than one hour");
    out = std::move(m);
    return;
  }
  }
  f.check(false, "unknown message type");
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
  wire::fields f(r);
  std::uint8_t port = 0, type = 0;
  f.check(r.header(port, type), "frame shorter than its header");
  f.check(port == ports::gossip, "frame is not for the gossip port");
  frame_body body;
  if (f.ok())
    decode_body(r, f, type, max_message_bytes, body);
  f.check(r.at_end(), "trailing bytes");
  error = f.error();
  if (f.ok())
    out = std::move(body);
  return f.ok();
}

} // namespace peerlab::gossip
