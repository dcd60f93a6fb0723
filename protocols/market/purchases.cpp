#include "protocols/market/purchases.hpp"

#include "protocols/market/gate.hpp"

#include <algorithm>

namespace peerlab::market {

namespace {

bytes pack(const filexfer::range_set& s) {
  bytes out;
  for (auto [b, e] : s.ranges())
    for (auto v : {b, e})
      for (int k = 0; k < 8; ++k)
        out.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  return out;
}

filexfer::range_set unpack(const bytes& in) {
  filexfer::range_set s;
  auto u64_at = [&](std::size_t i) {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k)
      v |= std::uint64_t{in[i + k]} << (8 * k);
    return v;
  };
  for (std::size_t i = 0; i + 16 <= in.size(); i += 16)
    s.add(u64_at(i), u64_at(i + 8));
  return s;
}

} // namespace

const char* bill_verdict_name(bill_verdict v) {
  switch (v) {
  case bill_verdict::pay:
    return "pay";
  case bill_verdict::wait:
    return "wait";
  case bill_verdict::unsolicited:
    return "unsolicited";
  case bill_verdict::wrong_hash:
    return "wrong_hash";
  case bill_verdict::over_price:
    return "over_price";
  case bill_verdict::double_bill:
    return "double";
  }
  return "?";
}

namespace tables {
const table_schema& purchases() {
  static const table_schema s{"Purchases",
                              {{"provider", column_type::integer},
                               {"hash", column_type::blob, 32},
                               {"download", column_type::integer},
                               {"price", column_type::integer},
                               {"size", column_type::integer},
                               {"max_price", column_type::integer},
                               {"received", column_type::integer},
                               {"billed", column_type::blob},
                               {"paid", column_type::integer},
                               {"seq", column_type::integer}},
                              2,
                              1,
                              bounds::purchases_max};
  return s;
}
} // namespace tables

void purchase_book::load(const table_store& store) {
  book_.clear();
  next_seq_ = 1;
  store.scan(tables::purchases(), {}, [&](const peerlab::row& r) {
    purchase p;
    p.download = r.u64(2);
    p.price = r.u64(3);
    p.size = r.u64(4);
    p.max_price = r.u64(5);
    p.received = r.u64(6);
    p.billed = unpack(r.blob(7));
    p.paid = r.u64(8);
    p.seq = r.u64(9);
    next_seq_ = std::max(next_seq_, p.seq + 1);
    book_[{r.u64(0), r.hash(1)}] = std::move(p);
  });
}

void purchase_book::save(table_store& store, const key_t& k, const purchase& p) const {
  store.put(tables::purchases(),
            {cell_u64(k.first), cell_digest(k.second), cell_u64(p.download), cell_u64(p.price),
             cell_u64(p.size), cell_u64(p.max_price), cell_u64(p.received), pack(p.billed),
             cell_u64(p.paid), cell_u64(p.seq)});
}

// The oldest purchase paid in full leaves the book (its bills can no longer be
// told from unsolicited ones, and are refused as such).
bool purchase_book::make_room(table_store& store) {
  auto victim = book_.end();
  for (auto it = book_.begin(); it != book_.end(); ++it)
    if (it->second.paid >= it->second.price &&
        (victim == book_.end() || it->second.seq < victim->second.seq))
      victim = it;
  if (victim == book_.end())
    return false;
  store.erase(tables::purchases(),
              {cell_u64(victim->first.first), cell_digest(victim->first.second)});
  book_.erase(victim);
  return true;
}

bool purchase_book::record(table_store& store, const filexfer::purchase_report& r) {
  key_t k{r.provider, r.hash};
  auto it = book_.find(k);
  if (it == book_.end() || it->second.download != r.download) {
    if (it == book_.end() && book_.size() >= bounds::purchases_max && !make_room(store))
      return false;
    purchase p; // a new download of this file from this provider is a new purchase
    p.download = r.download;
    p.price = r.price;
    p.size = r.size;
    p.max_price = r.max_price;
    p.seq = next_seq_++;
    it = book_.insert_or_assign(k, std::move(p)).first;
  }
  auto& p = it->second;
  if (r.length > 0 && r.offset < p.size) {
    p.arrived.add(r.offset, std::min(p.size, r.offset + r.length));
    p.received = std::max(p.received, p.arrived.total());
  }
  save(store, k, p);
  return true;
}

const purchase_book::purchase* purchase_book::find(peer_id provider, const digest& hash) const {
  auto it = book_.find({provider, hash});
  return it == book_.end() ? nullptr : &it->second;
}

std::uint64_t purchase_book::paid_for_download(std::uint64_t download) const {
  std::uint64_t sum = 0;
  for (auto& [_, p] : book_)
    if (p.download == download)
      sum += p.paid;
  return sum;
}

bill_verdict purchase_book::judge(peer_id provider, const payment_request& r) const {
  auto* p = find(provider, r.hash);
  if (!p) {
    auto any = book_.lower_bound({provider, digest{}});
    return any != book_.end() && any->first.first == provider ? bill_verdict::wrong_hash
                                                              : bill_verdict::unsolicited;
  }
  // Positions are the provider's count of bytes sent; they never pass the size.
  if (r.from >= r.to || r.to > p->size)
    return bill_verdict::over_price;
  std::uint64_t unbilled = 0;
  for (auto [b, e] : p->billed.missing(r.from, r.to))
    unbilled += e - b;
  if (unbilled != r.to - r.from)
    return bill_verdict::double_bill;
  if (r.amount > due_for(p->price, p->size, r.to) - due_for(p->price, p->size, r.from))
    return bill_verdict::over_price;
  auto so_far = paid_for_download(p->download);
  if (so_far > p->max_price || r.amount > p->max_price - so_far)
    return bill_verdict::over_price;
  if (p->billed.pieces() >= bounds::billed_pieces_max)
    return bill_verdict::over_price; // too scattered to be an honest provider's bills
  if (r.to > p->received) {
    // Before any byte arrived, the order itself may be paid for (prepay policy).
    if (p->received == 0 && p->paid == 0 && r.from == 0)
      return bill_verdict::pay;
    return bill_verdict::wait;
  }
  return bill_verdict::pay;
}

void purchase_book::accept(table_store& store, peer_id provider, const payment_request& r) {
  auto it = book_.find({provider, r.hash});
  if (it == book_.end())
    return;
  it->second.billed.add(r.from, r.to);
  it->second.paid += r.amount;
  save(store, it->first, it->second);
}

} // namespace peerlab::market
