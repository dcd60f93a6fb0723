#include "net/tls_socket.hpp"

#include <sys/socket.h>

namespace peerlab::net::tls_detail {

namespace {

int outbox_write(BIO* bio, const char* data, std::size_t len, std::size_t* written) {
  auto* box = static_cast<outbox*>(BIO_get_data(bio));
  box->bytes.insert(box->bytes.end(), data, data + len);
  *written = len;
  return 1;
}

// OpenSSL flushes after handshake flights: nothing to do, the owner sends.
// Every other control (kernel TLS among them) is not offered.
long outbox_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

const BIO_METHOD* outbox_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "peerlab outbox");
    BIO_meth_set_write_ex(m, outbox_write);
    BIO_meth_set_ctrl(m, outbox_ctrl);
    return m;
  }();
  return method;
}

void post_on_empty(outbox& b, boost::system::error_code ec) {
  if (auto f = std::exchange(b.on_empty, nullptr))
    boost::asio::post(b.sock.get_executor(), [f = std::move(f), ec] { f(ec); });
}

} // namespace

BIO* new_outbox_bio(outbox& box) {
  BIO* bio = BIO_new(outbox_method());
  BIO_set_data(bio, &box);
  BIO_set_init(bio, 1);
  return bio;
}

void flush(const std::shared_ptr<outbox>& box) {
  auto& b = *box;
  if (b.waiting)
    return; // the pending wait continues
  while (!b.empty() && !b.failed) {
    ssize_t n = ::send(b.sock.native_handle(), b.bytes.data() + b.sent, b.bytes.size() - b.sent,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      b.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      b.waiting = true;
      b.sock.async_wait(boost::asio::ip::tcp::socket::wait_write,
                        [box](const boost::system::error_code& ec) {
                          box->waiting = false;
                          if (ec && !box->failed)
                            box->failed = ec;
                          flush(box);
                        });
      return;
    }
    b.failed = boost::system::error_code(n < 0 ? errno : EPIPE, boost::system::system_category());
  }
  // Everything went, or nothing more can: the outbox starts over.
  b.bytes.clear();
  b.sent = 0;
  post_on_empty(b, b.failed);
  if (b.shutdown_after && !b.failed) {
    boost::system::error_code ignored;
    b.sock.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
}

} // namespace peerlab::net::tls_detail
