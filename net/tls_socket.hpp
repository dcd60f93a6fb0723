#pragma once
// A TLS byte stream that drives OpenSSL directly on the non-blocking socket,
// with Asio only waiting for it to become readable or writable. Asio's
// ssl::stream instead copies every record through a memory BIO pair and
// completes one read per 16 KiB record, which halved the throughput of a
// verified 1 GiB transfer (docs/live.md).
//
// Reads: OpenSSL reads the descriptor itself, with read-ahead, so one recv()
// takes many records. Writes: OpenSSL writes its records into an outbox (a
// BIO of ours) and the outbox goes out with one send() per write, up to
// write_max bytes, instead of one send() per 16 KiB record: on loopback each
// send() costs about as much as the copy it does (docs/live.md, "Identity and
// TLS"). A write completes when its records are in the kernel.
//
// It offers what stream_connection and the proxies use of a stream:
// async_handshake, async_read_some, async_write_some, shutdown_send,
// lowest_layer, native_handle (the SSL*). io thread only.
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
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace peerlab::net {

namespace tls_detail {

/// Records OpenSSL wrote and the socket has not taken yet. Its flush loop
/// outlives the tls_socket when a wait is pending (the socket's close cancels
/// the wait), so it is shared with the waits it starts.
struct outbox {
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;

  explicit outbox(tcp::socket s) : sock(std::move(s)) {}

  tcp::socket sock;
  std::vector<char> bytes; // records in order; bytes[sent..] still to send
  std::size_t sent = 0;
  bool waiting = false;                     // for the socket to become writable
  bool shutdown_after = false;              // shut the TCP send side once empty
  error_code failed;                        // the first send error; later writes fail with it
  std::function<void(error_code)> on_empty; // the write waiting for its records

  bool empty() const { return sent == bytes.size(); }
};

/// A BIO whose writes append to an outbox (BIO data); it never reads.
BIO* new_outbox_bio(outbox& box);

/// Sends what the outbox holds; waits for the socket when it is full. Runs
/// on_empty (posted) when everything went, or with the error when a send failed.
void flush(const std::shared_ptr<outbox>& box);

} // namespace tls_detail

class tls_socket {
public:
  using tcp = boost::asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  using lowest_layer_type = tcp::socket;
  using error_code = boost::system::error_code;

  /// Plaintext bytes one write takes at most: its records (plus 22 bytes per
  /// 16 KiB) wait in the outbox until the socket takes them.
  static constexpr std::size_t write_max = 256 * 1024;

  tls_socket(tcp::socket s, SSL_CTX* ctx)
      : box_(std::make_shared<tls_detail::outbox>(std::move(s))), ssl_(SSL_new(ctx)) {
    error_code ec;
    box_->sock.non_blocking(true, ec);
    BIO* in = BIO_new_socket(static_cast<int>(box_->sock.native_handle()), BIO_NOCLOSE);
    SSL_set_bio(ssl_, in, tls_detail::new_outbox_bio(*box_));
    SSL_set_read_ahead(ssl_, 1); // many records per recv() instead of two calls each
  }
  tls_socket(tls_socket&& o) noexcept
      : box_(std::move(o.box_)), ssl_(std::exchange(o.ssl_, nullptr)) {}
  tls_socket& operator=(tls_socket&&) = delete;
  tls_socket(const tls_socket&) = delete;
  ~tls_socket() {
    if (ssl_)
      SSL_free(ssl_);
    if (box_) { // a pending flush wait ends (aborted) and lets go of the outbox
      error_code ec;
      box_->sock.close(ec);
      box_->on_empty = nullptr;
    }
  }

  executor_type get_executor() { return box_->sock.get_executor(); }
  tcp::socket& lowest_layer() { return box_->sock; }
  SSL* native_handle() { return ssl_; }
  /// Encrypted bytes waiting for the socket (at most write_max plus records' overhead).
  std::size_t unsent_bytes() const { return box_->bytes.size() - box_->sent; }

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

  /// Encrypts the buffers, up to write_max bytes in all, and completes once
  /// their records are in the kernel (one send() for all of them when the
  /// socket has room).
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& bufs, Handler&& h) {
    std::vector<boost::asio::const_buffer> pieces;
    std::size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(bufs);
         it != boost::asio::buffer_sequence_end(bufs) && total < write_max; ++it) {
      boost::asio::const_buffer b = *it;
      if (b.size() == 0)
        continue;
      std::size_t take = std::min(b.size(), write_max - total);
      pieces.emplace_back(b.data(), take);
      total += take;
    }
    if (total == 0)
      return complete(std::decay_t<Handler>(std::move(h)), {}, 0);
    if (box_->failed)
      return complete(std::decay_t<Handler>(std::move(h)), box_->failed, 0);
    drive<true>(
      [this, pieces = std::move(pieces)] {
        int written = 0;
        for (auto& p : pieces) {
          int n = SSL_write(ssl_, p.data(), static_cast<int>(p.size()));
          if (n <= 0)
            return written > 0 ? (ERR_clear_error(), written) : n;
          written += n;
        }
        return written;
      },
      std::decay_t<Handler>(std::move(h)));
  }

  /// Ends this side's sending: a close_notify (so the peer tells the end from
  /// a cut connection), then the TCP send side once the outbox is empty.
  void shutdown_send() {
    if (!(SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) {
      SSL_shutdown(ssl_); // writes close_notify into the outbox
      ERR_clear_error();
    }
    box_->shutdown_after = true;
    tls_detail::flush(box_);
  }

private:
  // Runs `op` until it succeeds (> 0) or fails; sends what it wrote; waits
  // for the socket when OpenSSL needs to read first. A write (until_sent)
  // completes when its records left. Completion is always posted, never
  // inline, as Asio's composed operations expect.
  template <bool until_sent = false, class Op, class Handler>
  void drive(Op op, Handler h) {
    ERR_clear_error();
    errno = 0;
    int r = op();
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    error_code ec = r > 0 ? error_code{} : error_of(e);
    if constexpr (until_sent) {
      if (r > 0 && !box_->empty()) { // std::function copies: the handler may not
        auto held = std::make_shared<Handler>(std::move(h));
        box_->on_empty = [this, held, r](error_code fec) {
          complete(std::move(*held), fec, fec ? 0 : static_cast<std::size_t>(r));
        };
        return tls_detail::flush(box_);
      }
    }
    tls_detail::flush(box_); // handshake messages, alerts: they go in the background
    if (r > 0)
      return complete(std::move(h), {}, static_cast<std::size_t>(r));
    if (e == SSL_ERROR_WANT_READ) {
      box_->sock.async_wait(tcp::socket::wait_read, [this, op = std::move(op), h = std::move(h)](
                                                      const error_code& wec) mutable {
        if (wec)
          return h(wec, std::size_t{0});
        drive<until_sent>(std::move(op), std::move(h));
      });
      return;
    }
    complete(std::move(h), ec, 0);
  }

  template <class Handler>
  void complete(Handler h, error_code ec, std::size_t n) {
    boost::asio::post(box_->sock.get_executor(), [h = std::move(h), ec, n]() mutable { h(ec, n); });
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

  std::shared_ptr<tls_detail::outbox> box_;
  SSL* ssl_;
};

} // namespace peerlab::net
