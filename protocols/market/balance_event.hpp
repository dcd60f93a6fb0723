#pragma once
// The event that answers a balance question with the ledger's reply: the payer's
// "wallet" and the account role's "api_balance" (the market API's
// /api/wallet/balance reads its fields), so both carry the same fields.
#include "protocols/common/role.hpp"
#include "protocols/ledger/codec.hpp"

#include <string>
#include <utility>

namespace peerlab::market {

inline event balance_event(std::string kind, std::uint64_t command_id,
                           const ledger::balance_reply& b) {
  return event{std::move(kind),
               command_id,
               {{"account", std::to_string(b.account)}},
               {{"balance", static_cast<double>(b.balance)},
                {"pending_out", static_cast<double>(b.pending_out)},
                {"tip", static_cast<double>(b.tip)}}};
}

} // namespace peerlab::market
