#pragma once
// What this node bought, as its downloader reported it (filexfer::purchase_report
// through effects::ask), and the bills accepted against it. The payer judges
// every PAYMENT_REQUEST here before paying: a bill is paid only for a download
// this node started from that provider, for that file, at the announced price
// for bytes that arrived (or, before any byte, the order itself: a prepayment),
// within the download's max_price, and never twice for the same bytes.
// Rows: the Purchases table (provider, hash), so a restarted payer still knows.
#include "protocols/common/store.hpp"
#include "protocols/filexfer/commands.hpp"
#include "protocols/filexfer/range_set.hpp"
#include "protocols/market/codec.hpp"

#include <map>

namespace peerlab::market {

enum class bill_verdict : std::uint8_t {
  pay,
  wait,        // covers bytes that have not arrived yet: judged again when re-sent
  unsolicited, // this node bought nothing from the sender
  wrong_hash,  // bought from the sender, but not this file
  over_price,  // more than the announced price for those bytes, or than max_price
  double_bill, // bytes a bill already accepted covered
};
/// "pay", "wait", "unsolicited", "wrong_hash", "over_price", "double".
const char* bill_verdict_name(bill_verdict);

class purchase_book {
public:
  struct purchase {
    std::uint64_t download = 0;
    std::uint64_t price = 0, size = 0, max_price = filexfer::no_max_price;
    std::uint64_t received = 0;  // distinct bytes that arrived from the provider
    filexfer::range_set arrived; // which ones (this incarnation; `received` survives a restart)
    filexfer::range_set billed;  // bill positions accepted ([from, to) of the gate's count)
    std::uint64_t paid = 0;      // amount accepted
    std::uint64_t seq = 0;       // recording order: the oldest settled purchase is evicted first
  };

  /// Reloads the Purchases rows.
  void load(const table_store&);
  /// Records a report; a new download of the same file from the same provider
  /// starts a new purchase. False if the book is full of unpaid purchases.
  bool record(table_store&, const filexfer::purchase_report&);
  bill_verdict judge(peer_id provider, const payment_request&) const;
  /// The bill was paid (or is being paid): its bytes cannot be billed again.
  void accept(table_store&, peer_id provider, const payment_request&);

  const purchase* find(peer_id provider, const digest& hash) const;
  std::size_t size() const { return book_.size(); }

private:
  using key_t = std::pair<peer_id, digest>;
  void save(table_store&, const key_t&, const purchase&) const;
  bool make_room(table_store&);
  std::uint64_t paid_for_download(std::uint64_t download) const;

  std::map<key_t, purchase> book_;
  std::uint64_t next_seq_ = 1;
};

namespace tables {
/// Purchases(provider, hash BLOB[32], download, price, size, max_price,
/// received, billed BLOB (u64 pairs), paid, seq): the payer's purchase book.
const table_schema& purchases();
} // namespace tables

namespace bounds {
constexpr std::size_t purchases_max = 100'000; // payer: purchases remembered
constexpr std::size_t billed_pieces_max = 64;  // payer: disjoint billed ranges per purchase
} // namespace bounds

} // namespace peerlab::market
