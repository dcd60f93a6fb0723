#pragma once
// Streaming pieces of the live proxies (net/forward_proxy, net/local_proxy):
// a socket that counts the bytes it moves, a tunnel that relays two sockets
// both ways, and a pump that relays one HTTP message (header, then body in
// pieces of a fixed buffer, Content-Length, chunked or until close). Memory
// per connection is bounded by the buffers given, whatever the body size: a
// side that stops reading stops the other side's reads.
#include <utility> // before Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/tls_socket.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::net::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

/// A TCP socket, or a TLS stream over one (secure()), that tells
/// `on_bytes(read, written)` after every completed read and write: the
/// proxies meter and reset idle timers there. Over TLS the bytes counted are
/// the stream's (the HTTP bytes), not the records on the wire. Every
/// operation's handler keeps the owner of the socket alive.
class counted_socket {
public:
  using executor_type = tcp::socket::executor_type;
  using on_bytes_fn = std::function<void(std::size_t read, std::size_t written)>;

  explicit counted_socket(tcp::socket s) : sock_(std::move(s)) {}
  executor_type get_executor() { return socket().get_executor(); }
  /// The TCP socket (under the TLS stream when secured).
  tcp::socket& socket() { return tls_ ? tls_->lowest_layer() : sock_; }
  void on_bytes(on_bytes_fn f) { on_bytes_ = std::move(f); }

  /// From now on reads and writes go through TLS with `ctx`; the handshake
  /// comes next (async_handshake).
  void secure(SSL_CTX* ctx) { tls_.emplace(std::move(sock_), ctx); }
  bool is_secure() const { return tls_.has_value(); }
  /// The TLS session (secured sockets only).
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  template <class Handler>
  void async_handshake(asio::ssl::stream_base::handshake_type role, Handler h) {
    tls_->async_handshake(role, std::move(h));
  }

  /// Reads take at most `budget()` bytes; while it is 0 a read waits (and
  /// `on_wait` runs) until resume(). Without a budget reads are not limited.
  void budget(std::function<std::size_t()> budget, std::function<void()> on_wait) {
    budget_ = std::move(budget);
    on_wait_ = std::move(on_wait);
  }
  /// Tries a waiting read again (its budget may have grown). Io thread.
  void resume() {
    if (auto w = std::exchange(waiting_, {}); w.retry)
      w.retry();
  }
  bool waiting() const { return bool(waiting_.retry); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& b, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
      [this](auto handler, const Buffers& buffers) { read(buffers, std::move(handler)); }, token,
      b);
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& b, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
      [this](auto handler, const Buffers& buffers) {
        auto done = [this, h = std::move(handler)](error_code ec, std::size_t n) mutable {
          if (n && on_bytes_)
            on_bytes_(0, n);
          std::move(h)(ec, n);
        };
        if (tls_)
          tls_->async_write_some(buffers, std::move(done));
        else
          sock_.async_write_some(buffers, std::move(done));
      },
      token, b);
  }

  /// Ends this side's sending; the peer reads the end of the stream (over
  /// TLS a close_notify first, so it is told apart from a cut connection).
  void shutdown_send() {
    if (tls_)
      return tls_->shutdown_send();
    error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
  }

  void close() {
    error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
    if (auto w = std::exchange(waiting_, {}); w.abort) // its handler holds the owner
      w.abort();
  }

private:
  template <class Buffers, class Handler>
  void read(const Buffers& buffers, Handler handler) {
    std::size_t allowed = budget_ ? budget_() : SIZE_MAX;
    if (allowed == 0) {
      // std::function copies: the handler (move-only) is shared by retry and abort.
      auto held = std::make_shared<Handler>(std::move(handler));
      waiting_.retry = [this, buffers, held] { read(buffers, std::move(*held)); };
      waiting_.abort = [this, held] {
        asio::post(get_executor(),
                   [held] { std::move (*held)(asio::error::operation_aborted, 0); });
      };
      if (on_wait_)
        on_wait_();
      return;
    }
    asio::mutable_buffer first = *asio::buffer_sequence_begin(buffers);
    auto limited = asio::buffer(first, allowed);
    auto done = [this, h = std::move(handler)](error_code ec, std::size_t n) mutable {
      if (n && on_bytes_)
        on_bytes_(n, 0);
      std::move(h)(ec, n);
    };
    if (tls_)
      tls_->async_read_some(limited, std::move(done));
    else
      sock_.async_read_some(limited, std::move(done));
  }

  struct waiting_read {
    std::function<void()> retry, abort;
  };
  tcp::socket sock_; // moved into tls_ by secure()
  std::optional<tls_socket> tls_;
  on_bytes_fn on_bytes_;
  std::function<std::size_t()> budget_;
  std::function<void()> on_wait_;
  waiting_read waiting_;
};

/// Relays bytes between `a` and `b` both ways, `buffer` bytes in flight per
/// direction. `a_first` / `b_first` are bytes already read from a / b (read
/// past a header) that go out first. When one side ends its sending, the
/// other side's sending is shut down; `done` runs once, when both directions
/// ended or either failed (the owner then closes both sockets).
class tunnel : public std::enable_shared_from_this<tunnel> {
public:
  using done_fn = std::function<void(error_code)>;
  tunnel(counted_socket& a, counted_socket& b, std::size_t buffer, std::shared_ptr<void> owner,
         done_fn done)
      : owner_(std::move(owner)),
        done_(std::move(done)), ab_{a, b, std::vector<char>(buffer), false, {}},
        ba_{b, a, std::vector<char>(buffer), false, {}} {}

  void start(std::string a_first, std::string b_first) {
    begin(ab_, std::move(a_first));
    begin(ba_, std::move(b_first));
  }

private:
  struct direction {
    counted_socket& from;
    counted_socket& to;
    std::vector<char> buf;
    bool ended = false;
    std::string first; // read past a header, sent before anything else
  };

  void begin(direction& d, std::string first) {
    if (first.empty())
      return read(d);
    d.first = std::move(first);
    asio::async_write(d.to, asio::buffer(d.first),
                      [self = shared_from_this(), &d](error_code ec, std::size_t) {
                        if (ec)
                          return self->finish(ec);
                        std::string().swap(d.first);
                        self->read(d);
                      });
  }
  void read(direction& d) {
    d.from.async_read_some(asio::buffer(d.buf),
                           [self = shared_from_this(), &d](error_code ec, std::size_t n) {
                             if (ec == asio::error::eof)
                               return self->ended(d);
                             if (ec)
                               return self->finish(ec);
                             self->write(d, n);
                           });
  }
  void write(direction& d, std::size_t n) {
    asio::async_write(d.to, asio::buffer(d.buf.data(), n),
                      [self = shared_from_this(), &d](error_code ec, std::size_t) {
                        if (ec)
                          return self->finish(ec);
                        self->read(d);
                      });
  }
  void ended(direction& d) {
    d.ended = true;
    d.to.shutdown_send();
    if (ab_.ended && ba_.ended)
      finish({});
  }
  void finish(error_code ec) {
    if (auto f = std::exchange(done_, nullptr))
      f(ec);
  }

  std::shared_ptr<void> owner_;
  done_fn done_;
  direction ab_, ba_;
};

/// Relays one HTTP message whose header `p` has read from `in`: writes the
/// header to `out` as `p` holds it now (the caller edits it first), then the
/// body through a buffer of `chunk` bytes, framed as the header says (a
/// chunked body is re-chunked, a body until close is written raw). `done`
/// runs once, when the message is complete on `out` or on the first error.
template <bool isRequest>
class message_pump : public std::enable_shared_from_this<message_pump<isRequest>> {
public:
  using parser_t = http::parser<isRequest, http::buffer_body>;
  using done_fn = std::function<void(error_code)>;

  message_pump(counted_socket& in, beast::flat_buffer& inbuf, counted_socket& out, parser_t& p,
               std::size_t chunk, std::shared_ptr<void> owner, done_fn done)
      : in_(in), inbuf_(inbuf), out_(out), p_(p), sr_(p.get()), buf_(chunk),
        owner_(std::move(owner)), done_(std::move(done)) {}

  void start() {
    http::async_write_header(out_, sr_, [self = this->shared_from_this()](error_code ec, auto) {
      if (ec)
        return self->finish(ec);
      self->next();
    });
  }

private:
  void next() {
    if (p_.is_done())
      return last();
    auto& body = p_.get().body();
    body.data = buf_.data();
    body.size = buf_.size();
    http::async_read_some(in_, inbuf_, p_,
                          [self = this->shared_from_this()](error_code ec, std::size_t) {
                            if (ec == http::error::need_buffer)
                              ec = {};
                            if (ec)
                              return self->finish(ec);
                            self->got();
                          });
  }
  void got() {
    auto& body = p_.get().body();
    std::size_t n = buf_.size() - body.size;
    if (n == 0)
      return next();
    body.data = buf_.data();
    body.size = n;
    body.more = !p_.is_done();
    write([self = this->shared_from_this()] { self->next(); });
  }
  void last() {
    if (sr_.is_done())
      return finish({});
    auto& body = p_.get().body();
    body.data = nullptr;
    body.size = 0;
    body.more = false;
    write([self = this->shared_from_this()] { self->finish({}); });
  }
  template <class Then>
  void write(Then then) {
    http::async_write(out_, sr_,
                      [self = this->shared_from_this(), then](error_code ec, std::size_t) {
                        if (ec == http::error::need_buffer)
                          ec = {};
                        if (ec)
                          return self->finish(ec);
                        then();
                      });
  }
  void finish(error_code ec) {
    if (auto f = std::exchange(done_, nullptr))
      f(ec);
  }

  counted_socket& in_;
  beast::flat_buffer& inbuf_;
  counted_socket& out_;
  parser_t& p_;
  http::serializer<isRequest, http::buffer_body> sr_;
  std::vector<char> buf_;
  std::shared_ptr<void> owner_;
  done_fn done_;
};

/// Writes a small answer the proxy makes itself (errors, 200 of a CONNECT):
/// a text body, `headers`, Connection: close unless `keep_alive`.
void write_answer(counted_socket& s, unsigned status, const std::string& text,
                  std::vector<std::pair<std::string, std::string>> headers, bool keep_alive,
                  std::shared_ptr<void> owner, std::function<void(error_code)> done);

} // namespace peerlab::net::proxy
