#pragma once
// The proxy client (ports::proxy_client). Finds providers through the DHT
// (kad's find_providers on http_proxy_providers; every lookup ends, by kad's
// answer or its own deadline), asks each for its metadata, opens a session
// with the cheapest (then fastest to answer) and switches to the next one when
// a provider refuses, stops answering or ends the session. Meters its own
// traffic (the `metered` command, which the simulated DATA frames use too)
// and runs the ProxyPaymentLoop: every `interval` it states its usage and the
// fee it owes minus what it already sent, checks the provider's figures
// within the tolerance band, pays through the ledger and notifies the
// provider. Rows: ProxySessions.
#include "protocols/ledger/codec.hpp"
#include "protocols/proxy/codec.hpp"
#include "protocols/proxy/commands.hpp"
#include "protocols/proxy/proxy.hpp"

#include <map>
#include <set>

namespace peerlab::proxy {

class client final : public role {
public:
  explicit client(client_config c) : cfg_(std::move(c)) {}

  port_t port() const override { return ports::proxy_client; }
  const char* name() const override { return "proxy_client"; }
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

  struct session {
    std::uint64_t key = 0;
    peer_id provider = 0;
    std::uint64_t client_id = 0;
    auth_token token{};
    metadata info;
    time_us started = 0, ended = 0;
    std::uint64_t up = 0, down = 0, unconfirmed = 0, confirmed = 0;
    std::string status = "active", reason;
    std::uint64_t used() const { return up + down; }
    std::uint64_t sent() const { return unconfirmed + confirmed; }
  };
  /// Meters the session's traffic; false if `client_id` is not the open session.
  bool meter(context&, std::uint64_t client_id, std::uint64_t up, std::uint64_t down, effects&);
  const std::optional<session>& current() const { return s_; }
  /// Looking up, probing or connecting to a provider (e.g. switching).
  bool opening() const {
    return phase_ == phase::looking || phase_ == phase::probing || phase_ == phase::connecting;
  }

  const client_config& config() const { return cfg_; }
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
  enum class phase : std::uint8_t { idle, looking, probing, connecting, active, closing };
  struct candidate {
    peer_id peer = 0;
    std::uint64_t req_id = 0;
    time_us sent = 0, rtt = -1; // -1: no answer yet
    std::uint64_t fee = 0;
    bool refused = false;
  };
  struct payment {
    payment_ref ref{};
    std::uint64_t amount = 0, nonce = 0, req_id = 0;
    tx_id tx{};
    bool transferred = false;
    time_us last_sent = 0;
    std::uint32_t resends = 0;
  };
  struct pending_fetch {
    std::uint64_t cmd_id = 0, request = 0, response = 0, got = 0;
    time_us sent = 0, last_byte = 0;
  };

  // Discovery and sessions (client.cpp).
  void look_up(context&, effects&);
  void probe(context&, const std::vector<peer_id>&, effects&);
  void on_meta(context&, peer_id from, std::uint64_t req_id, const metadata*, effects&);
  void probes_done(context&, effects&);
  void connect(context&, peer_id, effects&);
  void on_connect_ok(context&, peer_id from, const connect_ok&, effects&);
  void on_connect_refused(context&, peer_id from, const connect_refused&, effects&);
  void open_failed(context&, fail_code, const std::string& reason, effects&);
  void end_session(context&, end_reason, const std::string& text, bool tell_provider, effects&);
  void next_provider(context&, effects&);
  void on_data(context&, peer_id from, const data_down&, effects&);
  void do_fetch(context&, const peerlab::command&, const fetch&, effects&);
  void fail_fetches(const std::string& reason, effects&);
  void set_phase(context&, phase, time_us timeout, effects&);
  void save(context&);
  static event opened_event(const session& s, std::uint64_t cmd);
  static session session_of(const row&);
  // The ProxyPaymentLoop (client_payments.cpp).
  void loop(context&, effects&);
  void report(context&, bool again, effects&);
  void on_request(context&, peer_id from, const payment_request&, effects&);
  void on_refused(context&, peer_id from, const usage_refused&, effects&);
  void on_status(context&, peer_id from, const payment_status&, effects&);
  void on_ledger(context&, const ledger::message&, effects&);
  void send_transfer(context&, effects&);
  void send_notify(context&, effects&);
  void finish_close(context&, effects&);
  /// Settles (as a close does) and then ends the session with `why`.
  void leave(context&, end_reason why, const std::string& text, effects&);

  client_config cfg_;
  phase phase_ = phase::idle;
  std::uint64_t phase_token_ = 0, loop_token_ = 0;
  bool auto_pick_ = false;      // the session came from proxy_open best: switch on failure
  std::uint64_t open_cmd_ = 0;  // proxy_open to answer once connected (0: none)
  std::uint64_t list_cmd_ = 0;  // proxy_providers to answer once probed (0: none)
  std::uint64_t close_cmd_ = 0; // proxy_close to answer once settled (0: none)
  std::uint32_t switches_ = 0;
  std::vector<candidate> cands_;
  std::set<peer_id> excluded_; // providers that failed this client
  peer_id connecting_ = 0;
  std::uint64_t connect_req_ = 0;
  std::optional<session> s_;
  std::uint64_t report_seq_ = 0;
  bool report_open_ = false;
  std::uint64_t stated_ = 0, stated_owed_ = 0; // the open report's figures
  std::uint64_t reported_at_ = 0;              // own count when the last report went out
  std::uint32_t report_resends_ = 0;
  time_us report_sent_ = 0;
  std::uint32_t payments_made_ = 0;
  std::optional<payment> pay_;
  std::optional<std::pair<end_reason, std::string>> leaving_; // closing to leave, not by the user
  std::map<payment_ref, std::uint64_t> notified_; // amount, awaiting the provider's verdict
  std::map<std::uint64_t, pending_fetch> fetches_;
  std::uint64_t settle_frames_ = 0, settle_bytes_ = 0;
  std::uint64_t req_seq_ = 0, ask_seq_ = 1, fetch_seq_ = 0;
};

} // namespace peerlab::proxy
