#include "net/proxy_shell.hpp"

#include "protocols/proxy/proxy.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace peerlab::net {

namespace {

std::string field_or_empty(const event& e, std::string_view k) {
  auto* v = e.field(k);
  return v ? *v : std::string();
}

// A peer id field of a role event; 0 (never a proven id) when absent or bad.
peer_id peer_field(const event& e, std::string_view k) {
  auto text = field_or_empty(e, k);
  peer_id id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  return ec == std::errc() && end == text.data() + text.size() ? id : 0;
}

bool is_loopback_listen(const std::string& address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(host, ec);
  return !ec && ip.is_loopback();
}

} // namespace

// -- provider -----------------------------------------------------------------

proxy_provider_shell::proxy_provider_shell(forward_proxy_options opts, proxy_submit_fn submit,
                                           proxy::log_fn log)
    : opts_(std::move(opts)), submit_(std::move(submit)), log_(std::move(log)) {}

proxy_provider_shell::~proxy_provider_shell() { stop(); }

void proxy_provider_shell::stop() {
  std::lock_guard lock(proxy_mu_);
  stopped_ = true;
  close_proxy();
}

void proxy_provider_shell::close_proxy() {
  if (proxy_)
    proxy_->stop();
  proxy_.reset();
}

std::string proxy_provider_shell::address() const {
  std::lock_guard lock(proxy_mu_);
  return proxy_ ? proxy_->address() : "";
}

std::size_t proxy_provider_shell::known_clients() const {
  std::lock_guard lock(mu_);
  return by_token_.size();
}

proxy_authorization proxy_provider_shell::authorize(const std::string& token) const {
  std::lock_guard lock(mu_);
  auto it = by_token_.find(token);
  if (it == by_token_.end())
    return {proxy_authorization::verdict::unknown, {}};
  if (!it->second.active)
    return {proxy_authorization::verdict::terminated, {}};
  return {proxy_authorization::verdict::allowed, it->second.client, it->second.peer};
}

std::uint64_t proxy_provider_shell::allowance(const std::string& client) const {
  std::lock_guard lock(mu_);
  auto t = token_of_.find(client);
  if (t == token_of_.end())
    return UINT64_MAX;
  auto it = by_token_.find(t->second);
  return it == by_token_.end() ? UINT64_MAX : it->second.allowance;
}

void proxy_provider_shell::serve(const std::string& address) {
  if (address.empty()) {
    if (log_)
      log_("proxy: the provider announced no address: no forward proxy runs (give HOST:PORT to "
           "provide_proxy start)");
    return;
  }
  std::lock_guard lock(proxy_mu_);
  if (stopped_ || (proxy_ && proxy_->address() == address))
    return;
  close_proxy();
  auto o = opts_;
  o.listen = address;
  // The role announced this address to the world on purpose.
  o.allow_remote = !is_loopback_listen(address);
  forward_proxy_callbacks cbs;
  cbs.authorize = [this](const std::string& token) { return authorize(token); };
  cbs.allowance = [this](const std::string& client) { return allowance(client); };
  cbs.stalled = [this](const std::string& client) {
    auto err = submit_(ports::proxy, next_id_++, "proxy_stalled", {client});
    if (err && log_)
      log_("proxy: proxy_stalled " + client + " refused: " + err->reason);
  };
  cbs.metered = [this](const std::string& client, std::uint64_t up, std::uint64_t down) {
    auto err = submit_(ports::proxy, next_id_++, "metered",
                       {client, std::to_string(up), std::to_string(down)});
    if (err && log_)
      log_("proxy: metered " + client + " refused: " + err->reason);
  };
  cbs.log = log_;
  try {
    auto p = std::make_unique<forward_proxy>(o, std::move(cbs));
    p->start();
    proxy_ = std::move(p);
    if (log_)
      log_("proxy: forward proxy listening on " + proxy_->address());
  } catch (const std::exception& e) {
    // The role keeps announcing an address nobody serves: stop it, so
    // clients are not sent to a dead port.
    if (log_)
      log_(std::string("proxy: cannot serve ") + address + ": " + e.what() +
           "; asking the provider role to stop");
    submit_(ports::proxy, next_id_++, "provide_proxy", {"stop"});
  }
}

void proxy_provider_shell::trim_ended() {
  while (ended_.size() > ended_kept_max) { // the oldest ended clients get 407 instead of 403
    auto old = by_token_.find(ended_.front());
    if (old != by_token_.end() && !old->second.active) {
      token_of_.erase(old->second.client);
      by_token_.erase(old);
    }
    ended_.pop_front();
  }
}

void proxy_provider_shell::end_client(const std::string& client) {
  {
    std::lock_guard lock(mu_);
    auto t = token_of_.find(client);
    if (t == token_of_.end())
      return;
    auto it = by_token_.find(t->second);
    if (it != by_token_.end() && it->second.active) {
      it->second.active = false;
      ended_.push_back(t->second);
    }
    trim_ended();
  }
  std::lock_guard lock(proxy_mu_);
  if (proxy_)
    proxy_->terminate(client);
}

void proxy_provider_shell::consume(const event& e) {
  if (e.kind == "proxy_providing") {
    if (field_or_empty(e, "active") == "1")
      serve(field_or_empty(e, "address"));
    else { // every client was ended before (proxy_cut_off events)
      std::lock_guard lock(proxy_mu_);
      close_proxy();
    }
  } else if (e.kind == "proxy_client_connected") {
    auto client = field_or_empty(e, "client"), token = field_or_empty(e, "token");
    if (client.empty() || token.empty())
      return;
    // A restarted provider also names its ended clients (status closed or
    // terminated): their tokens get 403, as before the restart.
    auto status = field_or_empty(e, "status");
    std::lock_guard lock(mu_);
    by_token_[token] =
      entry{client, peer_field(e, "peer"), status.empty() || status == "active", UINT64_MAX};
    token_of_[client] = token;
    if (!by_token_[token].active) {
      ended_.push_back(token);
      trim_ended();
    }
  } else if (e.kind == "proxy_allowance") {
    auto client = field_or_empty(e, "client");
    double bytes = e.value("bytes");
    {
      std::lock_guard lock(mu_);
      auto t = token_of_.find(client);
      if (t == token_of_.end() || !(bytes >= 0))
        return;
      if (auto it = by_token_.find(t->second); it != by_token_.end())
        it->second.allowance =
          bytes >= 18446744073709551615.0 ? UINT64_MAX : static_cast<std::uint64_t>(bytes);
    }
    std::lock_guard lock(proxy_mu_);
    if (proxy_) // paused reads go on (or a client past a lowered allowance stops)
      proxy_->allowance_changed(client);
  } else if (e.kind == "proxy_cut_off" || e.kind == "proxy_client_closed") {
    end_client(field_or_empty(e, "client"));
  }
}

// -- client -------------------------------------------------------------------

proxy_client_shell::proxy_client_shell(local_proxy_options opts, proxy_submit_fn submit,
                                       proxy::log_fn log)
    : submit_(std::move(submit)), log_(std::move(log)) {
  local_proxy_callbacks cbs;
  cbs.metered = [this](const std::string& client, std::uint64_t up, std::uint64_t down) {
    auto err = submit_(ports::proxy_client, next_id_++, "metered",
                       {client, std::to_string(up), std::to_string(down)});
    if (err && log_)
      log_("proxy: metered " + client + " refused: " + err->reason);
  };
  cbs.upstream_failed = [this](const std::string& client, unsigned status, const std::string& why) {
    failed(client, status, why);
  };
  cbs.log = log_;
  local_ = std::make_unique<local_proxy>(std::move(opts), std::move(cbs));
}

proxy_client_shell::~proxy_client_shell() { stop(); }

void proxy_client_shell::start() { local_->start(); }
void proxy_client_shell::stop() { local_->stop(); }
const std::string& proxy_client_shell::address() const { return local_->address(); }

std::string proxy_client_shell::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

proxy::byte_totals proxy_client_shell::totals(const std::string& client) const {
  return local_->totals(client);
}

void proxy_client_shell::failed(const std::string& client, unsigned status,
                                const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (client != current_ || close_asked_)
      return;
    close_asked_ = true;
  }
  auto what = std::to_string(status) + " " + why;
  if (log_)
    log_("proxy: upstream of session " + client + " failed (" + what + "): telling the role");
  local_->clear_upstream(); // 503 until the role opens another session
  // The role ends the session; one opened with "best" moves to the next provider.
  submit_(ports::proxy_client, next_id_++, "proxy_failed", {client, what.substr(0, 150)});
}

void proxy_client_shell::consume(const event& e) {
  if (e.kind == "proxy_opened") {
    upstream_proxy u{field_or_empty(e, "client"), field_or_empty(e, "address"),
                     field_or_empty(e, "token"), peer_field(e, "provider")};
    try {
      local_->set_upstream(u);
    } catch (const std::exception& ex) { // e.g. a provider that announced no address
      if (log_)
        log_("proxy: session " + u.id + " has no usable proxy address (" + ex.what() +
             "): telling the role");
      submit_(ports::proxy_client, next_id_++, "proxy_failed",
              {u.id, "the provider announced no usable proxy address"});
      return;
    }
    std::lock_guard lock(mu_);
    current_ = u.id;
    close_asked_ = false;
  } else if (e.kind == "proxy_session_ended" || e.kind == "proxy_closed") {
    auto client = field_or_empty(e, "client");
    std::lock_guard lock(mu_);
    // proxy_closed names no client: it ends the current session.
    if (current_.empty() || (!client.empty() && client != current_))
      return;
    current_.clear();
    local_->clear_upstream();
  }
}

} // namespace peerlab::net
