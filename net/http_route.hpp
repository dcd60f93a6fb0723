#pragma once
// What the HTTP server of the local APIs (net/http_server.hpp) decides from a
// request's line and headers before it reads the body, as one pure function
// (no sockets, no Beast): the same-site check of Host and Origin (403), the
// API token of state-changing requests (401), the route for method and path
// (404, 405 with the allowed methods), the percent-decoding of path
// parameters and of the query (400 for a malformed escape, a NUL byte, a
// control character or a parameter that decodes to "."/".." or holds a '/').
// tests/fuzz/http_request.cpp feeds it hostile requests.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::net {

struct http_route_policy {
  std::string bound; // "ip:port" the server listens on ("[v6]:port" for IPv6)
  bool same_site_only = true;
  std::string token; // empty: no token needed
  std::string token_hint;
};

struct http_route_pattern {
  std::string method; // "*": every method
  std::string path;   // segments; "{}" matches one non-empty segment; "*" every path
};

struct http_route_input {
  std::string_view method, target, host, origin, authorization;
};

struct http_route_match {
  unsigned status = 0;   // 0: `route` answers; otherwise 400, 401, 403, 404 or 405
  std::string error;     // why, when status != 0
  std::size_t route = 0; // index into the patterns, when status == 0
  std::string path;      // the target without its query, as sent
  std::map<std::string, std::string> query; // decoded; as sent for a "*" path
  std::vector<std::string> params;          // the "{}" segments, decoded
  std::string allowed;                      // 405: the methods of the routes whose path matched
};

/// Decides the request; never throws on any input.
http_route_match route_request(const http_route_policy& policy,
                               const std::vector<http_route_pattern>& routes,
                               const http_route_input& in);

/// "%XX" escapes decoded; nullopt with `err` saying why for a malformed
/// escape or a NUL byte or control character in the result.
std::optional<std::string> percent_decode(std::string_view text, std::string& err);

/// Why a request's Host or Origin does not name the server at `bound`, or empty.
std::string foreign_site(const http_route_policy& policy, std::string_view host,
                         std::string_view origin);

/// Why the request may not change state (no or a wrong token), or empty.
/// Compared in constant time: the answer's timing says nothing about the token.
std::string unauthorized(const http_route_policy& policy, std::string_view method,
                         std::string_view authorization);

/// Bounds on what a request's target is split into.
constexpr std::size_t http_query_fields_max = 32;
constexpr std::size_t http_path_segments_max = 64;

} // namespace peerlab::net
