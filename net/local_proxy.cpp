#include "net/local_proxy.hpp"

#include "net/address.hpp"
#include "net/proxy_target.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace peerlab::net {

using namespace proxy;

namespace {
std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }
} // namespace

class local_proxy::impl {
public:
  class lsession;

  impl(local_proxy_options o, local_proxy_callbacks c)
      : opts_(std::move(o)), cbs_(std::move(c)),
        meter_(cbs_.metered, opts_.report_bytes, opts_.report_interval),
        t0_(std::chrono::steady_clock::now()),
        server_(opts_.listen, "local proxy", opts_.max_connections, cbs_.log) {
    if (opts_.identity) {
      tls_.reset(SSL_CTX_new(TLS_method()), SSL_CTX_free);
      if (!tls_)
        throw std::runtime_error("local proxy: cannot create a TLS context");
      opts_.identity->configure(tls_.get());
    }
  }

  time_us now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 t0_)
      .count();
  }
  std::optional<upstream_proxy> upstream() const {
    std::lock_guard g(mu_);
    return upstream_;
  }
  void report_failure(const std::string& id, unsigned status, const std::string& why) {
    server_.log("upstream " + id + " failed: " + std::to_string(status) + " " + why);
    if (cbs_.upstream_failed)
      cbs_.upstream_failed(id, status, why);
  }

  local_proxy_options opts_;
  local_proxy_callbacks cbs_;
  std::shared_ptr<SSL_CTX> tls_; // with an identity
  meter meter_;
  std::chrono::steady_clock::time_point t0_;
  mutable std::mutex mu_;
  std::optional<upstream_proxy> upstream_;
  // Last: sessions its io_context still holds when destroyed use the members above.
  server server_;
};

class local_proxy::impl::lsession : public session {
public:
  lsession(impl& p, tcp::socket s) : session(std::move(s), p.opts_.limits), p_(p) {}
  ~lsession() override {
    if (!id_.empty())
      p_.meter_.flush(id_);
  }

protected:
  void on_client_bytes(std::size_t up, std::size_t down) override {
    if (!id_.empty())
      return p_.meter_.add(id_, up, down, p_.now());
    pending_.up += up;
    pending_.down += down;
  }

  void on_upstream_failed(unsigned status, const std::string& why) override {
    p_.report_failure(u_.id, status, why);
  }

  void on_request() override {
    auto u = p_.upstream();
    if (!u)
      return fail(503, "no proxy provider chosen yet");
    u_ = *u;
    // The bytes of a connection go to the upstream of its latest request.
    if (id_ != u_.id) {
      if (!id_.empty())
        p_.meter_.flush(id_);
      id_ = u_.id;
      p_.meter_.add(id_, pending_.up, pending_.down, p_.now());
      pending_ = {};
    }
    auto& m = req().get();
    std::string err;
    std::optional<target> t;
    if (m.method() == http::verb::connect) {
      if (!(t = parse_connect_target(sv(m.target()), err)))
        return fail(400, "bad CONNECT target: " + err);
    } else if (!(t = parse_absolute_target(sv(m.target()), err)))
      return fail(400, "bad request target: " + err);
    std::string addr_err;
    auto a = parse_address(u_.address, addr_err);
    if (!a)
      return fail(502, "upstream address: " + addr_err);
    bool tunnel = m.method() == http::verb::connect;
    connect(a->host, a->port, {}, [this, tunnel, t = *t] {
      auto go = [this, tunnel, t] {
        if (tunnel)
          return open_tunnel(t);
        pass_request();
      };
      if (!p_.tls_)
        return go();
      if (upstream().is_secure()) // a kept-alive upstream: its peer is checked again
        return check_provider(go);
      secure_upstream(p_.tls_.get(), [this, go] { check_provider(go); });
    });
  }

private:
  // The token goes only to the provider the role chose, proven by its key.
  void check_provider(const std::function<void()>& go) {
    auto proven = proven_peer(upstream().ssl());
    if (auto* why = std::get_if<std::string>(&proven))
      return upstream_failed(502, "the upstream proved no peer id: " + *why);
    if (std::get<peer_id>(proven) != u_.provider)
      return upstream_failed(502, "the upstream is peer " +
                                    std::to_string(std::get<peer_id>(proven)) +
                                    ", not the chosen provider " + std::to_string(u_.provider));
    go();
  }

  void pass_request() {
    auto& m = req().get();
    m.set(http::field::proxy_authorization, "Bearer " + u_.token);
    m.erase("Proxy-Connection");
    forward([this](const http::response_header<>& h) { check_answer(h.result_int()); });
  }

  void check_answer(unsigned status) {
    if (status == 407 || status == 403)
      p_.report_failure(u_.id, status,
                        status == 407 ? "the provider does not know our token"
                                      : "the provider terminated us");
  }

  void open_tunnel(const target& t) {
    auto text = std::make_shared<std::string>(
      "CONNECT " + t.authority() + " HTTP/1.1\r\nHost: " + t.authority() +
      "\r\nProxy-Authorization: Bearer " + u_.token + "\r\n\r\n");
    asio::async_write(upstream(), asio::buffer(*text),
                      [self = shared_from_this(), text](error_code ec, std::size_t) {
                        auto& s = static_cast<lsession&>(*self);
                        if (ec)
                          return s.upstream_failed(502, "writing to upstream: " + ec.message());
                        s.read_response_header([&s] { s.on_tunnel_answer(); });
                      });
  }

  void on_tunnel_answer() {
    unsigned status = res().get().result_int();
    if (status / 100 != 2) {
      check_answer(status);
      return relay_response_and_close();
    }
    write_answer(client(), 200, "", {}, true, shared_from_this(),
                 [self = shared_from_this()](error_code ec) {
                   if (ec)
                     return self->close();
                   static_cast<lsession&>(*self).start_tunnel();
                 });
  }

  impl& p_;
  upstream_proxy u_; // of the current request
  std::string id_;   // whose bytes the client's socket moves now
  byte_totals pending_;
};

local_proxy::local_proxy(local_proxy_options opts, local_proxy_callbacks cbs) {
  std::string err;
  auto a = parse_address(opts.listen, err);
  if (!a)
    throw std::invalid_argument("local proxy listen address \"" + opts.listen + "\": " + err);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(a->host, ec);
  if (ec || !ip.is_loopback())
    throw std::invalid_argument("local proxy listen address \"" + opts.listen +
                                "\" must be a loopback address (127.0.0.1 or [::1])");
  impl_ = std::make_shared<impl>(std::move(opts), std::move(cbs));
}

local_proxy::~local_proxy() { stop(); }

void local_proxy::start() {
  auto* p = impl_.get();
  p->server_.every(p->opts_.report_interval / 2 + 1, [p] { p->meter_.flush_due(p->now()); });
  p->server_.start(
    [p](tcp::socket s) { return std::make_shared<impl::lsession>(*p, std::move(s)); });
}

void local_proxy::stop() { impl_->server_.stop(); }
const std::string& local_proxy::address() const { return impl_->server_.address(); }
std::size_t local_proxy::connections() const { return impl_->server_.connections(); }
proxy::byte_totals local_proxy::totals(const std::string& id) const {
  return impl_->meter_.totals(id);
}
std::uint64_t local_proxy::reports() const { return impl_->meter_.reports(); }

void local_proxy::set_upstream(upstream_proxy u) {
  std::string err;
  if (!parse_address(u.address, err))
    throw std::invalid_argument("upstream proxy address \"" + u.address + "\": " + err);
  if (u.token.empty() || u.token.find_first_of("\r\n") != std::string::npos)
    throw std::invalid_argument("upstream proxy token must be non-empty, on one line");
  if (u.id.empty())
    throw std::invalid_argument("upstream proxy id must be non-empty");
  if (impl_->tls_ && u.provider == 0)
    throw std::invalid_argument("upstream proxy " + u.id +
                                ": the provider's peer id is needed to check its TLS identity");
  std::lock_guard g(impl_->mu_);
  impl_->upstream_ = std::move(u);
}

void local_proxy::clear_upstream() {
  std::lock_guard g(impl_->mu_);
  impl_->upstream_.reset();
}

} // namespace peerlab::net
