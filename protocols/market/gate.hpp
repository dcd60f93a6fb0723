#pragma once
// The payment gate a filexfer provider consults (filexfer/payment_gate.hpp).
//
// A purchase is one peer downloading one priced file. The gate counts its
// billable bytes (bytes sent, at most the file size), bills them in
// PAYMENT_REQUESTs (each a Payments row "in:<ref>" plus an inbox row for the
// verifier), learns from the verifier's rows which bills were paid, and
// decides per chunk, by policy:
//   prepay         the whole price is billed at the first request; nothing
//                  is sent until that bill is verified;
//   pay_per_window a chunk goes only if the peer's unpaid bytes (billable -
//                  paid, over all its purchases) stay within `window`; bills
//                  go out every window/2 bytes, and at once when holding;
//   pay_after      the whole file is served and billed at its end; a peer may
//                  have at most `max_open_purchases` files with unpaid bytes.
// A peer on the Blacklist gets nothing. A purchase idle for idle_bill_after
// with unbilled bytes is billed for what was sent. The peer's open purchases
// are kept in a Credit row, so a restarted provider still knows who owes what.
#include "protocols/market/codec.hpp"
#include "protocols/market/market.hpp"

#include <map>
#include <vector>

namespace peerlab::market {

class gate final : public filexfer::payment_gate {
public:
  explicit gate(gate_config c);

  void start(context&, effects&) override;
  std::vector<const table_schema*> tables() const override;
  admission admit(context&, peer_id peer, const file_info& file, effects&) override;
  verdict may_send(context&, peer_id peer, const file_info& file, std::uint64_t offset,
                   std::size_t len, effects&) override;
  void sent(context&, peer_id peer, const file_info& file, std::uint64_t offset, std::size_t len,
            effects&) override;
  time_us recheck_interval() const override { return cfg_.recheck; }
  /// Peers in memory have open purchases: keep refreshing them so settled
  /// bills close purchases and idle ones get billed.
  bool wants_tick() const override { return !peers_.empty(); }
  void tick(context&, effects&) override;

  /// Unpaid bytes of a peer as the gate last saw them (tests, benchmarks).
  std::uint64_t exposure(peer_id peer) const;
  const gate_config& config() const { return cfg_; }

private:
  struct bill {
    payment_ref ref{};
    std::uint64_t bytes = 0;
  };
  struct purchase {
    payment_ref ref{}; // on every chunk; also the first bill's reference
    std::uint64_t size = 0, price = 0;
    std::uint64_t billable = 0; // bytes sent, at most size
    std::uint64_t billed = 0;   // bytes covered by bills
    std::uint64_t paid = 0;     // bytes covered by verified bills
    time_us last_sent = 0;
    std::uint32_t bills_made = 0;
    std::vector<bill> outstanding;
    std::uint64_t unpaid() const { return billable > paid ? billable - paid : 0; }
  };
  struct peer_state {
    std::map<digest, purchase> open;
    bool blacklisted = false;
    std::string reason;
  };

  peer_state& peer(context&, peer_id);
  /// Re-reads the blacklist and the status of outstanding bills; bills idle purchases.
  void refresh(context&, peer_id, peer_state&, effects&);
  void make_bill(context&, peer_id, const digest&, purchase&, std::uint64_t bytes, effects&);
  /// Books one bill (Payments row, inbox row) and sends its PAYMENT_REQUEST.
  void send_bill(context&, peer_id, const digest&, const payment_ref&, std::uint64_t amount,
                 std::uint64_t from, std::uint64_t to, effects&);
  /// The extra bills of a cheating biller (gate_config::cheat) for a purchase's bill.
  void cheat(context&, peer_id, const digest&, std::uint64_t amount, std::uint64_t from,
             std::uint64_t to, effects&);
  void persist(context&, peer_id, const peer_state&);
  void close_finished(context&, peer_state&);
  std::uint64_t exposure(const peer_state&) const;
  std::uint64_t largest_open(const peer_state&) const;
  std::size_t owing(const peer_state&, const digest& except) const;
  verdict decide(const peer_state&, const purchase&, std::uint64_t inc) const;

  gate_config cfg_;
  std::map<peer_id, peer_state>
    peers_;                 // peers with open purchases (loaded lazily from Credit rows)
  peer_id tick_cursor_ = 0; // round-robin position of tick()
};

/// Amount owed for the first `bytes` of a file of `size` bytes priced `price`
/// (cumulative, so bills for consecutive ranges add up to the price exactly).
std::uint64_t due_for(std::uint64_t price, std::uint64_t size, std::uint64_t bytes);

} // namespace peerlab::market
