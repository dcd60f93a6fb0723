#pragma once
// Write-through persistence of one session in the node's tables, so a
// restarted side loses nothing it acknowledged or accepted for sending
// (docs/tables.md):
//   DropLogSessions(local, remote, next_seq, packet_ids_reserved, next_expected,
//                   peer_cumulative_ack, peer_ack_of_ack, seen BLOB)
//     counters of the session; `seen` packs the replay window of received
//     packet ids as (first, last) u64 big-endian pairs.
//   DropLogEntries(local, remote, direction 'tx'/'rx', seq, fragment_index,
//                  fragment_count, flags, payload BLOB)
//     'tx': an unacknowledged outbox entry; 'rx': a received entry not yet
//     delivered (out of order, or a fragment of a message being reassembled).
#include "protocols/common/table.hpp"
#include "protocols/droplog/codec.hpp"

#include <map>
#include <optional>
#include <string>

namespace peerlab::droplog {

struct persisted_meta {
  std::uint64_t next_seq = 0;
  std::uint64_t packet_ids_reserved = 1; // every id below this may have been used
  std::uint64_t next_expected = 0;
  std::uint64_t peer_cumulative_ack = 0;
  std::uint64_t peer_ack_of_ack = 0;
  std::vector<id_range> seen; // intact received packet ids (replay window)
};

const table_schema& sessions_table();
const table_schema& entries_table();

class state_store {
public:
  state_store(table_store* kv, peer_id local, peer_id remote);
  bool enabled() const { return kv_ != nullptr; }

  void put_meta(const persisted_meta& m);
  void put_entry(bool outgoing, const message_frame& m);
  void erase_entry(bool outgoing, std::uint64_t seq);

  struct loaded {
    std::optional<persisted_meta> meta;
    std::map<std::uint64_t, message_frame> tx, rx;
  };
  /// Throws std::runtime_error naming the table and key if stored state is malformed.
  loaded load() const;

  /// Names the session's rows in messages.
  const std::string& table() const { return table_; }

private:
  table_store* kv_;
  peer_id local_, remote_;
  std::string table_;
};

} // namespace peerlab::droplog
