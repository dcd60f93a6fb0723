#pragma once
// The provider's one door to payment. A provider without a gate
// serves for free; with one, it asks the gate before each content request and
// each chunk, and tells it what it sent. The paid file market
// (protocols/market/gate.*) implements it: billing, credit windows, holds and
// refusals live there, so filexfer knows nothing of ledgers or policies.
#include "protocols/common/role.hpp"
#include "protocols/filexfer/codec.hpp"

#include <string>

namespace peerlab::filexfer {

class payment_gate {
public:
  virtual ~payment_gate() = default;

  /// The provider (re)started: reload whatever the gate keeps in the store.
  virtual void start(context&, effects&) {}
  /// The tables the gate keeps rows in (the provider declares them).
  virtual std::vector<const table_schema*> tables() const { return {}; }

  struct admission {
    bool refused = false;
    std::string reason; // sent in CONTENT_ERR when refused
    payment_ref ref{};  // carried by every chunk of the request
  };
  /// A CONTENT_REQ for `file` from `peer` (range already checked).
  virtual admission admit(context&, peer_id peer, const file_info& file, effects&) = 0;

  enum class verdict { send, hold, refuse };
  /// May the next `len` bytes at `offset` go to `peer` now? `hold` parks the
  /// upload until a later recheck; `refuse` ends it with CONTENT_ERR.
  virtual verdict may_send(context&, peer_id peer, const file_info& file, std::uint64_t offset,
                           std::size_t len, effects&) = 0;
  /// The bytes [offset, offset + len) of `file` went to `peer`.
  virtual void sent(context&, peer_id peer, const file_info& file, std::uint64_t offset,
                    std::size_t len, effects&) = 0;
  /// How long a held upload waits before the provider asks again.
  virtual time_us recheck_interval() const = 0;
  /// True while the gate has bookkeeping to do without a request to trigger
  /// it; the provider then calls tick() every recheck_interval.
  virtual bool wants_tick() const { return false; }
  virtual void tick(context&, effects&) {}
};

} // namespace peerlab::filexfer
