// A request to a local API (net/http_route.hpp), as the server sees it: the
// bytes go through Beast's request parser with the server's header bound,
// then the same-site check, the token, the route table and the decoding of
// path parameters and query. Contract: no crash; a refusal says why; a
// decoded parameter or query field never holds a NUL or control byte, and a
// parameter is never "." or ".." or holds a '/'; a state-changing request
// passes only with exactly "Bearer <token>"; 403 only where Host/Origin are
// checked.
//
// Input: byte 0 flags (bit 0: same_site_only, bit 1: listen on a
// non-loopback address, bit 2: a "*" proxy route first), byte 1 the token's
// length (0..63, 0: no token), the token, then the raw HTTP request.
#include "fuzz_check.hpp"
#include "net/http_route.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

using namespace peerlab;
namespace http = boost::beast::http;

namespace {

const std::vector<net::http_route_pattern> api_routes{
  {"GET", "/api/health"},
  {"POST", "/api/file/provide-file"},
  {"POST", "/api/file/stop-providing/{}"},
  {"GET", "/api/file/get-providers/{}"},
  {"POST", "/api/file/download-file"},
  {"GET", "/api/wallet/balance"},
  {"POST", "/api/sets/{}/files/{}"},
  {"GET", "/api/sets/{}/files/{}"},
  {"PUT", "/api/sets/{}/raw/{}"},
  {"GET", "/api/sets/{}"},
};

std::string_view field(const http::request<http::string_body>& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string_view()
                         : std::string_view(it->value().data(), it->value().size());
}

bool clean(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  const std::uint8_t flags = data[0];
  const std::size_t token_len = data[1] & 63;
  if (size < 2 + token_len)
    return 0;
  net::http_route_policy policy;
  policy.same_site_only = flags & 1;
  policy.bound = flags & 2 ? "192.0.2.7:8080" : "127.0.0.1:8080";
  policy.token.assign(reinterpret_cast<const char*>(data + 2), token_len);
  policy.token_hint = "api.token";
  auto routes = api_routes;
  if (flags & 4)
    routes.insert(routes.begin(), {"*", "*"});

  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data + 2 + token_len, size - 2 - token_len), ec);
  if (!parser.is_header_done())
    return 0;
  const auto& req = parser.get();
  net::http_route_input in{std::string_view(req.method_string().data(), req.method_string().size()),
                           std::string_view(req.target().data(), req.target().size()),
                           field(req, http::field::host), field(req, http::field::origin),
                           field(req, http::field::authorization)};
  auto m = net::route_request(policy, routes, in);

  const bool safe = in.method == "GET" || in.method == "HEAD" || in.method == "OPTIONS";
  if (m.status != 0) {
    fuzz::require_error_text(m.error);
    fuzz::require(m.status == 400 || m.status == 401 || m.status == 403 || m.status == 404 ||
                    m.status == 405,
                  "a refusal with an unexpected status", std::to_string(m.status));
    fuzz::require(m.status != 403 || policy.same_site_only, "403 without the same-site check");
    fuzz::require(m.status != 401 || (!policy.token.empty() && !safe), "401 where no token is due");
    fuzz::require(m.status != 405 || !m.allowed.empty(), "405 without the allowed methods");
    return 0;
  }
  fuzz::require(m.route < routes.size(), "route index out of range");
  if (!policy.token.empty() && !safe)
    fuzz::require(in.authorization == "Bearer " + policy.token,
                  "a state-changing request passed with a wrong token",
                  std::string(in.authorization));
  if (policy.same_site_only) {
    // A Host (or Origin) that names a port names this server's.
    auto has_port = [](std::string_view h) {
      auto close = h.rfind(']');
      return (close == std::string_view::npos ? h : h.substr(close + 1)).find(':') !=
             std::string_view::npos;
    };
    fuzz::require(!has_port(in.host) || in.host.ends_with(":8080"),
                  "a Host on another port passed the same-site check", std::string(in.host));
    auto origin_host = in.origin.substr(std::min<std::size_t>(in.origin.size(), 7));
    fuzz::require(in.origin.empty() || (in.origin.starts_with("http://") &&
                                        (!has_port(origin_host) || origin_host.ends_with(":8080"))),
                  "an Origin of another site passed the same-site check", std::string(in.origin));
  }
  const auto& r = routes[m.route];
  fuzz::require(r.method == "*" || r.method == in.method, "a route of another method answered");
  if (r.path == "*")
    return 0;
  std::size_t holes = 0;
  for (std::size_t at = r.path.find("{}"); at != std::string::npos; at = r.path.find("{}", at + 2))
    ++holes;
  fuzz::require(m.params.size() == holes, "params do not fill the route's {} segments");
  for (auto& p : m.params) {
    fuzz::require(!p.empty() && p != "." && p != "..", "a parameter decoded to a dot segment", p);
    fuzz::require(p.find('/') == std::string::npos, "a parameter decoded to hold a '/'", p);
    fuzz::require(clean(p), "a parameter decoded to hold a NUL or control byte");
  }
  for (auto& [k, v] : m.query)
    fuzz::require(clean(k) && clean(v), "a query field decoded to hold a NUL or control byte");
  fuzz::require(m.query.size() <= net::http_query_fields_max, "more query fields than the bound");
  return 0;
}
