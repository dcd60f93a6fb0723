#include "protocols/droplog/state_store.hpp"

#include "protocols/common/wire.hpp"
#include "protocols/droplog/droplog.hpp"

#include <stdexcept>

namespace peerlab::droplog {

namespace {

column integer(const char* name) { return {name, column_type::integer}; }

// Sessions one node may persist, and entries per node (outbox and reorder
// buffers of every session).
constexpr std::size_t max_sessions = 1u << 16;
constexpr std::size_t max_entries = 1u << 24;

std::string hex16(std::uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    s[i] = d[v & 15];
  return s;
}

const char* direction(bool outgoing) { return outgoing ? "tx" : "rx"; }

} // namespace

const table_schema& sessions_table() {
  static const table_schema s{"DropLogSessions",
                              {integer("local"),
                               integer("remote"),
                               integer("next_seq"),
                               integer("packet_ids_reserved"),
                               integer("next_expected"),
                               integer("peer_cumulative_ack"),
                               integer("peer_ack_of_ack"),
                               {"seen", column_type::blob}},
                              2,
                              1,
                              max_sessions};
  return s;
}

const table_schema& entries_table() {
  static const table_schema s{"DropLogEntries",
                              {integer("local"),
                               integer("remote"),
                               {"direction", column_type::text},
                               integer("seq"),
                               integer("fragment_index"),
                               integer("fragment_count"),
                               integer("flags"),
                               {"payload", column_type::blob}},
                              4,
                              1,
                              max_entries};
  return s;
}

state_store::state_store(table_store* kv, peer_id local, peer_id remote)
    : kv_(kv), local_(local), remote_(remote),
      table_("droplog session " + hex16(local) + "->" + hex16(remote)) {}

void state_store::put_meta(const persisted_meta& m) {
  if (!kv_)
    return;
  bytes seen;
  wire::writer w(seen);
  for (auto& r : m.seen) {
    w.u64(r.first);
    w.u64(r.last);
  }
  kv_->put(sessions_table(),
           {cell_u64(local_), cell_u64(remote_), cell_u64(m.next_seq),
            cell_u64(m.packet_ids_reserved), cell_u64(m.next_expected),
            cell_u64(m.peer_cumulative_ack), cell_u64(m.peer_ack_of_ack), std::move(seen)});
}

void state_store::put_entry(bool outgoing, const message_frame& m) {
  if (!kv_)
    return;
  kv_->put(entries_table(), {cell_u64(local_), cell_u64(remote_), std::string(direction(outgoing)),
                             cell_u64(m.seq), std::int64_t{m.fragment_index},
                             std::int64_t{m.fragment_count}, std::int64_t{m.flags}, m.payload});
}

void state_store::erase_entry(bool outgoing, std::uint64_t seq) {
  if (kv_)
    kv_->erase(entries_table(), {cell_u64(local_), cell_u64(remote_),
                                 std::string(direction(outgoing)), cell_u64(seq)});
}

state_store::loaded state_store::load() const {
  loaded out;
  if (!kv_)
    return out;
  if (auto r = kv_->get(sessions_table(), {cell_u64(local_), cell_u64(remote_)})) {
    auto& seen = r->blob(7);
    if (seen.size() % 16 != 0)
      throw std::runtime_error("droplog: table DropLogSessions, key " +
                               describe(key_of(sessions_table(), *r)) +
                               ": seen holds a partial range");
    persisted_meta m;
    m.next_seq = r->u64(2);
    m.packet_ids_reserved = r->u64(3);
    m.next_expected = r->u64(4);
    m.peer_cumulative_ack = r->u64(5);
    m.peer_ack_of_ack = r->u64(6);
    wire::reader rd(byte_view{seen.data(), seen.size()});
    for (std::size_t i = 0; i < seen.size() / 16; ++i) {
      id_range x;
      rd.u64(x.first);
      rd.u64(x.last);
      m.seen.push_back(x);
    }
    out.meta = std::move(m);
  }
  kv_->scan(entries_table(), {cell_u64(local_), cell_u64(remote_)}, [&](const row& r) {
    auto bad = [&](const char* what) {
      throw std::runtime_error("droplog: table DropLogEntries, key " +
                               describe(key_of(entries_table(), r)) + ": " + what);
    };
    auto dir = r.text(2);
    if (dir != "tx" && dir != "rx")
      bad("direction is neither tx nor rx");
    message_frame m;
    m.seq = r.u64(3);
    auto index = r.integer(4), count = r.integer(5), flags = r.integer(6);
    if (count <= 0 || count > limits::fragments_per_message_max || index < 0 || index >= count ||
        flags < 0 || flags > 255)
      bad("inconsistent fragment index, count or flags");
    m.fragment_index = static_cast<std::uint32_t>(index);
    m.fragment_count = static_cast<std::uint32_t>(count);
    m.flags = static_cast<std::uint8_t>(flags);
    m.payload = r.blob(7);
    (dir == "tx" ? out.tx : out.rx).emplace(m.seq, std::move(m));
  });
  return out;
}

} // namespace peerlab::droplog
