// net/tls_socket: OpenSSL on the non-blocking socket, records written into an
// outbox and sent together. What must hold: bytes arrive whole and in order,
// a write completes only once its records are in the kernel, a write stalled
// by a peer that does not read never stops the reads of the same socket, the
// outbox stays within its bound, and the end of a stream is a close_notify.
#include <utility> // before Asio: boost 1.74's awaitable.hpp needs std::exchange

#include "net/identity.hpp"
#include "net/tls_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>

using namespace peerlab;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

ssl::context context_of(const net::node_identity& id) {
  ssl::context ctx(ssl::context::tls);
  id.configure(ctx.native_handle());
  return ctx;
}

void run_until(asio::io_context& io, const std::function<bool()>& done) {
  for (int i = 0; i < 2000 && !done(); ++i) {
    if (io.stopped())
      io.restart();
    io.run_one_for(std::chrono::milliseconds(50)); // bounded: never hangs the suite
  }
}

// Two tls_sockets over one loopback TCP pair, handshaken.
struct pair {
  asio::io_context io;
  std::shared_ptr<const net::node_identity> ida = net::node_identity::ephemeral(),
                                            idb = net::node_identity::ephemeral();
  ssl::context ctx_a = context_of(*ida), ctx_b = context_of(*idb);
  std::optional<net::tls_socket> a, b;

  explicit pair(int receive_buffer = 0) {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket sa(io), sb(io);
    sa.connect(acc.local_endpoint());
    acc.accept(sb);
    if (receive_buffer) { // small kernel buffers: a peer that does not read stalls writes soon
      sb.set_option(tcp::socket::receive_buffer_size(receive_buffer));
      sa.set_option(tcp::socket::send_buffer_size(receive_buffer));
    }
    a.emplace(std::move(sa), ctx_a.native_handle());
    b.emplace(std::move(sb), ctx_b.native_handle());
    int done = 0;
    error_code ea, eb;
    a->async_handshake(ssl::stream_base::client, [&](error_code ec) { ea = ec, ++done; });
    b->async_handshake(ssl::stream_base::server, [&](error_code ec) { eb = ec, ++done; });
    run_until(io, [&] { return done == 2; });
    REQUIRE(done == 2);
    REQUIRE_FALSE(ea);
    REQUIRE_FALSE(eb);
  }
};

std::vector<char> pattern(std::size_t n, unsigned seed) {
  std::vector<char> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<char>((i * 131 + seed) >> 3);
  return v;
}

} // namespace

TEST_CASE("tls_socket: many buffers arrive whole and in order, then a clean end", "[net][tls]") {
  pair p;
  auto head = pattern(37, 1), body = pattern(3 * 1024 * 1024 + 5, 2), tail = pattern(9000, 3);
  std::vector<asio::const_buffer> out{asio::buffer(head), asio::buffer(body), asio::buffer(tail)};
  bool written = false;
  std::size_t wrote = 0;
  asio::async_write(*p.a, out, [&](error_code ec, std::size_t n) {
    REQUIRE_FALSE(ec);
    wrote = n;
    written = true;
    p.a->shutdown_send();
  });
  std::vector<char> got, buf(100 * 1024);
  error_code end;
  std::function<void()> read = [&] {
    p.b->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      if (ec)
        end = ec;
      else
        read();
    });
  };
  read();
  run_until(p.io, [&] { return bool(end); });
  REQUIRE(written);
  CHECK(wrote == head.size() + body.size() + tail.size());
  // A close_notify, not a cut connection.
  CHECK(end == asio::error::eof);
  std::vector<char> want = head;
  want.insert(want.end(), body.begin(), body.end());
  want.insert(want.end(), tail.begin(), tail.end());
  REQUIRE(got.size() == want.size());
  CHECK(got == want);
}

TEST_CASE("tls_socket: a write stalled by a peer that does not read leaves reads working",
          "[net][tls]") {
  pair p(64 * 1024);
  auto big = pattern(8 * 1024 * 1024, 4);
  bool written = false;
  asio::async_write(*p.a, asio::buffer(big), [&](error_code ec, std::size_t n) {
    REQUIRE_FALSE(ec);
    CHECK(n == big.size());
    written = true;
  });
  // b sends a message while it reads nothing: a must read it though its own write waits.
  auto msg = pattern(5000, 5);
  bool b_wrote = false;
  asio::async_write(*p.b, asio::buffer(msg), [&](error_code ec, std::size_t) {
    REQUIRE_FALSE(ec);
    b_wrote = true;
  });
  std::vector<char> at_a(msg.size());
  bool a_read = false;
  asio::async_read(*p.a, asio::buffer(at_a), [&](error_code ec, std::size_t) {
    REQUIRE_FALSE(ec);
    a_read = true;
  });
  std::size_t most_unsent = 0;
  run_until(p.io, [&] {
    most_unsent = std::max(most_unsent, p.a->unsent_bytes());
    return a_read && b_wrote;
  });
  REQUIRE(a_read);
  CHECK(at_a == msg);
  run_until(p.io, [&] { // until the kernel buffers are full and records wait in the outbox
    most_unsent = std::max(most_unsent, p.a->unsent_bytes());
    return most_unsent > 0;
  });
  CHECK_FALSE(written); // 8 MiB cannot fit in the kernel buffers while b reads nothing
  // The outbox holds one write's records at most: write_max and 22 bytes per record.
  CHECK(most_unsent > 0);
  CHECK(most_unsent <= net::tls_socket::write_max + 22 * (net::tls_socket::write_max / 16384 + 1));

  // Once b reads, the whole write arrives and completes.
  std::vector<char> at_b(big.size());
  bool b_read = false;
  asio::async_read(*p.b, asio::buffer(at_b), [&](error_code ec, std::size_t) {
    REQUIRE_FALSE(ec);
    b_read = true;
  });
  run_until(p.io, [&] {
    most_unsent = std::max(most_unsent, p.a->unsent_bytes());
    return b_read && written;
  });
  REQUIRE(b_read);
  REQUIRE(written);
  CHECK(at_b == big);
  CHECK(p.a->unsent_bytes() == 0);
}

TEST_CASE("tls_socket: a write to a peer that closed fails instead of hanging", "[net][tls]") {
  pair p;
  p.b.reset(); // closes b's socket
  auto big = pattern(4 * 1024 * 1024, 6);
  std::optional<error_code> result;
  asio::async_write(*p.a, asio::buffer(big), [&](error_code ec, std::size_t) { result = ec; });
  run_until(p.io, [&] { return result.has_value(); });
  REQUIRE(result.has_value());
  CHECK(*result); // EPIPE or ECONNRESET, whichever the kernel saw first
}
