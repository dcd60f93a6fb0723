#pragma once
// What a provider's verifier says about a payment it was notified of: the
// same three answers for files (market) and for the proxy, on the wire as one
// byte.
#include <cstdint>

namespace peerlab {

enum class pay_status : std::uint8_t {
  received = 1, // notification recorded, verification under way
  verified = 2, // confirmed on the ledger, right payee, amount and payer
  failed = 3,   // verification failed (the reason says why)
};

inline const char* pay_status_name(pay_status s) {
  switch (s) {
  case pay_status::received:
    return "received";
  case pay_status::verified:
    return "verified";
  case pay_status::failed:
    return "failed";
  }
  return "?";
}

} // namespace peerlab
