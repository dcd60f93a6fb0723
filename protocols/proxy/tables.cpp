#include "protocols/proxy/tables.hpp"

#include "protocols/proxy/proxy.hpp"

namespace peerlab::proxy::tables {

namespace {
column integer(const char* n) { return {n, column_type::integer}; }
column text(const char* n) { return {n, column_type::text}; }
} // namespace

const table_schema& clients() {
  static const table_schema s{"ProxyClients",
                              {integer("client_id"),
                               integer("client_peer"),
                               {"auth_token", column_type::blob, 32},
                               integer("started_at"),
                               integer("fee_per_kb"),
                               integer("bytes_up"),
                               integer("bytes_down"),
                               integer("reported"),
                               integer("fees_requested"),
                               integer("fees_unconfirmed"),
                               integer("fees_confirmed"),
                               integer("strikes"),
                               text("status"),
                               text("reason")},
                              1,
                              1,
                              bounds::clients_max};
  return s;
}

const table_schema& sessions() {
  static const table_schema s{"ProxySessions",
                              {integer("session"),
                               integer("provider"),
                               integer("client_id"),
                               {"auth_token", column_type::blob, 32},
                               text("proxy_address"),
                               integer("fee_per_kb"),
                               integer("recipient"),
                               integer("started_at"),
                               integer("ended_at"),
                               integer("bytes_up"),
                               integer("bytes_down"),
                               integer("fees_unconfirmed"),
                               integer("fees_confirmed"),
                               text("status"),
                               text("reason")},
                              1,
                              1,
                              bounds::sessions_max};
  return s;
}

const table_schema& payments() {
  static const table_schema s{"ProxyPayments",
                              {{"ref", column_type::blob, 16},
                               integer("client_id"),
                               integer("amount"),
                               {"tx", column_type::blob},
                               integer("notified_at"),
                               text("status"),
                               text("reason")},
                              1,
                              1,
                              bounds::used_tx_max};
  return s;
}

const table_schema& offer() {
  static const table_schema s{
    "ProxyOffer",
    {integer("id"), integer("active"), integer("fee_per_kb"), text("address")},
    1,
    1,
    1};
  return s;
}

} // namespace peerlab::proxy::tables
