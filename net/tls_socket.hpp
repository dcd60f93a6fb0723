#pragma once
// A TLS byte stream that drives OpenSSL directly on the non-blocking socket:
// OpenSSL reads and writes the descriptor itself and Asio only waits for it to
// become readable or writable. Asio's ssl::stream instead copies every record
// through a memory BIO pair and completes one read per 16 KiB record, which
// halved the throughput of a verified 1 GiB transfer (docs/live.md).
//
// It offers what stream_connection uses of a stream: async_handshake,
// async_read_some, async_write_some, lowest_layer, native_handle (the SSL*).
// io thread only, like the connection that owns it.
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace peerlab::net {

class tls_socket {
public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  using lowest_layer_type = tcp::socket;
  using error_code = boost::system::error_code;

  tls_socket(tcp::socket s, SSL_CTX* ctx) : sock_(std::move(s)), ssl_(SSL_new(ctx)) {
    error_code ec;
    sock_.non_blocking(true, ec);
    SSL_set_fd(ssl_, static_cast<int>(sock_.native_handle()));
    SSL_set_read_ahead(ssl_, 1); // many records per recv() instead of two calls each
    // A write that would block is retried with the same buffer; a large one is
    // written whole, record after record, before it completes.
    SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  tls_socket(tls_socket&& o) noexcept
      : sock_(std::move(o.sock_)), ssl_(std::exchange(o.ssl_, nullptr)) {}
  tls_socket& operator=(tls_socket&&) = delete;
  tls_socket(const tls_socket&) = delete;
  ~tls_socket() {
    if (ssl_)
      SSL_free(ssl_);
  }

  executor_type get_executor() { return sock_.get_executor(); }
  tcp::socket& lowest_layer() { return sock_; }
  SSL* native_handle() { return ssl_; }

  template <class Handler>
  void async_handshake(boost::asio::ssl::stream_base::handshake_type role, Handler h) {
    if (role == boost::asio::ssl::stream_base::client)
      SSL_set_connect_state(ssl_);
    else
      SSL_set_accept_state(ssl_);
    drive([this] { return SSL_do_handshake(ssl_); },
          [h = std::move(h)](const error_code& ec, std::size_t) mutable { h(ec); });
  }

  /// Reads into the first buffer: at least one byte, and everything OpenSSL
  /// already holds that fits (records come in batches with read-ahead).
  // Handlers are taken by forwarding reference and moved only after the
  // buffers were read: Asio's composed operations pass buffers that live in
  // the handler itself, and the argument order of evaluation is unspecified.
  template <class Buffers, class Handler>
  void async_read_some(const Buffers& bufs, Handler&& h) {
    boost::asio::mutable_buffer b = *boost::asio::buffer_sequence_begin(bufs);
    auto* data = static_cast<char*>(b.data());
    const int size = static_cast<int>(std::min<std::size_t>(b.size(), INT_MAX));
    drive(
      [this, data, size] {
        int n = SSL_read(ssl_, data, size);
        if (n <= 0)
          return n;
        int total = n;
        while (total < size && SSL_has_pending(ssl_)) {
          n = SSL_read(ssl_, data + total, size - total);
          if (n <= 0) {
            ERR_clear_error(); // WANT_READ after a partial batch: report what was read
            break;
          }
          total += n;
        }
        return total;
      },
      std::decay_t<Handler>(std::move(h)));
  }

  /// Writes the first non-empty buffer whole (its records back to back).
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& bufs, Handler&& h) {
    boost::asio::const_buffer b;
    for (auto it = boost::asio::buffer_sequence_begin(bufs);
         it != boost::asio::buffer_sequence_end(bufs) && b.size() == 0; ++it)
      b = *it;
    if (b.size() == 0)
      return complete(std::decay_t<Handler>(std::move(h)), {}, 0);
    auto* data = b.data();
    const int size = static_cast<int>(std::min<std::size_t>(b.size(), 1 << 30));
    drive([this, data, size] { return SSL_write(ssl_, data, size); },
          std::decay_t<Handler>(std::move(h)));
  }

private:
  // Runs `op` until it succeeds (> 0) or fails; waits for the socket when
  // OpenSSL needs to read or write first. Completion is always posted, never
  // inline, as Asio's composed operations expect.
  template <class Op, class Handler>
  void drive(Op op, Handler h) {
    ERR_clear_error();
    errno = 0;
    int r = op();
    if (r > 0)
      return complete(std::move(h), {}, static_cast<std::size_t>(r));
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      auto wait = e == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
      sock_.async_wait(wait, [this, op, h = std::move(h)](const error_code& ec) mutable {
        if (ec)
          return h(ec, std::size_t{0});
        drive(op, std::move(h));
      });
      return;
    }
    complete(std::move(h), error_of(e), 0);
  }

  template <class Handler>
  void complete(Handler h, error_code ec, std::size_t n) {
    boost::asio::post(sock_.get_executor(), [h = std::move(h), ec, n]() mutable { h(ec, n); });
  }

  static error_code error_of(int e) {
    if (e == SSL_ERROR_ZERO_RETURN) // close_notify: the peer ended the stream cleanly
      return boost::asio::error::eof;
    if (e == SSL_ERROR_SYSCALL) {
      if (errno != 0 && ERR_peek_error() == 0)
        return error_code(errno, boost::system::system_category());
      if (ERR_peek_error() == 0) // the socket closed without close_notify
        return boost::asio::ssl::error::stream_truncated;
    }
    auto code = ERR_get_error();
    ERR_clear_error();
    if (code == 0 || ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
      return boost::asio::ssl::error::stream_truncated;
    return error_code(static_cast<int>(code), boost::asio::error::get_ssl_category());
  }

  tcp::socket sock_;
  SSL* ssl_;
};

} // namespace peerlab::net
