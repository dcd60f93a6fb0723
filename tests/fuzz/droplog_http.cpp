// Layer-2 HTTP messages of the file-drop channel. What decodes must be safe
// to write to an HTTP/1.1 connection (check() passes: no CR/LF in names or
// values, token methods, origin-form targets) and re-encode to the same bytes.
#include "fuzz_check.hpp"
#include "protocols/droplog/httpmsg.hpp"

using namespace peerlab;
namespace http = peerlab::droplog::http;

namespace {
constexpr std::uint64_t max_body = 4096;

template <class M>
void check_message(byte_view in, const std::optional<M>& m, const http::decode_error& err) {
  if (!m)
    return fuzz::require_error_text(err.what);
  auto why = http::check(*m);
  fuzz::require(why.empty(), "droplog http decoded a message check() refuses", why);
  fuzz::require(m->body.size() <= max_body, "droplog http body over its bound");
  for (auto& h : m->headers)
    fuzz::require(http::is_token(h.name) && http::is_field_value(h.value),
                  "droplog http header could inject into HTTP/1.1", h.name);
  fuzz::require_same_bytes(in, http::encode(*m), "droplog http");
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = fuzz::view(data, size);
  auto k = http::peek_kind(in);
  http::decode_error err;
  auto q = http::decode_request(in, max_body, err);
  if (q)
    fuzz::require(k == http::kind::request, "droplog http request without its kind byte");
  check_message(in, q, err);
  err = {};
  auto r = http::decode_response(in, max_body, err);
  if (r)
    fuzz::require(k == http::kind::response, "droplog http response without its kind byte");
  check_message(in, r, err);
  if (q) {
    auto headers = q->headers;
    http::strip_hop_by_hop(headers);
    for (auto& h : headers)
      fuzz::require(!http::is_hop_by_hop(h.name), "droplog http hop-by-hop header kept", h.name);
  }
  return 0;
}
