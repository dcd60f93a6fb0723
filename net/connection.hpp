#pragma once
// One peer connection: hello exchange, then length-prefixed frames both ways,
// with a bounded outbound queue. Templated on the byte stream so that a TLS
// stream (boost::asio::ssl::stream<tcp::socket>) can replace the plain socket
// without touching the framing, the routing or any actor. Lives on the io
// thread only; the owner is called back from there.
#include "net/framing.hpp"
#include "net/handshake.hpp"
#include "net/identity.hpp"
#include "net/net_limits.hpp"
#include "net/tls_socket.hpp"
#include "protocols/common/limits.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace peerlab::net {

class connection_base;

/// What a connection reports to whoever routes frames (io thread only).
class connection_owner {
public:
  virtual ~connection_owner() = default;
  virtual void on_hello(connection_base&, const hello&) = 0;
  virtual void on_frame(connection_base&, bytes&& frame) = 0;
  /// Called once, when the connection is gone for any reason.
  virtual void on_closed(connection_base&, const std::string& why) = 0;
  /// A frame was refused because the outbound queue is full.
  virtual void on_queue_full(connection_base&, std::size_t frame_bytes) = 0;
};

/// The stream-independent face of a connection, as the router sees it.
class connection_base {
public:
  virtual ~connection_base() = default;
  /// Sends our hello and starts reading.
  virtual void start(const hello& mine) = 0;
  /// Queues a frame; false if the outbound queue bound refused it.
  virtual bool send(bytes&& frame) = 0;
  virtual void close(const std::string& why) = 0;
  virtual std::size_t queued_bytes() const = 0;

  bool outgoing = false;    // we dialed it
  std::string dialed;       // the address we dialed (outgoing only)
  std::string remote;       // the remote endpoint, for log lines
  peer_id peer = 0;         // known once the hello arrived
  peer_id proven = 0;       // the id the peer's TLS key proves (0: a plain stream)
  bool ready = false;       // hello received
  std::uint64_t serial = 0; // creation order, for stable choices and logs
  std::string remote_ip;    // for the per-address connection bound
  /// When the last complete frame (or the connect) arrived: a peer that
  /// trickles bytes without finishing frames stays idle.
  std::chrono::steady_clock::time_point last_frame = std::chrono::steady_clock::now();
  /// When queued bytes last moved to the socket (or the queue was empty).
  std::chrono::steady_clock::time_point last_drained = std::chrono::steady_clock::now();
};

/// Bytes queued over all connections of a node (io thread only).
struct send_budget {
  std::size_t used = 0;
  std::size_t max = live_limits::node_queue_bytes_max;
  bool fits(std::size_t n) const { return used + n <= max; }
};

/// Time budgets of a connection (live_limits by default; tests shorten them).
struct connection_timeouts {
  time_us handshake = live_limits::handshake_timeout;
  time_us idle = live_limits::idle_timeout;
};

template <class Stream>
struct is_tls_stream : std::false_type {};
template <class Next>
struct is_tls_stream<boost::asio::ssl::stream<Next>> : std::true_type {};
template <>
struct is_tls_stream<tls_socket> : std::true_type {};

template <class Stream>
class stream_connection final : public connection_base,
                                public std::enable_shared_from_this<stream_connection<Stream>> {
public:
  /// `budget`, if given, is the node-wide count this connection's queue adds to.
  stream_connection(Stream stream, connection_owner& owner, connection_timeouts t = {},
                    send_budget* budget = nullptr)
      : stream_(std::move(stream)), owner_(owner), timeouts_(t), budget_(budget),
        timer_(stream_.get_executor()),
        decoder_(peerlab::limits::frame_bytes_max, live_limits::read_staging_bytes,
                 live_limits::hello_frame_bytes_max) {}

  void start(const hello& mine) override {
    // One deadline covers the TLS handshake and the hello.
    timer_.expires_after(std::chrono::microseconds(timeouts_.handshake));
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->ready)
        self->close("no hello within the handshake timeout");
    });
    if constexpr (is_tls_stream<Stream>::value) {
      namespace ssl = boost::asio::ssl;
      stream_.async_handshake(
        outgoing ? ssl::stream_base::client : ssl::stream_base::server,
        [self = this->shared_from_this(), mine](const boost::system::error_code& ec) {
          if (self->closed_)
            return;
          if (ec)
            return self->close("TLS handshake failed: " + ec.message());
          auto id = proven_peer(self->stream_.native_handle());
          if (auto* err = std::get_if<std::string>(&id))
            return self->close("TLS: " + *err);
          self->proven = std::get<peer_id>(id);
          self->begin(mine);
        });
    } else {
      begin(mine);
    }
  }

  bool send(bytes&& frame) override {
    if (closed_)
      return false;
    if (queued_ + frame_header_bytes + frame.size() > peerlab::limits::conn_queue_bytes_max) {
      owner_.on_queue_full(*this, frame.size());
      return false;
    }
    enqueue(std::move(frame));
    return true;
  }

  void close(const std::string& why) override {
    if (closed_)
      return;
    closed_ = true;
    if (budget_)
      budget_->used -= queued_;           // the queue goes with the connection
    auto keep = this->shared_from_this(); // the owner may drop its reference below
    boost::system::error_code ec;
    timer_.cancel();
    stream_.lowest_layer().shutdown(Stream::lowest_layer_type::shutdown_both, ec);
    stream_.lowest_layer().close(ec);
    // Queued frames are freed with the connection: a write may still hold them.
    owner_.on_closed(*this, why);
  }

  std::size_t queued_bytes() const override { return queued_; }

private:
  // The stream is ready (after the TLS handshake): the hello goes first, then
  // whatever was queued meanwhile.
  void begin(const hello& mine) {
    began_ = true;
    enqueue(encode_hello(mine), /*first=*/true);
    do_read();
  }

  struct out_frame {
    std::array<std::uint8_t, frame_header_bytes> header;
    bytes body;
  };

  // `first`: ahead of everything queued (the hello).
  void enqueue(bytes&& frame, bool first = false) {
    if (out_.empty())
      last_drained = std::chrono::steady_clock::now();
    queued_ += frame_header_bytes + frame.size();
    if (budget_)
      budget_->used += frame_header_bytes + frame.size();
    out_frame f{frame_header(frame.size()), std::move(frame)};
    if (first)
      out_.push_front(std::move(f));
    else
      out_.push_back(std::move(f));
    if (!writing_ && began_)
      do_write();
  }

  void do_read() {
    auto buf = decoder_.read_buffer();
    stream_.async_read_some(
      boost::asio::buffer(buf.data(), buf.size()),
      [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->on_read(ec, n);
      });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (closed_)
      return;
    if (ec) {
      bool ended = ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
      close(ended ? "closed by peer" : ec.message());
      return;
    }
    bool intact = decoder_.commit(n); // frames before a bad prefix still count
    while (decoder_.has_frame() && !closed_) {
      bytes f = decoder_.take();
      if (!ready) {
        auto h = decode_hello(byte_view{f.data(), f.size()});
        if (auto* err = std::get_if<std::string>(&h)) {
          close("bad hello: " + *err);
          return;
        }
        if (proven != 0 && std::get<hello>(h).id != proven) {
          close("hello claims peer " + std::to_string(std::get<hello>(h).id) +
                " but its TLS key proves peer " + std::to_string(proven));
          return;
        }
        ready = true;
        peer = std::get<hello>(h).id;
        last_frame = std::chrono::steady_clock::now();
        timer_.cancel();
        watch_idle(timeouts_.idle);
        owner_.on_hello(*this, std::get<hello>(h));
        continue;
      }
      last_frame = std::chrono::steady_clock::now();
      owner_.on_frame(*this, std::move(f));
    }
    if (!intact)
      close(decoder_.error());
    if (!closed_)
      do_read();
  }

  // Closes the connection once no complete frame arrived for the idle timeout;
  // one timer per connection, re-armed for the remainder when it fires early.
  void watch_idle(time_us wait) {
    timer_.expires_after(std::chrono::microseconds(wait));
    timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_)
        return;
      auto idle = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - self->last_frame)
                    .count();
      if (idle >= self->timeouts_.idle)
        self->close("no frame for " + std::to_string(idle / us_per_s) + " s (idle timeout)");
      else
        self->watch_idle(self->timeouts_.idle - idle);
    });
  }

  void do_write() {
    buffers_.clear();
    std::size_t frames = 0;
    if constexpr (is_tls_stream<Stream>::value)
      frames = gather_for_tls();
    else
      for (auto& f : out_) {
        if (frames == live_limits::frames_per_write_max)
          break;
        buffers_.push_back(boost::asio::buffer(f.header));
        if (!f.body.empty())
          buffers_.push_back(boost::asio::buffer(f.body));
        ++frames;
      }
    in_flight_ = frames;
    writing_ = true;
    boost::asio::async_write(
      stream_, buffers_,
      [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        self->on_written(ec);
      });
  }

  // A TLS stream writes one buffer per record: headers and small bodies are
  // copied together so that they share records; a large body goes as it is.
  std::size_t gather_for_tls() {
    constexpr std::size_t small = 16 * 1024;
    staging_.clear();
    std::vector<std::pair<std::size_t, const bytes*>> parts; // staging end, large body
    std::size_t frames = 0;
    for (auto& f : out_) {
      if (frames == live_limits::frames_per_write_max)
        break;
      staging_.insert(staging_.end(), f.header.begin(), f.header.end());
      if (f.body.size() <= small)
        staging_.insert(staging_.end(), f.body.begin(), f.body.end());
      else
        parts.emplace_back(staging_.size(), &f.body);
      ++frames;
    }
    std::size_t from = 0;
    for (auto& [end, body] : parts) {
      buffers_.push_back(boost::asio::buffer(staging_.data() + from, end - from));
      buffers_.push_back(boost::asio::buffer(*body));
      from = end;
    }
    if (from < staging_.size())
      buffers_.push_back(boost::asio::buffer(staging_.data() + from, staging_.size() - from));
    return frames;
  }

  void on_written(const boost::system::error_code& ec) {
    writing_ = false;
    if (closed_)
      return;
    if (ec) {
      close("write failed: " + ec.message());
      return;
    }
    for (std::size_t i = 0; i < in_flight_; ++i) {
      auto n = frame_header_bytes + out_.front().body.size();
      queued_ -= n;
      if (budget_)
        budget_->used -= n;
      out_.pop_front();
    }
    last_drained = std::chrono::steady_clock::now();
    in_flight_ = 0;
    if (!out_.empty())
      do_write();
  }

  Stream stream_;
  connection_owner& owner_;
  connection_timeouts timeouts_;
  send_budget* budget_;
  boost::asio::steady_timer timer_; // the hello deadline, then the idle watch
  frame_decoder decoder_;
  std::deque<out_frame> out_; // frames keep their address while queued (deque)
  std::vector<boost::asio::const_buffer> buffers_;
  bytes staging_; // TLS only: small frames copied into one buffer
  std::size_t queued_ = 0;
  std::size_t in_flight_ = 0;
  bool writing_ = false;
  bool began_ = false; // nothing is written before the hello (and the TLS handshake)
  bool closed_ = false;
};

} // namespace peerlab::net
