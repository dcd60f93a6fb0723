// Layer 2 on its own: the HTTP message codec, the pending-request table, the
// simulated upstream, and the host that routes files to sessions.
#include "helpers.hpp"
#include "protocols/droplog/host.hpp"
#include "protocols/droplog/http_gateway.hpp"

#include <catch2/catch.hpp>

using namespace droplog_test;
namespace http = peerlab::droplog::http;

namespace {
http::request sample_request() {
  http::request q;
  q.id = 0x1122334455667788ull;
  q.timeout_ms = 30000;
  q.method = "POST";
  q.target = "/api/v1/items?x=1&y=%20";
  q.headers = {{"Content-Type", "application/octet-stream"}, {"X-Trace", "abc\tdef"}};
  for (int i = 0; i < 300; ++i)
    q.body.push_back(static_cast<std::uint8_t>(i)); // every byte value
  return q;
}
http::response sample_response() {
  http::response p;
  p.id = 42;
  p.status = 201;
  p.reason = "Created";
  p.headers = {{"Location", "/api/v1/items/7"}};
  p.body = {0, 1, 2, 255, 0};
  return p;
}
} // namespace

TEST_CASE("httpmsg request and response round-trip byte for byte", "[httpmsg]") {
  auto q = sample_request();
  auto wire = http::encode(q);
  CHECK(http::peek_kind(view(wire)) == http::kind::request);
  http::decode_error err;
  auto back = http::decode_request(view(wire), 1 << 20, err);
  REQUIRE(back);
  CHECK(*back == q);
  auto p = sample_response();
  auto pw = http::encode(p);
  auto pb = http::decode_response(view(pw), 1 << 20, err);
  REQUIRE(pb);
  CHECK(*pb == p);
  auto app = http::encode_app_message(view(p.body));
  CHECK(http::peek_kind(view(app)) == http::kind::app_message);
  CHECK(app.size() == p.body.size() + 1);
}

TEST_CASE("httpmsg rejects every truncation and any trailing byte", "[httpmsg]") {
  auto wire = http::encode(sample_request());
  http::decode_error err;
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(http::decode_request(byte_view(wire.data(), n), 1 << 20, err));
    CHECK_FALSE(err.what.empty());
  }
  auto longer = wire;
  longer.push_back(0);
  CHECK_FALSE(http::decode_request(view(longer), 1 << 20, err));
  auto pw = http::encode(sample_response());
  for (std::size_t n = 0; n < pw.size(); ++n)
    CHECK_FALSE(http::decode_response(byte_view(pw.data(), n), 1 << 20, err));
}

TEST_CASE("httpmsg refuses header injection, bad methods, targets and statuses", "[httpmsg]") {
  auto q = sample_request();
  q.headers.push_back({"X-Evil", "a\r\nSet-Cookie: x=1"});
  CHECK_THROWS(http::encode(q));
  CHECK(http::check(q).find("control characters") != std::string::npos);
  q = sample_request();
  q.method = "GET /";
  CHECK_FALSE(http::check(q).empty());
  q = sample_request();
  q.target = "http://elsewhere/";
  CHECK_FALSE(http::check(q).empty());
  q = sample_request();
  q.headers.push_back({"Bad Name", "v"});
  CHECK_FALSE(http::check(q).empty());
  auto p = sample_response();
  p.status = 600;
  CHECK_FALSE(http::check(p).empty());
  // The decoder checks the same rules on bytes it did not write: a CR in a value.
  auto wire = http::encode(sample_request());
  auto at = std::search(wire.begin(), wire.end(), std::begin("abc"), std::begin("abc") + 3);
  REQUIRE(at != wire.end());
  *at = '\r';
  http::decode_error err;
  CHECK_FALSE(http::decode_request(view(wire), 1 << 20, err));
  CHECK(err.what.find("value") != std::string::npos);
}

TEST_CASE("httpmsg bounds the body by the caller's limit", "[httpmsg]") {
  auto wire = http::encode(sample_request());
  http::decode_error err;
  CHECK_FALSE(http::decode_request(view(wire), 299, err));
  CHECK(err.what.find("body length") != std::string::npos);
  CHECK(http::decode_request(view(wire), 300, err));
}

TEST_CASE("httpmsg strips hop-by-hop headers and those named by Connection", "[httpmsg]") {
  std::vector<http::header_field> h = {{"Connection", "keep-alive, X-Private"},
                                       {"X-Private", "1"},
                                       {"Transfer-Encoding", "chunked"},
                                       {"content-length", "5"},
                                       {"Accept", "*/*"}};
  http::strip_hop_by_hop(h);
  REQUIRE(h.size() == 1);
  CHECK(h[0].name == "Accept");
}

TEST_CASE("pending table times requests out in deadline order and ignores late answers",
          "[httpmsg]") {
  http::pending_table t(2);
  rng r(1);
  auto a = t.begin(r, 0, 100, 7, 10);
  auto b = t.begin(r, 5, 50, 8, 20);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
  CHECK_FALSE(t.begin(r, 6, 10, 9, 0)); // full
  CHECK(t.next_deadline() == 55);
  CHECK(t.expire(54).empty());
  auto gone = t.expire(55);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].first == *b);
  CHECK(gone[0].second.tag == 8);
  CHECK_FALSE(t.complete(*b)); // its answer is late
  auto e = t.complete(*a);
  REQUIRE(e);
  CHECK(e->tag == 7);
  CHECK(t.size() == 0);
}

TEST_CASE("simulated upstream is a pure function of the request", "[httpmsg]") {
  http::request q;
  q.method = "GET";
  q.target = "/size/1000?call=3";
  auto p = http::simulated_upstream(q, 1 << 20);
  CHECK(p.status == 200);
  CHECK(p.body == http::simulated_body(q.target, 1000));
  CHECK(http::simulated_upstream(q, 1 << 20) == p);
  q.target = "/size/2000000";
  CHECK(http::simulated_upstream(q, 1 << 20).status == 413);
  q.target = "/status/503";
  CHECK(http::simulated_upstream(q, 1 << 20).status == 503);
  q.target = "/nothing";
  CHECK(http::simulated_upstream(q, 1 << 20).status == 404);
  q.method = "POST";
  q.target = "/size/5";
  q.body = {1, 2, 3};
  auto echo = http::simulated_upstream(q, 1 << 20);
  REQUIRE(echo.body.size() == 32 + 3);
  CHECK(bytes(echo.body.end() - 3, echo.body.end()) == q.body);
}

TEST_CASE("host routes files by pair and rejects files for others", "[httpmsg]") {
  const peer_id c = 0x0c0c;
  auto base = small_config(0, 0);
  droplog::host a(side_a, {side_b, c}, base, nullptr);
  droplog::host b(side_b, {side_a}, base, nullptr);
  auto msg = message_body(0, 50);
  REQUIRE(a.find(side_b)->submit(view(msg)));
  auto out = a.poll(0);
  REQUIRE(out.files.size() == 1);
  CHECK(out.files[0].to == side_b);
  auto in = b.on_file(1000, view(out.files[0].packet.data));
  CHECK_FALSE(in.unrouted);
  CHECK(in.from == side_a);
  REQUIRE(in.result.delivered.size() == 1);
  CHECK(in.result.delivered[0].data == msg);
  // The same file offered to a (it is not the recipient) is not routed.
  auto wrong = a.on_file(1000, view(out.files[0].packet.data));
  CHECK(wrong.unrouted);
  CHECK(a.files_unrouted() == 1);
  CHECK(b.on_file(0, view(msg)).unrouted); // not a packet at all
  CHECK_THROWS(droplog::host(side_a, {side_a}, base, nullptr));
  CHECK_THROWS(droplog::host(side_a, {}, base, nullptr));
}
