#include "protocols/droplog/httpmsg.hpp"

#include "protocols/common/wire.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace peerlab::droplog::http {

namespace {

bool lower_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string check_headers(const std::vector<header_field>& hs) {
  if (hs.size() > limits::headers_max)
    return "more than " + std::to_string(limits::headers_max) + " headers";
  for (std::size_t i = 0; i < hs.size(); ++i) {
    auto& h = hs[i];
    if (h.name.empty() || h.name.size() > limits::header_name_max || !is_token(h.name))
      return "header " + std::to_string(i) + ": name is empty, too long or not a token";
    if (h.value.size() > limits::header_value_max || !is_field_value(h.value))
      return "header " + std::to_string(i) + " (" + h.name +
             "): value too long or has control characters";
  }
  return {};
}

void write_headers(wire::writer& w, const std::vector<header_field>& hs) {
  w.u16(static_cast<std::uint16_t>(hs.size()));
  for (auto& h : hs) {
    w.str16(h.name);
    w.str16(h.value);
  }
}

void write_body(wire::writer& w, const bytes& body) {
  w.u64(body.size());
  w.raw(byte_view{body.data(), body.size()});
}

bool fail(decode_error& err, std::string what) {
  err.what = std::move(what);
  return false;
}

bool read_prefix(wire::reader& r, kind expected, std::uint64_t& id, decode_error& err) {
  std::uint8_t k = 0, v = 0;
  if (!r.u8(k))
    return fail(err, "kind: missing");
  if (k != static_cast<std::uint8_t>(expected))
    return fail(err, "kind: " + std::to_string(k) + " is not " +
                       std::to_string(static_cast<int>(expected)));
  if (!r.u8(v))
    return fail(err, "version: missing");
  if (v != format_version)
    return fail(err, "version: " + std::to_string(v) + " is not " + std::to_string(format_version));
  if (!r.u64(id))
    return fail(err, "request id: truncated");
  return true;
}

bool read_headers(wire::reader& r, std::vector<header_field>& hs, decode_error& err) {
  std::uint16_t n = 0;
  if (!r.u16(n))
    return fail(err, "header count: truncated");
  if (n > limits::headers_max)
    return fail(err, "header count: " + std::to_string(n) + " above " +
                       std::to_string(limits::headers_max));
  hs.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto at = "header " + std::to_string(i);
    if (!r.str16(hs[i].name, limits::header_name_max))
      return fail(err, at + " name: truncated or too long");
    if (hs[i].name.empty() || !is_token(hs[i].name))
      return fail(err, at + " name: not a token");
    if (!r.str16(hs[i].value, limits::header_value_max))
      return fail(err, at + " value: truncated or too long");
    if (!is_field_value(hs[i].value))
      return fail(err, at + " value: control characters");
  }
  return true;
}

bool read_body(wire::reader& r, bytes& body, std::uint64_t max_body, decode_error& err) {
  std::uint64_t n = 0;
  if (!r.u64(n))
    return fail(err, "body length: truncated");
  if (n > std::min(max_body, limits::body_bytes_max))
    return fail(err, "body length: " + std::to_string(n) + " above the bound " +
                       std::to_string(std::min(max_body, limits::body_bytes_max)));
  if (r.remaining() != n)
    return fail(err, "body: " + std::to_string(r.remaining()) + " bytes where " +
                       std::to_string(n) + " are declared");
  auto rest = r.rest();
  body.assign(rest.begin(), rest.end());
  return true;
}

} // namespace

bool is_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || extra.find(c) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

bool is_origin_target(std::string_view s) {
  return !s.empty() && s.front() == '/' && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

bool is_hop_by_hop(std::string_view name) {
  static constexpr std::string_view names[] = {"connection",
                                               "keep-alive",
                                               "proxy-connection",
                                               "proxy-authenticate",
                                               "proxy-authorization",
                                               "te",
                                               "trailer",
                                               "transfer-encoding",
                                               "upgrade",
                                               "content-length"};
  for (auto n : names)
    if (lower_equal(name, n))
      return true;
  return false;
}

void strip_hop_by_hop(std::vector<header_field>& headers) {
  std::vector<std::string> listed; // names a Connection header marks as hop-by-hop
  for (auto& h : headers) {
    if (!lower_equal(h.name, "connection"))
      continue;
    std::string item;
    for (char c : h.value + ",") {
      if (c == ',') {
        auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
        if (b != std::string::npos)
          listed.push_back(item.substr(b, e - b + 1));
        item.clear();
      } else {
        item += c;
      }
    }
  }
  std::erase_if(headers, [&](const header_field& h) {
    return is_hop_by_hop(h.name) ||
           std::any_of(listed.begin(), listed.end(),
                       [&](const std::string& l) { return lower_equal(l, h.name); });
  });
}

std::string check(const request& r) {
  if (r.method.empty() || r.method.size() > limits::method_max || !is_token(r.method))
    return "method: empty, too long or not a token";
  if (r.target.size() > limits::target_max || !is_origin_target(r.target))
    return "target: must start with '/', have no spaces or control characters and at most " +
           std::to_string(limits::target_max) + " bytes";
  if (r.timeout_ms > limits::timeout_ms_max)
    return "timeout: above " + std::to_string(limits::timeout_ms_max) + " ms";
  if (r.body.size() > limits::body_bytes_max)
    return "body: above " + std::to_string(limits::body_bytes_max) + " bytes";
  return check_headers(r.headers);
}

std::string check(const response& r) {
  if (r.status < 100 || r.status > 599)
    return "status: " + std::to_string(r.status) + " outside 100..599";
  if (r.reason.size() > limits::reason_max || !is_field_value(r.reason))
    return "reason: too long or has control characters";
  if (r.body.size() > limits::body_bytes_max)
    return "body: above " + std::to_string(limits::body_bytes_max) + " bytes";
  return check_headers(r.headers);
}

bytes encode(const request& r) {
  if (auto e = check(r); !e.empty())
    throw std::invalid_argument("http request: " + e);
  bytes out;
  out.reserve(32 + r.method.size() + r.target.size() + r.body.size());
  wire::writer w(out);
  w.u8(static_cast<std::uint8_t>(kind::request));
  w.u8(format_version);
  w.u64(r.id);
  w.u32(r.timeout_ms);
  w.str16(r.method);
  w.str16(r.target);
  write_headers(w, r.headers);
  write_body(w, r.body);
  return out;
}

bytes encode(const response& r) {
  if (auto e = check(r); !e.empty())
    throw std::invalid_argument("http response: " + e);
  bytes out;
  out.reserve(32 + r.reason.size() + r.body.size());
  wire::writer w(out);
  w.u8(static_cast<std::uint8_t>(kind::response));
  w.u8(format_version);
  w.u64(r.id);
  w.u16(r.status);
  w.str16(r.reason);
  write_headers(w, r.headers);
  write_body(w, r.body);
  return out;
}

bytes encode_app_message(byte_view payload) {
  bytes out;
  out.reserve(payload.size() + 1);
  out.push_back(static_cast<std::uint8_t>(kind::app_message));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::optional<kind> peek_kind(byte_view message) {
  if (message.empty() || message[0] < 1 || message[0] > 3)
    return std::nullopt;
  return static_cast<kind>(message[0]);
}

std::optional<request> decode_request(byte_view message, std::uint64_t max_body,
                                      decode_error& err) {
  wire::reader r(message);
  request q;
  if (!read_prefix(r, kind::request, q.id, err))
    return std::nullopt;
  if (!r.u32(q.timeout_ms))
    return fail(err, "timeout: truncated"), std::nullopt;
  if (q.timeout_ms > limits::timeout_ms_max)
    return fail(err, "timeout: above the bound"), std::nullopt;
  if (!r.str16(q.method, limits::method_max) || !is_token(q.method))
    return fail(err, "method: truncated, too long or not a token"), std::nullopt;
  if (!r.str16(q.target, limits::target_max) || !is_origin_target(q.target))
    return fail(err, "target: truncated, too long or not an origin-form target"), std::nullopt;
  if (!read_headers(r, q.headers, err) || !read_body(r, q.body, max_body, err))
    return std::nullopt;
  return q;
}

std::optional<response> decode_response(byte_view message, std::uint64_t max_body,
                                        decode_error& err) {
  wire::reader r(message);
  response p;
  if (!read_prefix(r, kind::response, p.id, err))
    return std::nullopt;
  if (!r.u16(p.status))
    return fail(err, "status: truncated"), std::nullopt;
  if (p.status < 100 || p.status > 599)
    return fail(err, "status: " + std::to_string(p.status) + " outside 100..599"), std::nullopt;
  if (!r.str16(p.reason, limits::reason_max) || !is_field_value(p.reason))
    return fail(err, "reason: truncated, too long or control characters"), std::nullopt;
  if (!read_headers(r, p.headers, err) || !read_body(r, p.body, max_body, err))
    return std::nullopt;
  return p;
}

const char* reason_phrase(std::uint16_t status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 413:
    return "Content Too Large";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "";
  }
}

} // namespace peerlab::droplog::http
