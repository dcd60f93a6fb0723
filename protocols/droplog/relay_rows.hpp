#pragma once
// Side b of the live HTTP gateway keeps each request the log delivered as a
// row of DropLogUnanswered(request_id, from, message BLOB) until its response
// is in the log. The row is written in the handler that takes the request from
// the log (one SQLite transaction live, with the log's own rows), and erased in
// the one that submits the response, so a side b killed with -9 in between
// finds the request again at its next start (docs/tables.md).
#include "protocols/common/table.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace peerlab::droplog {

const table_schema& unanswered_table();

struct unanswered_request {
  std::uint64_t request_id = 0;
  peer_id from = 0; // whose log the response goes back into
  bytes message;    // the layer-2 request as it came
};

/// Stores the row; false (nothing stored) if the table is full.
bool remember_request(table_store& s, const unanswered_request& r);
/// Erases the row and returns it; nullopt if there is none (already answered).
std::optional<unanswered_request> take_request(table_store& s, std::uint64_t request_id);
/// Every row, in request id order.
std::vector<unanswered_request> unanswered_requests(const table_store& s);

/// RFC 9110 9.2.2: repeating these has the effect of doing them once, so a
/// restarted side b may perform them again.
bool idempotent(std::string_view method);

} // namespace peerlab::droplog
