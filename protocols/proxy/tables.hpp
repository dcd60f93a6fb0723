#pragma once
// The proxy's tables (docs/tables.md). Rows are written whenever the state
// they hold changes, so a restarted provider or client resumes its sessions.
#include "protocols/common/table.hpp"

namespace peerlab::proxy::tables {

/// ProxyClients (provider): client_id, client_peer, auth_token BLOB[32],
/// started_at, fee_per_kb, bytes_up, bytes_down (its own count), reported
/// (the client's last stated bytes), fees_requested, fees_unconfirmed
/// (notified, being verified), fees_confirmed, strikes (consecutive reports
/// out of the band), status (active, closed, terminated), reason.
const table_schema& clients();

/// ProxySessions (client): session, provider, client_id, auth_token BLOB[32],
/// proxy_address, fee_per_kb, recipient, started_at, ended_at, bytes_up,
/// bytes_down (its own count), fees_unconfirmed (sent, not yet verified),
/// fees_confirmed, status (active, closing, closed, ended), reason.
const table_schema& sessions();

/// ProxyPayments (provider): ref BLOB[16], client_id, amount, tx (empty until
/// notified, then 32 bytes), notified_at, status (requested, verifying,
/// verified, failed), reason. A transaction id pays one reference only.
const table_schema& payments();

/// ProxyOffer (provider): one row (id 1): active, fee_per_kb, address, so a
/// restarted provider keeps providing at the same price.
const table_schema& offer();

} // namespace peerlab::proxy::tables
