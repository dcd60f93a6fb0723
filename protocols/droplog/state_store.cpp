#include "protocols/droplog/state_store.hpp"

#include "protocols/common/wire.hpp"

#include <stdexcept>

namespace peerlab::droplog {

namespace {

std::string hex16(std::uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    s[i] = d[v & 15];
  return s;
}

std::string_view as_text(const bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string entry_key(bool outgoing, std::uint64_t seq) {
  return std::string(outgoing ? "tx." : "rx.") + hex16(seq);
}

} // namespace

state_store::state_store(kv_store* kv, peer_id local, peer_id remote)
    : kv_(kv), table_("droplog." + hex16(local) + "." + hex16(remote)) {}

void state_store::put_meta(const persisted_meta& m) {
  if (!kv_)
    return;
  bytes b;
  wire::writer w(b);
  w.u8(1); // row format version
  w.u64(m.next_seq);
  w.u64(m.packet_ids_reserved);
  w.u64(m.next_expected);
  w.u64(m.peer_cumulative_ack);
  w.u64(m.peer_ack_of_ack);
  w.u32(static_cast<std::uint32_t>(m.seen.size()));
  for (auto& r : m.seen) {
    w.u64(r.first);
    w.u64(r.last);
  }
  kv_->put(table_, "meta", as_text(b));
}

void state_store::put_entry(bool outgoing, const message_frame& m) {
  if (!kv_)
    return;
  bytes b;
  wire::writer w(b);
  w.u32(m.fragment_index);
  w.u32(m.fragment_count);
  w.u8(m.flags);
  w.raw(m.payload);
  kv_->put(table_, entry_key(outgoing, m.seq), as_text(b));
}

void state_store::erase_entry(bool outgoing, std::uint64_t seq) {
  if (kv_)
    kv_->erase(table_, entry_key(outgoing, seq));
}

state_store::loaded state_store::load() const {
  loaded out;
  if (!kv_)
    return out;
  kv_->scan(table_, [&](std::string_view key, std::string_view value) {
    auto bad = [&](const char* what) {
      throw std::runtime_error("droplog: stored row " + table_ + "/" + std::string(key) + ": " +
                               what);
    };
    wire::reader r(as_bytes(value));
    if (key == "meta") {
      persisted_meta m;
      std::uint8_t ver = 0;
      std::uint32_t n = 0;
      if (!r.u8(ver) || ver != 1)
        bad("unknown row version");
      if (!r.u64(m.next_seq) || !r.u64(m.packet_ids_reserved) || !r.u64(m.next_expected) ||
          !r.u64(m.peer_cumulative_ack) || !r.u64(m.peer_ack_of_ack) || !r.u32(n) ||
          n > r.remaining() / 16)
        bad("truncated meta row");
      for (std::uint32_t i = 0; i < n; ++i) {
        id_range x;
        r.u64(x.first);
        r.u64(x.last);
        m.seen.push_back(x);
      }
      out.meta = std::move(m);
      return;
    }
    if (key.size() != 19 || (key.substr(0, 3) != "tx." && key.substr(0, 3) != "rx."))
      bad("unknown row");
    std::uint64_t seq = 0;
    for (char c : key.substr(3)) {
      int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (v < 0)
        bad("bad sequence number in key");
      seq = seq * 16 + static_cast<std::uint64_t>(v);
    }
    message_frame m;
    m.seq = seq;
    if (!r.u32(m.fragment_index) || !r.u32(m.fragment_count) || !r.u8(m.flags) ||
        m.fragment_count == 0 || m.fragment_index >= m.fragment_count)
      bad("truncated or inconsistent entry row");
    auto rest = r.rest();
    m.payload.assign(rest.begin(), rest.end());
    (key[0] == 't' ? out.tx : out.rx).emplace(seq, std::move(m));
  });
  return out;
}

} // namespace peerlab::droplog
