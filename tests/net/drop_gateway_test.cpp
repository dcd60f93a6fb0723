// Layer 2 live: the two gateway sides as live nodes in one process on
// 127.0.0.1 (the droplog role behind the runtime seam, its folder transport),
// a shared drop folder between them, a tiny upstream HTTP server, and a Beast
// client.
#include "protocols/common/config_fields.hpp"
#include "net/disk_content.hpp"
#include "net/drop_gateway_config.hpp"
#include "net/drop_http.hpp"
#include "net/drop_listener.hpp"
#include "net/drop_upstream.hpp"
#include "net/live_runtime.hpp"
#include "net/sqlite_store.hpp"
#include "protocols/droplog/drop_role.hpp"
#include "protocols/droplog/http_gateway.hpp"
#include "protocols/droplog/relay_rows.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <thread>

using namespace peerlab;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

/// Upstream: GET /size/<n> answers simulated_body; other methods echo the body.
class upstream_server {
public:
  explicit upstream_server(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec)
        return;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto buf = std::make_shared<boost::beast::flat_buffer>();
      auto req = std::make_shared<net::beast_request>();
      bhttp::async_read(
        *sock, *buf, *req, [sock, buf, req](boost::system::error_code ec, std::size_t) {
          if (ec)
            return;
          auto res = std::make_shared<net::beast_response>();
          res->version(11);
          std::string target(req->target());
          if (req->method() == bhttp::verb::get && target.rfind("/size/", 0) == 0) {
            res->result(200);
            res->body() = droplog::http::simulated_body(target, std::stoull(target.substr(6)));
          } else {
            res->result(201);
            res->set("X-Method", std::string(req->method_string()));
            res->body() = req->body();
          }
          res->keep_alive(false);
          res->prepare_payload();
          bhttp::async_write(*sock, *res, [sock, res](boost::system::error_code, std::size_t) {
            boost::system::error_code ignored;
            sock->shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
      accept();
    });
  }
  tcp::acceptor acceptor_;
};

net::drop_gateway_config side_config(bool a, const std::filesystem::path& dir,
                                     std::uint16_t upstream_port) {
  nlohmann::json j = {{"side", a ? "a" : "b"},       {"name", a ? "gw-a" : "gw-b"},
                      {"peer", a ? "gw-b" : "gw-a"}, {"key", "gateway test shared key, 32 byte"},
                      {"out_dir", dir.string()},     {"in_dir", dir.string()},
                      {"poll_interval", "2ms"},      {"request_timeout", "20s"},
                      {"metrics_interval", "0s"},    {"min_packet", "64KiB"},
                      {"initial_packet", "256KiB"},  {"max_packet", "4MiB"},
                      {"fragment", "32KiB"},         {"max_body", "8MiB"}};
  if (!a)
    j["upstream"] = "http://127.0.0.1:" + std::to_string(upstream_port);
  return net::parse_drop_gateway_config(j, dir);
}

/// One gateway side as `peerlab drop-gateway` runs it: a live node with the
/// droplog role, its folder transport, and side a's listener or side b's
/// upstream (apps/peerlab/drop_gateway_command.cpp builds the same parts).
struct side {
  side(const net::drop_gateway_config& g, const std::filesystem::path& db) {
    const bool a = g.side == net::drop_gateway_config::side_t::a;
    droplog::role_config rc;
    rc.session = g.session;
    rc.peers = {g.session.remote};
    rc.delete_files = true;
    rc.serve_http = rc.external_upstream = !a;
    rc.max_http_body = g.max_body;
    rc.http_timeout = g.request_timeout;
    rc.max_pending_http = g.max_connections;
    net::live_options o;
    o.name = g.name; // plaintext: the id is the name's, as the folder names expect
    o.roles = {droplog::make_drop_role(rc)};
    o.store = std::make_unique<net::sqlite_store>(db);
    o.content = std::make_unique<net::disk_content>(db.parent_path() / (g.name + ".data"));
    o.drop_folders = net::drop_folders_config{g.out_dir, g.in_dir};
    o.on_event = [this](port_t port, const event& e) {
      if (listener && port == ports::droplog)
        listener->consume(e);
    };
    o.on_log = [](const std::string&) {};
    rt = std::make_unique<net::live_runtime>(std::move(o));
    auto quiet = [](const std::string&) {};
    if (a)
      listener = std::make_unique<net::drop_listener>(
        net::drop_listener_options{g.listen, g.session.remote, g.request_timeout, g.max_body,
                                   g.max_connections},
        [this](const command& c) { return rt->command(ports::droplog, c); }, quiet);
    else
      upstream = std::make_unique<net::drop_upstream>(
        *rt, net::drop_upstream_options{g.upstream, g.upstream_timeout, g.max_body, 4, 16}, quiet);
    rt->start();
    if (listener)
      listener->start();
    if (upstream)
      upstream->start();
  }
  ~side() { stop(); }
  void stop() {
    if (listener)
      listener->stop();
    if (upstream)
      upstream->stop();
    rt->stop();
  }
  /// The counter once it reaches `want` (up to 5 s): a role records its
  /// metrics after its frames leave, so the other side may be faster.
  double counter_at(const std::string& name, double want) const {
    for (int i = 0; i < 500 && counter(name) < want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return counter(name);
  }
  double counter(const std::string& name) const {
    auto c = rt->counters();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
  }
  std::unique_ptr<net::live_runtime> rt;
  std::unique_ptr<net::drop_listener> listener;
  std::unique_ptr<net::drop_upstream> upstream;
};

/// Both sides on one shared folder, the upstream on an io thread; requests
/// from the test thread.
struct rig {
  explicit rig(bool with_b = true, bool with_upstream = true, std::string request_timeout = "20s")
      : dir("dropgw"), upstream(with_upstream ? std::make_unique<upstream_server>(io) : nullptr) {
    auto ca = side_config(true, dir.path(), 0);
    ca.request_timeout = *cfg::parse_duration(request_timeout);
    // A port nobody listens on, for the upstream-down case.
    up = upstream ? upstream->port() : 1;
    thread = std::thread([this] { io.run(); });
    a = std::make_unique<side>(ca, dir.path() / "a.db");
    if (with_b)
      b = start_b(up);
  }
  ~rig() {
    a.reset();
    b.reset();
    io.stop();
    thread.join();
  }
  std::unique_ptr<side> start_b(std::uint16_t upstream_port) {
    return std::make_unique<side>(side_config(false, dir.path(), upstream_port),
                                  dir.path() / "b.db");
  }
  net::beast_response call(bhttp::verb method, const std::string& target, bytes body = {}) {
    asio::io_context cio;
    boost::beast::tcp_stream s(cio);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), a->listener->port()));
    net::beast_request req(method, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.set("X-Test", "binary-safe");
    req.body() = std::move(body);
    req.prepare_payload();
    boost::system::error_code ec;
    bhttp::write(s, req, ec); // a server may answer (413) before it has read the whole body
    boost::beast::flat_buffer buf;
    bhttp::response_parser<net::http_body> p;
    p.body_limit(64u << 20);
    bhttp::read(s, buf, p);
    return p.release();
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  test::temp_dir dir;
  std::unique_ptr<upstream_server> upstream;
  std::uint16_t up = 1;
  std::thread thread;
  std::unique_ptr<side> a, b;
};

} // namespace

TEST_CASE("drop gateway carries a GET and a binary POST through the folder and back",
          "[net][drop]") {
  rig r;
  auto res = r.call(bhttp::verb::get, "/size/300000");
  CHECK(res.result_int() == 200);
  CHECK(res.body() == droplog::http::simulated_body("/size/300000", 300000));
  bytes body(70000);
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<std::uint8_t>(i * 131 + 7); // every byte value, NULs included
  auto echo = r.call(bhttp::verb::put, "/upload?x=1", body);
  CHECK(echo.result_int() == 201);
  CHECK(echo["X-Method"] == "PUT");
  CHECK(echo.body() == body);
  CHECK(r.a->listener->stats().answered == 2);
  CHECK(r.b->upstream->stats().calls == 2);
  CHECK(r.a->counter_at("http_responses", 2) == 2);
  CHECK(r.b->counter_at("http_served", 2) == 2);
}

TEST_CASE("drop gateway answers 502 when the upstream server is down", "[net][drop]") {
  rig r(true, false);
  auto res = r.call(bhttp::verb::get, "/size/10");
  CHECK(res.result_int() == 502);
  CHECK(std::string(res.body().begin(), res.body().end()).find("upstream connect failed") !=
        std::string::npos);
}

TEST_CASE("drop gateway answers 504 when no answer comes back in time", "[net][drop]") {
  rig r(false, true, "300ms"); // no side b: nothing ever answers
  auto res = r.call(bhttp::verb::get, "/size/10");
  CHECK(res.result_int() == 504);
  CHECK(r.a->listener->stats().timeouts == 1);
  CHECK(r.a->counter_at("http_gateway_timeouts", 1) == 1);
}

TEST_CASE("drop gateway refuses bodies above max_body with 413", "[net][drop]") {
  rig r;
  auto res = r.call(bhttp::verb::post, "/big", bytes((8u << 20) + 1, 1));
  CHECK(res.result_int() == 413);
}

TEST_CASE("drop gateway config errors name the field", "[net][drop]") {
  test::temp_dir d("dropcfg");
  nlohmann::json j = {{"side", "a"},    {"name", "x"},
                      {"peer", "y"},    {"key", "0123456789abcdef0123"},
                      {"out_dir", "o"}, {"in_dir", "i"}};
  CHECK_NOTHROW(net::parse_drop_gateway_config(j, d.path()));
  auto bad = j;
  bad["listen"] = "0.0.0.0:80";
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()),
                    Catch::Contains("config.listen"));
  bad = j;
  bad["side"] = "c";
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()), Catch::Contains("config.side"));
  bad = j;
  bad["key"] = "short";
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()), Catch::Contains("key"));
  bad = j;
  bad["side"] = "b";
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()), Catch::Contains("upstream"));
  auto coded = j;
  coded["erasure_coding"] = true;
  coded["small_copies"] = 2;
  coded["repair_share"] = 0.8;
  auto c = net::parse_drop_gateway_config(coded, d.path());
  CHECK(c.session.erasure_coding);
  CHECK(c.session.small_copies_max == 2);
  CHECK(c.session.coding_repair_share == 0.8);
  bad = coded;
  bad["repair_share"] = 0; // a repair must aim at something
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()),
                    Catch::Contains("coding_repair_share"));
  bad = j;
  bad["coding_block"] = 200; // k plus parity must stay below 255 symbols
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()), Catch::Contains("coding_block"));
  bad = j;
  bad["colour"] = "blue";
  CHECK_THROWS_WITH(net::parse_drop_gateway_config(bad, d.path()), Catch::Contains("colour"));
}

TEST_CASE("drop gateway config text: size, nesting and NUL bytes are refused before parsing",
          "[net][drop]") {
  std::string ok = R"({"side": "a", "name": "x", "peer": "y", "key": "0123456789abcdef0123",
                       "out_dir": "o", "in_dir": "i"})";
  auto c = net::parse_drop_gateway_config_text(ok, "/base");
  CHECK(c.out_dir == std::filesystem::path("/base/o"));
  CHECK_THROWS_WITH(
    net::parse_drop_gateway_config_text(std::string(40, '[') + std::string(40, ']'), "/base"),
    Catch::Contains("deeper than 32"));
  std::string nul = ok;
  nul.insert(1, 1, '\0');
  CHECK_THROWS_WITH(net::parse_drop_gateway_config_text(nul, "/base"),
                    Catch::Contains("NUL byte at offset 1"));
  CHECK_THROWS_WITH(net::parse_drop_gateway_config_text(std::string(2u << 20, ' '), "/base"),
                    Catch::Contains("larger than"));
  CHECK_THROWS_WITH(net::parse_drop_gateway_config_text("{\"side\": ", "/base"),
                    Catch::Contains("not valid JSON"));
}

TEST_CASE("drop gateway config file errors start with the file name", "[net][drop]") {
  test::temp_dir d("dropcfg");
  auto f = d.path() / "side.json";
  std::ofstream(f) << "[[[";
  CHECK_THROWS_WITH(net::load_drop_gateway_config(f),
                    Catch::StartsWith(f.string() + ": not valid JSON"));
  CHECK_THROWS_WITH(net::load_drop_gateway_config(d.path() / "missing.json"),
                    Catch::Contains("missing.json: cannot be read"));
}

TEST_CASE("drop gateway side b performs again after a restart what it took and never answered",
          "[net][drop]") {
  rig r(false); // side a and a working upstream; side b comes and goes below
  // An upstream that accepts connections (the kernel's backlog) and never answers.
  tcp::acceptor silent(r.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto first = r.start_b(silent.local_endpoint().port());
  net::beast_response got, posted;
  std::thread get([&] { got = r.call(bhttp::verb::get, "/size/100000"); });
  std::thread post([&] { posted = r.call(bhttp::verb::post, "/order", bytes{'x'}); });
  for (int i = 0; i < 500 && first->counter("http_relayed") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Both acknowledged by the log, both rows of DropLogUnanswered, both stuck upstream.
  REQUIRE(first->counter("http_relayed") == 2);
  first.reset(); // side b ends where it is: the requests stay rows
  {
    net::sqlite_store rows(r.dir.path() / "b.db");
    rows.declare(droplog::unanswered_table());
    CHECK(rows.count(droplog::unanswered_table()) == 2);
  }
  auto second = r.start_b(r.upstream->port());
  get.join();
  post.join();
  CHECK(got.result_int() == 200);
  CHECK(got.body() == droplog::http::simulated_body("/size/100000", 100000));
  CHECK(posted.result_int() == 502);
  std::string why(posted.body().begin(), posted.body().end());
  CHECK(why.find("restarted while performing this POST request; it is not repeated") !=
        std::string::npos);
  CHECK(second->counter_at("http_resumed_after_restart", 2) == 2);
  second.reset();
  net::sqlite_store rows(r.dir.path() / "b.db");
  rows.declare(droplog::unanswered_table());
  CHECK(rows.count(droplog::unanswered_table()) == 0);
}
