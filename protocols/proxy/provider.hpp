#pragma once
// The proxy provider (ports::proxy). Announces itself under the DHT key
// http_proxy_providers through the node's kad role, answers PROXY_META_REQ and
// PROXY_CONNECT_REQ, meters each client (the `metered` command, which the
// simulated DATA frames use too), judges the client's usage reports against
// its own count within the tolerance band, bills through PAYMENT_REQUEST,
// verifies notified payments on the ledger (confirmed, right payer, payee and
// amount; a transaction id pays one reference only) and cuts a client off
// when it owes more than the credit window, stays out of the band, or a
// payment fails. Rows: ProxyClients, ProxyPayments, ProxyOffer.
#include "protocols/ledger/codec.hpp"
#include "protocols/proxy/codec.hpp"
#include "protocols/proxy/commands.hpp"
#include "protocols/proxy/proxy.hpp"

#include <map>
#include <set>

namespace peerlab::proxy {

class provider final : public role {
public:
  explicit provider(provider_config c) : cfg_(std::move(c)) {}

  port_t port() const override { return ports::proxy; }
  const char* name() const override { return "proxy_provider"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  void reply(context&, port_t from, const event&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, proxy::parse_command(verb, args, err));
  }
  std::vector<const table_schema*> tables() const override;
  const char* message_name(std::uint8_t t) const override {
    return t >= 0x80 ? ledger::message_name(t) : proxy::message_name(t);
  }

  struct client {
    peer_id peer = 0;
    auth_token token{};
    time_us started = 0;
    std::uint64_t fee_per_kb = 0;
    std::uint64_t up = 0, down = 0, reported = 0;
    std::uint64_t requested = 0, unconfirmed = 0, confirmed = 0;
    std::uint32_t strikes = 0;
    std::string status = "active", reason;
    std::optional<payment_ref> open_ref; // billed, not notified yet
    std::uint64_t open_seq = 0;
    std::optional<time_us> stalled_since; // paused at its allowance, no payment since
    std::uint64_t used() const { return up + down; }
  };
  /// Meters `up` and `down` bytes of `client_id` and cuts it off if it now
  /// owes more than the credit window. False if the client is not (or no
  /// longer) active. The one entry point of metering, simulated and live.
  bool meter(context&, std::uint64_t client_id, std::uint64_t up, std::uint64_t down, effects&);
  const std::map<std::uint64_t, client>& clients() const { return clients_; }
  /// The ProxyClients rows as a restart restores them (also for a simulated
  /// provider that is down: its rows survive it).
  static std::map<std::uint64_t, client> load_clients(const table_store&);

  const provider_config& config() const { return cfg_; }
  /// Settlement traffic this role caused: the frames of the payment loop it
  /// sent (reports, bills, notifications, statuses, ledger requests) and the
  /// ledger's answers it received. For the overhead figure of the simulator.
  std::uint64_t settle_frames() const { return settle_frames_; }
  std::uint64_t settle_bytes() const { return settle_bytes_; }

private:
  void settle_send(effects& fx, peer_id to, bytes f) {
    note_settle(fx, f.size());
    fx.send(to, std::move(f));
  }
  void note_settle(effects& fx, std::size_t n) {
    ++settle_frames_;
    settle_bytes_ += n;
    fx.count("proxy.settle_frames");
    fx.count("proxy.settle_bytes", static_cast<double>(n));
  }
  struct verifying {
    std::uint64_t client_id = 0;
    std::uint64_t amount = 0;
    tx_id tx{};
    time_us notified = 0, last_query = 0;
    // The confirmation deadline runs from here: the notification, or the
    // restart that found the payment still unverified (a provider that was
    // down could not ask the ledger, and the payment may be fine).
    time_us deadline_from = 0;
  };
  struct billed {
    std::uint64_t client_id = 0, amount = 0;
  };

  void on_meta(context&, peer_id from, const meta_req&, effects&);
  void on_connect(context&, peer_id from, const connect_req&, effects&);
  void on_data(context&, peer_id from, const data_up&, effects&);
  void on_report(context&, peer_id from, const usage_report&, effects&);
  void on_notify(context&, peer_id from, const payment_notify&, effects&);
  void on_end(context&, peer_id from, const session_end&, effects&);
  void on_tx_status(context&, const ledger::tx_status_reply&, effects&);
  void provide(context&, const provide_proxy&, std::uint64_t cmd_id, effects&);
  client* authorised(peer_id from, std::uint64_t client_id, const auth_token&);
  void bill(context&, std::uint64_t client_id, client&, std::uint64_t seq, effects&);
  void query(context&, const payment_ref&, verifying&, effects&);
  void verified(context&, const payment_ref&, effects&);
  void fail_payment(context&, const payment_ref&, const std::string& reason, effects&);
  void terminate(context&, std::uint64_t client_id, client&, end_reason, std::string text,
                 effects&);
  void save(context&, std::uint64_t client_id, const client&);
  void save_payment(context&, const payment_ref&, std::uint64_t client_id, std::uint64_t amount,
                    const tx_id* tx, time_us at, const std::string& status,
                    const std::string& reason);
  void save_offer(context&);
  void announce_state(effects&);
  void emit_connected(std::uint64_t id, const client&, effects&);
  /// The most bytes (up + down) the client may have used before it is cut
  /// off: what it paid (confirmed or being verified) plus the credit window.
  std::uint64_t allowance(const client&) const;
  void emit_allowance(std::uint64_t id, const client&, effects&);
  void cut_stalled(context&, effects&);
  metadata info(const context&) const;
  std::size_t active_clients() const;

  provider_config cfg_;
  bool active_ = false;
  std::map<std::uint64_t, client> clients_;
  std::set<std::uint64_t> stalled_;            // clients with stalled_since set
  std::map<payment_ref, billed> bills_;        // requested, not notified
  std::map<payment_ref, verifying> verifying_; // notified, not settled
  std::set<tx_id> used_tx_;
  std::map<std::uint64_t, payment_ref> queries_; // ledger request id -> payment
  std::uint64_t settle_frames_ = 0, settle_bytes_ = 0;
  std::uint64_t req_seq_ = 0, ask_seq_ = 1, tick_token_ = 0;
};

} // namespace peerlab::proxy
