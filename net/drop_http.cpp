#include "net/drop_http.hpp"

#include <array>

namespace peerlab::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace dh = droplog::http;
using tcp = asio::ip::tcp;

std::optional<dh::request> to_message(http_server_request&& r, std::string& why) {
  dh::request q;
  q.method = std::move(r.method);
  q.target = std::move(r.target);
  for (auto& [name, value] : r.header_list)
    q.headers.push_back({std::move(name), std::move(value)});
  dh::strip_hop_by_hop(q.headers);
  std::erase_if(q.headers,
                [](const dh::header_field& h) { return beast::iequals(h.name, "host"); });
  q.body.assign(r.body.begin(), r.body.end());
  if (auto e = dh::check(q); !e.empty()) {
    why = e;
    return std::nullopt;
  }
  return q;
}

http_server_answer to_answer(dh::response&& p) {
  http_server_answer a;
  a.status = p.status;
  a.reason = std::move(p.reason);
  a.passthrough = true;
  dh::strip_hop_by_hop(p.headers);
  for (auto& h : p.headers)
    a.headers.emplace_back(std::move(h.name), std::move(h.value));
  a.body.assign(p.body.begin(), p.body.end());
  return a;
}

beast_request to_beast(dh::request&& q, const address& upstream) {
  beast_request r;
  r.version(11);
  r.method_string(q.method);
  r.target(q.target);
  dh::strip_hop_by_hop(q.headers);
  for (auto& h : q.headers)
    if (!beast::iequals(h.name, "host"))
      r.insert(h.name, h.value);
  r.set(beast_http::field::host, to_string(upstream));
  r.body() = std::move(q.body);
  r.keep_alive(false);
  if (!r.body().empty() || q.method == "POST" || q.method == "PUT" || q.method == "PATCH")
    r.prepare_payload();
  return r;
}

dh::response to_message(beast_response&& r, std::uint64_t id) {
  dh::response p;
  p.id = id;
  p.status = static_cast<std::uint16_t>(r.result_int());
  p.reason = std::string(r.reason());
  if (!dh::is_field_value(p.reason) || p.reason.size() > dh::limits::reason_max)
    p.reason = dh::reason_phrase(p.status);
  for (auto& f : r) {
    dh::header_field h{std::string(f.name_string()), std::string(f.value())};
    if (dh::is_token(h.name) && dh::is_field_value(h.value) &&
        h.name.size() <= dh::limits::header_name_max &&
        h.value.size() <= dh::limits::header_value_max &&
        p.headers.size() < dh::limits::headers_max)
      p.headers.push_back(std::move(h));
  }
  dh::strip_hop_by_hop(p.headers);
  p.body = std::move(r.body());
  return p;
}

dh::response error_response(std::uint64_t id, std::uint16_t status, const std::string& text) {
  dh::response p;
  p.id = id;
  p.status = status;
  p.reason = dh::reason_phrase(status);
  p.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  p.headers.push_back({"X-Droplog-Gateway", "error"});
  auto body = "droplog gateway: " + text + "\n";
  p.body.assign(body.begin(), body.end());
  return p;
}

// -- side b: upstream call -------------------------------------------------------

upstream_call::upstream_call(asio::io_context& io, address upstream,
                             std::chrono::microseconds timeout, std::uint64_t max_body,
                             dh::request&& q, done_handler done)
    : resolver_(io), stream_(io), upstream_(std::move(upstream)), timeout_(timeout), id_(q.id),
      req_(to_beast(std::move(q), upstream_)), done_(std::move(done)) {
  parser_.header_limit(64 * 1024);
  parser_.body_limit(max_body);
  if (req_.method() == beast_http::verb::head)
    parser_.skip(true);
}

void upstream_call::start() {
  stream_.expires_after(timeout_);
  resolver_.async_resolve(
    upstream_.host, std::to_string(upstream_.port),
    [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
      if (ec)
        return self->fail(ec, "resolve");
      self->stream_.async_connect(results, [self](beast::error_code ec, const tcp::endpoint&) {
        if (ec)
          return self->fail(ec, "connect");
        beast_http::async_write(
          self->stream_, self->req_, [self](beast::error_code ec, std::size_t) {
            if (ec)
              return self->fail(ec, "write");
            beast_http::async_read(self->stream_, self->buffer_, self->parser_,
                                   [self](beast::error_code ec, std::size_t) {
                                     if (ec)
                                       return self->fail(ec, "read");
                                     beast::error_code ignored;
                                     self->stream_.socket().shutdown(tcp::socket::shutdown_both,
                                                                     ignored);
                                     auto done = std::move(self->done_);
                                     done(to_message(self->parser_.release(), self->id_));
                                   });
          });
      });
    });
}

void upstream_call::fail(const beast::error_code& ec, const char* stage) {
  auto done = std::move(done_);
  if (!done)
    return;
  if (ec == beast::error::timeout)
    return done(
      error_response(id_, 504, std::string("upstream did not answer in time (") + stage + ")"));
  if (ec == beast_http::error::body_limit)
    return done(error_response(id_, 502, "upstream response body above the gateway's max_body"));
  done(error_response(id_, 502, std::string("upstream ") + stage + " failed: " + ec.message()));
}

} // namespace peerlab::net
