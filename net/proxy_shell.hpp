#pragma once
// The glue between the proxy roles (protocols/proxy) and the live data plane
// (net/forward_proxy, net/local_proxy) on a live node: the roles decide, these
// only carry. Role events come in through consume() (the node's event
// thread); what the proxies see goes back to the roles as role commands
// (`metered CLIENT UP DOWN`, `proxy_failed CLIENT WHY`). docs/proxy-live.md "The role
// shell".
#include "net/forward_proxy.hpp"
#include "net/local_proxy.hpp"
#include "protocols/common/command.hpp"
#include "protocols/common/role.hpp"

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::net {

/// Hands a command in text form to the role on a port (live_runtime::command).
using proxy_submit_fn = std::function<std::optional<command_error>(
  port_t, std::uint64_t id, std::string verb, std::vector<std::string> args)>;

/// Command ids the shells use (above the market API's).
constexpr std::uint64_t proxy_shell_first_command_id = 1ull << 52;

/// Provider side: serves a forward_proxy on the address the provider role
/// announces (`proxy_providing`), lets through the tokens the role handed out
/// (`proxy_client_connected`), pauses a client's traffic at the bytes the role
/// allows it (`proxy_allowance`; the pause goes to the role as `proxy_stalled`)
/// until a payment raises them, refuses and disconnects clients the role ended
/// (`proxy_cut_off`, `proxy_client_closed`, or `proxy_client_connected` with
/// a status other than active, as a restarted role announces them: 403 from
/// then on), and posts the
/// bytes it moved to the role as `metered`.
class proxy_provider_shell {
public:
  /// `opts.listen` is ignored: the role's announced address is used.
  proxy_provider_shell(forward_proxy_options opts, proxy_submit_fn submit, proxy::log_fn log);
  ~proxy_provider_shell(); // stops the proxy
  proxy_provider_shell(const proxy_provider_shell&) = delete;
  proxy_provider_shell& operator=(const proxy_provider_shell&) = delete;

  /// An event of the provider role (any thread, one at a time).
  void consume(const event& e);
  /// Stops the proxy for good: later events start nothing (the node stops
  /// the shell before its roles, which may still emit).
  void stop();
  /// Where the proxy listens; empty when it does not run.
  std::string address() const;
  /// Clients the token table knows (active or ended).
  std::size_t known_clients() const;

  /// Ended clients whose tokens are kept (answered 403, not 407) at most.
  static constexpr std::size_t ended_kept_max = 4096;

private:
  struct entry {
    std::string client;
    peer_id peer = 0; // the client's node: over TLS only it may present the token
    bool active = true;
    std::uint64_t allowance = UINT64_MAX; // bytes (up + down), from proxy_allowance
  };
  proxy_authorization authorize(const std::string& token) const;
  std::uint64_t allowance(const std::string& client) const;
  void serve(const std::string& address);
  void end_client(const std::string& client);
  void trim_ended();  // with mu_ held
  void close_proxy(); // with proxy_mu_ held

  forward_proxy_options opts_;
  proxy_submit_fn submit_;
  proxy::log_fn log_;
  std::atomic<std::uint64_t> next_id_{proxy_shell_first_command_id};
  mutable std::mutex mu_;                       // guards the tables below (io thread reads them)
  std::map<std::string, entry> by_token_;       // bearer token (hex) -> client
  std::map<std::string, std::string> token_of_; // client id -> token
  std::deque<std::string> ended_;               // tokens of ended clients, oldest first
  mutable std::mutex proxy_mu_; // guards proxy_ and stopped_ (consume and stop race at shutdown)
  std::unique_ptr<forward_proxy> proxy_;
  bool stopped_ = false;
};

/// Client side: a local_proxy on a loopback port whose upstream is the
/// session the client role opened (`proxy_opened`: the provider's proxy
/// address and token), cleared when the session ends; bytes go to the role as
/// `metered`, and an upstream that fails (unreachable, timeout, 407, 403)
/// is reported to the role once per session (`proxy_failed CLIENT WHY`): the
/// role ends that session and, when it was opened with "best", switches to
/// the next provider, whose `proxy_opened` sets the new upstream.
class proxy_client_shell {
public:
  proxy_client_shell(local_proxy_options opts, proxy_submit_fn submit, proxy::log_fn log);
  ~proxy_client_shell();
  proxy_client_shell(const proxy_client_shell&) = delete;
  proxy_client_shell& operator=(const proxy_client_shell&) = delete;

  /// Binds the local port (throws std::runtime_error naming the address).
  void start();
  void stop();
  const std::string& address() const;
  /// An event of the client role (any thread, one at a time).
  void consume(const event& e);
  /// The session (client id) requests go through now; empty if none.
  std::string current() const;
  proxy::byte_totals totals(const std::string& client) const;

private:
  void failed(const std::string& client, unsigned status, const std::string& why);

  proxy_submit_fn submit_;
  proxy::log_fn log_;
  std::atomic<std::uint64_t> next_id_{proxy_shell_first_command_id};
  mutable std::mutex mu_;
  std::string current_;      // client id of the open session
  bool close_asked_ = false; // one proxy_failed per failed session
  std::unique_ptr<local_proxy> local_;
};

} // namespace peerlab::net
