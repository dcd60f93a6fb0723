#include "net/http_route.hpp"

#include "protocols/common/text.hpp"

#include <boost/asio/ip/address.hpp>

namespace peerlab::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (x != y)
      return false;
  }
  return true;
}

// Shown in an error: at most 200 bytes, control characters as '?'.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200))
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return s.size() > 200 ? out + "..." : out;
}

// The segments of a path ("/a//b" -> a, "", b; "/a/" -> a: the trailing
// slash is compared separately), or nullopt past http_path_segments_max.
std::optional<std::vector<std::string_view>> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (out.size() == http_path_segments_max)
      return std::nullopt;
    if (path.front() == '/')
      path.remove_prefix(1);
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

// Whether the path matches the pattern; the raw "{}" segments go to `raw`.
bool matches(std::string_view pattern, std::string_view path, std::vector<std::string_view>& raw) {
  auto want = segments(pattern), got = segments(path);
  if (!want || !got || want->size() != got->size() || path.empty() || path.front() != '/')
    return false;
  raw.clear();
  for (std::size_t i = 0; i < want->size(); ++i) {
    if ((*want)[i] == "{}") {
      if ((*got)[i].empty())
        return false;
      raw.push_back((*got)[i]);
    } else if ((*want)[i] != (*got)[i]) {
      return false;
    }
  }
  // "/a/" and "/a" differ: a trailing slash is an empty last segment.
  return (pattern.back() == '/') == (path.back() == '/');
}

// The query's fields (at most http_query_fields_max; a repeated name keeps
// its last value), decoded if `decode`; nullopt with `err` for a bad escape.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view q, bool decode,
                                                              std::string& err) {
  std::map<std::string, std::string> out;
  while (!q.empty() && out.size() < http_query_fields_max) {
    auto amp = q.find('&');
    auto kv = q.substr(0, amp);
    auto eq = kv.find('=');
    if (!kv.empty()) {
      std::string key(kv.substr(0, eq));
      std::string value(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
      if (decode) {
        auto k = percent_decode(key, err);
        auto v = k ? percent_decode(value, err) : std::nullopt;
        if (!v) {
          err = "query field \"" + shown(kv) + "\": " + err;
          return std::nullopt;
        }
        key = std::move(*k);
        value = std::move(*v);
      }
      out[std::move(key)] = std::move(value);
    }
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

// A path parameter decoded; it must stay one segment that names something.
std::optional<std::string> decode_param(std::string_view raw, std::string& err) {
  auto p = percent_decode(raw, err);
  if (!p)
    return std::nullopt;
  if (*p == "." || *p == "..")
    err = "is a dot segment";
  else if (p->find('/') != std::string::npos)
    err = "holds a '/' (as %2F)";
  else if (p->empty())
    err = "is empty";
  else
    return p;
  return std::nullopt;
}

// A Host value split into name and port: "name", "name:port", "[v6]" or
// "[v6]:port". False for anything else (brackets inside a name, a bare IPv6
// address, text after the closing bracket), which names no server.
bool split_host(std::string_view host, std::string_view& name,
                std::optional<std::string_view>& port) {
  port.reset();
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos)
      return false;
    name = host.substr(0, close + 1);
    auto rest = host.substr(close + 1);
    if (rest.empty())
      return true;
    if (rest.front() != ':')
      return false;
    port = rest.substr(1);
    return true;
  }
  if (host.find_first_of("[]") != std::string_view::npos)
    return false;
  auto sep = host.find(':');
  if (sep != host.rfind(':'))
    return false;
  name = host.substr(0, sep);
  if (sep != std::string_view::npos)
    port = host.substr(sep + 1);
  return true;
}

bool names_this_server(std::string_view bound, std::string_view host) {
  auto colon = bound.rfind(':');
  if (colon == std::string_view::npos)
    return false;
  auto ip = bound.substr(0, colon);
  std::string_view name;
  std::optional<std::string_view> port;
  if (!split_host(host, name, port) || (port && *port != bound.substr(colon + 1)))
    return false;
  boost::system::error_code ec;
  auto bare = ip.size() > 1 && ip.front() == '[' ? ip.substr(1, ip.size() - 2) : ip;
  auto bound_ip = boost::asio::ip::make_address(std::string(bare), ec);
  if (ec || !bound_ip.is_loopback())
    return !name.empty(); // reachable from other hosts by any name
  return name == ip || name == "127.0.0.1" || name == "[::1]" || iequals(name, "localhost");
}

} // namespace

std::optional<std::string> percent_decode(std::string_view text, std::string& err) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex_digit_value(text[i + 2]) : -1;
      if (lo < 0) {
        err = "malformed escape \"" + shown(text.substr(i, 3)) + "\" (want %XX, two hex digits)";
        return std::nullopt;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') {
      err = "holds a NUL byte";
      return std::nullopt;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      err = "holds a control character";
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

std::string foreign_site(const http_route_policy& policy, std::string_view host,
                         std::string_view origin) {
  if (!policy.same_site_only)
    return {};
  if (!host.empty() && !names_this_server(policy.bound, host))
    return "Host \"" + shown(host) + "\" does not name this server";
  constexpr std::string_view scheme = "http://";
  if (!origin.empty() && (origin.substr(0, scheme.size()) != scheme ||
                          !names_this_server(policy.bound, origin.substr(scheme.size()))))
    return "cross-site request refused (Origin \"" + shown(origin) + "\")";
  return {};
}

std::string unauthorized(const http_route_policy& policy, std::string_view method,
                         std::string_view authorization) {
  const auto& token = policy.token;
  if (token.empty() || method == "GET" || method == "HEAD" || method == "OPTIONS")
    return {};
  constexpr std::string_view bearer = "Bearer ";
  std::string_view given = authorization.substr(0, bearer.size()) == bearer
                             ? authorization.substr(bearer.size())
                             : std::string_view();
  unsigned diff = given.size() != token.size();
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(token[i]) ^
            static_cast<unsigned char>(i < given.size() ? given[i] : 0);
  if (diff == 0)
    return {};
  return std::string(given.empty() ? "this request changes state: send" : "wrong API token: send") +
         " \"Authorization: Bearer TOKEN\" with the token in " + policy.token_hint;
}

http_route_match route_request(const http_route_policy& policy,
                               const std::vector<http_route_pattern>& routes,
                               const http_route_input& in) {
  http_route_match m;
  auto refuse = [&](unsigned status, std::string why) {
    m.status = status;
    m.error = std::move(why);
    return m;
  };
  if (auto why = foreign_site(policy, in.host, in.origin); !why.empty())
    return refuse(403, std::move(why));
  if (auto why = unauthorized(policy, in.method, in.authorization); !why.empty())
    return refuse(401, std::move(why));
  auto q = in.target.find('?');
  m.path = std::string(in.target.substr(0, q));
  auto query = q == std::string_view::npos ? std::string_view() : in.target.substr(q + 1);
  std::vector<std::string_view> raw;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    const bool any_path = r.path == "*";
    if (!any_path && !matches(r.path, m.path, raw))
      continue;
    if (r.method != in.method && r.method != "*") {
      if (m.allowed.find(r.method) == std::string::npos)
        m.allowed += (m.allowed.empty() ? "" : ", ") + r.method;
      continue;
    }
    // A proxy ("*") gets the target as sent; an API gets decoded parts.
    std::string err;
    for (std::size_t k = 0; !any_path && k < raw.size(); ++k) {
      auto p = decode_param(raw[k], err);
      if (!p)
        return refuse(400, "path segment \"" + shown(raw[k]) + "\" " + err);
      m.params.push_back(std::move(*p));
    }
    auto fields = parse_query(query, !any_path, err);
    if (!fields)
      return refuse(400, err);
    m.query = std::move(*fields);
    m.route = i;
    m.allowed.clear();
    return m;
  }
  std::string method = shown(in.method), path = shown(m.path);
  if (m.allowed.empty())
    return refuse(404, "no endpoint " + method + " " + path + " (no route)");
  return refuse(405, method + " is not allowed on " + path + " (allowed: " + m.allowed + ")");
}

} // namespace peerlab::net
