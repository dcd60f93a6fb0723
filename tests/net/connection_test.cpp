// stream_connection on real loopback sockets, driven by an io_context in the
// test thread: the hello, the queue bound and hostile length prefixes.
#include "net/connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

#include <catch2/catch.hpp>

using namespace peerlab;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct recorder final : net::connection_owner {
  std::vector<net::hello> hellos;
  std::vector<bytes> frames;
  std::vector<std::string> closed;
  std::size_t refused = 0;
  void on_hello(net::connection_base&, const net::hello& h) override { hellos.push_back(h); }
  void on_frame(net::connection_base&, bytes&& f) override { frames.push_back(std::move(f)); }
  void on_closed(net::connection_base&, const std::string& why) override { closed.push_back(why); }
  void on_queue_full(net::connection_base&, std::size_t) override { ++refused; }
};

// A connected pair of loopback sockets.
std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io), b(io);
  a.connect(acc.local_endpoint());
  acc.accept(b);
  return {std::move(a), std::move(b)};
}

using conn = net::stream_connection<tcp::socket>;

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  for (int i = 0; i < 100000 && !done(); ++i)
    io.run_one_for(std::chrono::milliseconds(100)); // bounded: never hangs the suite
}

} // namespace

TEST_CASE("connection: hellos then frames flow both ways", "[net][connection]") {
  asio::io_context io;
  auto [sa, sb] = socket_pair(io);
  recorder ra, rb;
  auto a = std::make_shared<conn>(std::move(sa), ra);
  auto b = std::make_shared<conn>(std::move(sb), rb);
  a->start({1, "127.0.0.1:1"});
  b->start({2, "127.0.0.1:2"});
  REQUIRE(a->send(bytes{250, 1, 2, 3}));
  REQUIRE(a->send(bytes(200'000, 7))); // larger than the read staging buffer
  REQUIRE(b->send(bytes{250}));
  run_until(io, [&] { return rb.frames.size() == 2 && ra.frames.size() == 1; });
  REQUIRE(ra.hellos.size() == 1);
  REQUIRE(ra.hellos[0].id == 2);
  REQUIRE(rb.hellos[0].id == 1);
  REQUIRE(rb.hellos[0].listen == "127.0.0.1:1");
  REQUIRE(b->peer == 1);
  REQUIRE(rb.frames[0] == bytes{250, 1, 2, 3});
  REQUIRE(rb.frames[1] == bytes(200'000, 7));
  REQUIRE(ra.frames[0] == bytes{250});
  a->close("test over");
  run_until(io, [&] { return !rb.closed.empty(); });
  REQUIRE(ra.closed == std::vector<std::string>{"test over"});
  REQUIRE(rb.closed == std::vector<std::string>{"closed by peer"});
}

TEST_CASE("connection: the outbound queue bound refuses frames past it", "[net][connection]") {
  asio::io_context io;
  auto [sa, sb] = socket_pair(io); // sb is never read: nothing drains
  recorder ra;
  auto a = std::make_shared<conn>(std::move(sa), ra);
  a->start({1, ""});
  std::size_t accepted = 0;
  const std::size_t chunk = 1 << 20;
  for (int i = 0; i < 200; ++i) // all queued before any write can complete
    accepted += a->send(bytes(chunk, 1)) ? 1 : 0;
  auto hello_bytes = net::encode_hello({1, ""}).size() + 4;
  std::size_t expected = (limits::conn_queue_bytes_max - hello_bytes) / (chunk + 4);
  REQUIRE(accepted == expected);
  REQUIRE(ra.refused == 200 - expected);
  REQUIRE(a->queued_bytes() <= limits::conn_queue_bytes_max);
  a->close("done");
}

TEST_CASE("connection: an oversize length prefix closes the connection", "[net][connection]") {
  asio::io_context io;
  auto [sa, sb] = socket_pair(io);
  recorder ra;
  auto a = std::make_shared<conn>(std::move(sa), ra);
  a->start({1, ""});
  bytes wire;
  net::encode_frame(net::encode_hello({2, ""}), wire);
  std::uint8_t huge[4] = {0xff, 0xff, 0xff, 0x7f};
  wire.insert(wire.end(), huge, huge + 4);
  asio::write(sb, asio::buffer(wire));
  run_until(io, [&] { return !ra.closed.empty(); });
  REQUIRE(ra.hellos.size() == 1);
  REQUIRE(ra.closed.size() == 1);
  REQUIRE(ra.closed[0] == "frame of 2147483647 bytes exceeds the bound of 4194304 bytes");
  REQUIRE(ra.frames.empty());
}

TEST_CASE("connection: a bad hello closes the connection", "[net][connection]") {
  asio::io_context io;
  auto [sa, sb] = socket_pair(io);
  recorder ra;
  auto a = std::make_shared<conn>(std::move(sa), ra);
  a->start({1, ""});
  bytes wire;
  net::encode_frame(bytes{250, 1, 2}, wire); // a role frame before any hello
  net::encode_frame(bytes{250, 1, 2}, wire);
  asio::write(sb, asio::buffer(wire));
  run_until(io, [&] { return !ra.closed.empty(); });
  REQUIRE(ra.hellos.empty());
  REQUIRE(ra.frames.empty());
  REQUIRE(ra.closed == std::vector<std::string>{"bad hello: hello truncated before the magic"});
}
