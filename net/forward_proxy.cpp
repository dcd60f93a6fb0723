#include "net/forward_proxy.hpp"

#include "net/address.hpp"
#include "net/proxy_target.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace peerlab::net {

using namespace proxy;

namespace {
std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// The node's TLS settings, except that a client without a certificate
// completes the handshake: it then gets a 407 that says what is missing
// instead of a failed handshake.
std::shared_ptr<SSL_CTX> make_server_tls(const node_identity& id) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx)
    throw std::runtime_error("forward proxy: cannot create a TLS context");
  id.configure(ctx.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(ctx.get()));
  return ctx;
}
} // namespace

class forward_proxy::impl {
public:
  class fsession;

  impl(forward_proxy_options o, forward_proxy_callbacks c)
      : opts_(std::move(o)), cbs_(std::move(c)),
        meter_(cbs_.metered, opts_.report_bytes, opts_.report_interval),
        t0_(std::chrono::steady_clock::now()),
        server_(opts_.listen, "forward proxy", opts_.max_connections, cbs_.log) {
    if (opts_.identity)
      tls_ = make_server_tls(*opts_.identity);
  }

  time_us now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 t0_)
      .count();
  }
  bool destination_allowed(const std::string& host, std::uint16_t port,
                           const tcp::endpoint& ep) const {
    if (!opts_.allow_internal_destinations && is_internal_address(ep.address()))
      return false;
    return !cbs_.allow_destination || cbs_.allow_destination(host, port, ep.address());
  }
  // Per-client connection counts (io thread).
  bool bind(const std::string& id) {
    auto& n = per_client_[id];
    if (n >= opts_.max_connections_per_client)
      return false;
    ++n;
    return true;
  }
  void unbind(const std::string& id) {
    if (auto it = per_client_.find(id); it != per_client_.end() && --it->second == 0)
      per_client_.erase(it);
    meter_.flush(id);
  }
  bool terminated(const std::string& id) const { return terminated_.count(id) > 0; }
  bool over_allowance(const std::string& id) const {
    if (!cbs_.allowance)
      return false;
    auto t = meter_.totals(id);
    return t.up + t.down > cbs_.allowance(id);
  }
  // The client passed what the role allows (it was lowered: a payment
  // failed): its bytes go to the role now (not at the next report, up to
  // report_bytes later) and its connections close.
  void stop_client(const std::string& id);
  // Bytes the client may still move, 0 when its reads must wait: its
  // allowance minus what it moved, what was read for it and not yet written
  // to it, and a reserve for the answer headers and chunk framing the proxy
  // writes on top of what it read.
  std::size_t budget(const std::string& id) const {
    if (!cbs_.allowance)
      return SIZE_MAX;
    auto allow = cbs_.allowance(id);
    if (allow == UINT64_MAX)
      return SIZE_MAX;
    auto t = meter_.totals(id);
    auto f = in_flight_.find(id);
    std::uint64_t used = t.up + t.down + (f == in_flight_.end() ? 0 : f->second);
    std::uint64_t reserve = opts_.limits.max_header + 4096;
    if (used + reserve >= allow)
      return 0;
    return static_cast<std::size_t>(std::min<std::uint64_t>(allow - reserve - used, SIZE_MAX));
  }
  // A read of the client waits for its allowance: the role hears it once per pause.
  void waiting(const std::string& id) {
    waiting_.insert(id);
    if (paused_.insert(id).second && cbs_.stalled)
      cbs_.stalled(id);
  }
  // Its budget may have grown (bytes written, a payment): waiting reads try again.
  void wake(const std::string& id);
  std::map<std::string, std::uint64_t> in_flight_; // io thread: read for a client, not written yet
  void terminate_now(const std::string& id);

  forward_proxy_options opts_;
  forward_proxy_callbacks cbs_;
  std::shared_ptr<SSL_CTX> tls_; // with an identity
  meter meter_;
  std::chrono::steady_clock::time_point t0_;
  std::map<std::string, std::size_t> per_client_;
  std::set<std::string> terminated_; // io thread
  std::set<std::string> stopped_;    // io thread: clients stopped at their allowance (logged once)
  std::set<std::string> waiting_;    // io thread: clients with a read waiting for its budget
  std::set<std::string> paused_;     // io thread: told the role, not woken by a payment since
  // Last: sessions its io_context still holds when destroyed use the members above.
  server server_;
};

class forward_proxy::impl::fsession : public session {
public:
  fsession(impl& p, tcp::socket s) : session(std::move(s), p.opts_.limits), p_(p) {}
  ~fsession() override {
    if (!bound_)
      return;
    take_in_flight(in_flight_);
    p_.unbind(client_id_);
  }
  const std::string& client_id() const { return client_id_; }
  bool bound() const { return bound_; }
  void resume_reads() {
    client().resume();
    if (has_upstream())
      upstream().resume();
  }

protected:
  void on_connected() override {
    if (!p_.tls_)
      return read_requests();
    accept_tls(p_.tls_.get(), [this] {
      proven_ = proven_peer(client().ssl());
      read_requests();
    });
  }

  void on_client_bytes(std::size_t up, std::size_t down) override {
    if (bound_) {
      p_.meter_.add(client_id_, up, down, p_.now());
      take_in_flight(down);
      if (p_.over_allowance(client_id_))
        p_.stop_client(client_id_);
      else if (down && p_.waiting_.count(client_id_))
        p_.wake(client_id_);
      return;
    }
    // Counted from the connection's start once the client is known.
    pending_.up += up;
    pending_.down += down;
  }

  // Reads from the upstream are bytes for the client: they count against
  // its budget until they are written to it.
  void on_upstream_socket(counted_socket& s) override { gate(s); }
  void on_upstream_bytes(std::size_t read, std::size_t) override {
    if (bound_ && read) {
      in_flight_ += read;
      p_.in_flight_[client_id_] += read;
    }
  }

  void on_request() override {
    if (!authorized())
      return;
    auto& m = req().get();
    std::string err;
    if (m.method() == http::verb::connect) {
      auto t = parse_connect_target(sv(m.target()), err);
      if (!t)
        return fail(400, "bad CONNECT target: " + err);
      return connect(t->host, t->port, allow(t->host, t->port), [this, t = *t] {
        write_answer(client(), 200, "", {}, true, shared_from_this(),
                     [self = shared_from_this()](error_code ec) {
                       if (ec)
                         return self->close();
                       static_cast<fsession&>(*self).start_tunnel();
                     });
      });
    }
    auto t = parse_absolute_target(sv(m.target()), err);
    if (!t)
      return fail(400, "bad request target: " + err);
    connect(t->host, t->port, allow(t->host, t->port), [this, t = *t] { send(t); });
  }

private:
  endpoint_filter allow(const std::string& host, std::uint16_t port) {
    return [this, host, port](const tcp::endpoint& ep) {
      return p_.destination_allowed(host, port, ep);
    };
  }

  // The bearer token decides; one connection serves one client.
  bool authorized() {
    auto& m = req().get();
    auto h = sv(m[http::field::proxy_authorization]);
    constexpr std::string_view bearer = "Bearer ";
    if (h.size() <= bearer.size() || h.substr(0, bearer.size()) != bearer) {
      fail(407, "Proxy-Authorization: Bearer <token> required",
           {{"Proxy-Authenticate", "Bearer realm=\"peerlab\""}});
      return false;
    }
    auto verdict = p_.cbs_.authorize(std::string(h.substr(bearer.size())));
    using v = proxy_authorization::verdict;
    if (verdict.result == v::unknown) {
      fail(407, "unknown token", {{"Proxy-Authenticate", "Bearer realm=\"peerlab\""}});
      return false;
    }
    if (verdict.result == v::terminated || p_.terminated(verdict.client_id)) {
      fail(403, "client terminated");
      return false;
    }
    if (p_.tls_ && !peer_matches(verdict.peer))
      return false;
    // A paused client's new request waits with the others (its reads are
    // gated once bound); one already past its allowance is refused.
    if (p_.over_allowance(verdict.client_id)) {
      fail(402, "this client used more than its payments allow");
      return false;
    }
    if (bound_ && verdict.client_id != client_id_) {
      fail(403, "one connection serves one client");
      return false;
    }
    if (!bound_) {
      if (!p_.bind(verdict.client_id)) {
        fail(429, "too many connections for this client (at most " +
                    std::to_string(p_.opts_.max_connections_per_client) + ")");
        return false;
      }
      bound_ = true;
      client_id_ = verdict.client_id;
      p_.meter_.add(client_id_, pending_.up, pending_.down, p_.now());
      pending_ = {};
      gate(client());
      if (has_upstream())
        gate(upstream());
    }
    return true;
  }

  // Reads of a bound client's sockets take at most its budget and wait at 0.
  void gate(counted_socket& s) {
    if (!bound_ || !p_.cbs_.allowance)
      return;
    s.budget([this] { return p_.budget(client_id_); }, [this] { p_.waiting(client_id_); });
  }

  void take_in_flight(std::uint64_t n) {
    n = std::min(n, in_flight_);
    in_flight_ -= n;
    auto it = p_.in_flight_.find(client_id_);
    if (it == p_.in_flight_.end())
      return;
    it->second -= std::min(it->second, n);
    if (it->second == 0)
      p_.in_flight_.erase(it);
  }

  // Over TLS the token must come from the node it was issued to.
  bool peer_matches(peer_id issued_to) {
    if (auto* why = std::get_if<std::string>(&proven_)) {
      fail(407,
           "this token needs the client certificate of the node it was issued to (" + *why + ")",
           {{"Proxy-Authenticate", "Bearer realm=\"peerlab\""}});
      return false;
    }
    auto proven = std::get<peer_id>(proven_);
    if (proven != issued_to) {
      fail(403, "this token was issued to peer " + std::to_string(issued_to) + ", not to peer " +
                  std::to_string(proven));
      return false;
    }
    return true;
  }

  // An absolute-form request goes upstream in origin form, without what
  // concerns this proxy only.
  void send(const target& t) {
    auto& m = req().get();
    m.target(t.path);
    m.erase(http::field::proxy_authorization);
    m.erase("Proxy-Connection");
    m.erase(http::field::upgrade);
    if (m[http::field::host].empty())
      m.set(http::field::host, t.port == 80 ? t.host : t.authority());
    if (beast::iequals(m[http::field::expect], "100-continue")) {
      // Answered here: the client sends its body now and the origin sees none.
      m.erase(http::field::expect);
      auto cont = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      return asio::async_write(client(), asio::buffer(*cont),
                               [self = shared_from_this(), cont](error_code ec, std::size_t) {
                                 if (ec)
                                   return self->close();
                                 static_cast<fsession&>(*self).forward({});
                               });
    }
    forward({});
  }

  impl& p_;
  std::uint64_t in_flight_ = 0; // read from upstream, not yet written to the client
  std::variant<peer_id, std::string> proven_ = std::string("no TLS");
  std::string client_id_;
  bool bound_ = false;
  byte_totals pending_;
};

void forward_proxy::impl::terminate_now(const std::string& id) {
  terminated_.insert(id);
  waiting_.erase(id);
  paused_.erase(id);
  stopped_.erase(id);
  server_.each([&id](session& s) {
    auto& f = static_cast<fsession&>(s);
    if (f.bound() && f.client_id() == id)
      f.close();
  });
  meter_.flush(id);
}

void forward_proxy::impl::wake(const std::string& id) {
  waiting_.erase(id);
  server_.each([&id](session& s) {
    auto& f = static_cast<fsession&>(s);
    if (f.bound() && f.client_id() == id)
      f.resume_reads();
  });
}

void forward_proxy::impl::stop_client(const std::string& id) {
  meter_.flush(id);
  server_.post([this, id] {
    server_.each([&id](session& s) {
      auto& f = static_cast<fsession&>(s);
      if (f.bound() && f.client_id() == id)
        f.close();
    });
  });
  if (cbs_.log && stopped_.insert(id).second)
    cbs_.log("forward proxy: client " + id + " passed the bytes its payments allow (" +
             std::to_string(cbs_.allowance(id)) + "): its connections are closed");
}

forward_proxy::forward_proxy(forward_proxy_options opts, forward_proxy_callbacks cbs) {
  std::string err;
  auto a = parse_address(opts.listen, err);
  if (!a)
    throw std::invalid_argument("forward proxy listen address \"" + opts.listen + "\": " + err);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(a->host, ec);
  if (ec)
    throw std::invalid_argument("forward proxy listen address \"" + opts.listen +
                                "\": " + ec.message());
  if (!ip.is_loopback() && !opts.allow_remote)
    throw std::invalid_argument("forward proxy listen address \"" + opts.listen +
                                "\" is not a loopback address: set allow_remote to open it");
  if (!cbs.authorize)
    throw std::invalid_argument("forward proxy: an authorize callback is required");
  impl_ = std::make_shared<impl>(std::move(opts), std::move(cbs));
}

forward_proxy::~forward_proxy() { stop(); }

void forward_proxy::start() {
  auto* p = impl_.get();
  p->server_.every(p->opts_.report_interval / 2 + 1, [p] { p->meter_.flush_due(p->now()); });
  p->server_.start(
    [p](tcp::socket s) { return std::make_shared<impl::fsession>(*p, std::move(s)); });
}

void forward_proxy::stop() { impl_->server_.stop(); }
const std::string& forward_proxy::address() const { return impl_->server_.address(); }
std::size_t forward_proxy::connections() const { return impl_->server_.connections(); }
proxy::byte_totals forward_proxy::totals(const std::string& id) const {
  return impl_->meter_.totals(id);
}
std::uint64_t forward_proxy::reports() const { return impl_->meter_.reports(); }

void forward_proxy::allowance_changed(const std::string& id) {
  auto* p = impl_.get();
  p->server_.post([p, id] {
    p->paused_.erase(id); // a new pause is told to the role again
    if (p->over_allowance(id))
      p->stop_client(id);
    else
      p->wake(id);
  });
}

void forward_proxy::terminate(const std::string& id) {
  auto* p = impl_.get();
  p->server_.post([p, id] { p->terminate_now(id); });
}

} // namespace peerlab::net
