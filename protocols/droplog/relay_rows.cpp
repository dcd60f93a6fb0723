#include "protocols/droplog/relay_rows.hpp"

namespace peerlab::droplog {

namespace {
// Requests side b may hold unanswered: more than any gateway lets wait.
constexpr std::size_t max_unanswered = 1u << 16;
} // namespace

const table_schema& unanswered_table() {
  static const table_schema s{"DropLogUnanswered",
                              {{"request_id", column_type::integer},
                               {"from_peer", column_type::integer},
                               {"message", column_type::blob}},
                              1,
                              1,
                              max_unanswered};
  return s;
}

bool remember_request(table_store& s, const unanswered_request& r) {
  return s.put(unanswered_table(), row{cell_u64(r.request_id), cell_u64(r.from), r.message});
}

std::optional<unanswered_request> take_request(table_store& s, std::uint64_t request_id) {
  auto r = s.get(unanswered_table(), key{cell_u64(request_id)});
  if (!r)
    return std::nullopt;
  s.erase(unanswered_table(), key{cell_u64(request_id)});
  return unanswered_request{r->u64(0), r->u64(1), r->blob(2)};
}

std::vector<unanswered_request> unanswered_requests(const table_store& s) {
  std::vector<unanswered_request> out;
  s.scan(unanswered_table(), {}, [&](const row& r) {
    out.push_back({r.u64(0), r.u64(1), r.blob(2)});
  });
  return out;
}

bool idempotent(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    if (method == m)
      return true;
  return false;
}

} // namespace peerlab::droplog
