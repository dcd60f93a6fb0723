#pragma once
// Write-through persistence of one session in a kv_store, so a restarted side
// loses nothing it acknowledged or accepted for sending. Table
// "droplog.<local hex>.<remote hex>", rows:
//   "meta"            counters (next seq, packet ids reserved, next expected, ...)
//   "tx.<seq hex16>"  an unacknowledged outbox entry
//   "rx.<seq hex16>"  a received entry not yet delivered (out of order, or a
//                     fragment of a message still being reassembled)
#include "protocols/common/store.hpp"
#include "protocols/droplog/packet.hpp"

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

class state_store {
public:
  state_store(kv_store* kv, peer_id local, peer_id remote);
  bool enabled() const { return kv_ != nullptr; }

  void put_meta(const persisted_meta& m);
  void put_entry(bool outgoing, const message_frame& m);
  void erase_entry(bool outgoing, std::uint64_t seq);

  struct loaded {
    std::optional<persisted_meta> meta;
    std::map<std::uint64_t, message_frame> tx, rx;
  };
  /// Throws std::runtime_error naming the row if stored state is malformed.
  loaded load() const;

  const std::string& table() const { return table_; }

private:
  kv_store* kv_;
  std::string table_;
};

} // namespace peerlab::droplog
