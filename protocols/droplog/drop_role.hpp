#pragma once
// The droplog role (port ports::droplog): layer 1 and layer 2 of HTTP over file drops as
// a peerlab role, so the simulator runs them over its network model. Each
// frame is one packet file (byte 0 the port, then the file bytes), so the
// scenario's faults (truncation at a random byte, bit flips, loss,
// duplication, latency per frame = per file) are the simulated drop channel.
//
// Commands (protocols/droplog/commands.hpp): send (event droplog_submitted)
// and http (event http_response, 504 on timeout); refusals are command_failed.
// Events: droplog_delivered {from, msg_id, size, sha256, head}, http_response
// {status, size, sha256, latency_us}, http_served, droplog_written {files,
// bytes, data_files}, droplog_rejected, droplog_forged_sent (adversary).
// Live (docs/live.md, "File-drop gateways"): the node's folder transport
// writes each frame as a packet file and hands files back as frames; with
// delete_files the role names the files it no longer needs in
// droplog_deletable events {files: "o:PEER:ID i:PEER:ID ..."}; with
// external_upstream, side b sends each request it takes from the log to the
// node's local upstream peer (address "http-upstream...") as a frame
// [port, layer-2 request] and gets [port, layer-2 response] back.
// Docs: docs/protocols/droplog.md, "The simulated channel".
#include "protocols/common/role.hpp"
#include "protocols/droplog/commands.hpp"
#include "protocols/droplog/host.hpp"
#include "protocols/droplog/http_gateway.hpp"
#include "protocols/droplog/relay_rows.hpp"
#include "protocols/droplog/droplog.hpp"

#include <memory>
#include <set>
#include <string_view>

namespace peerlab::droplog {

/// The address a node's local upstream peer opens with (net/drop_upstream.hpp).
constexpr std::string_view upstream_peer_address = "http-upstream";

struct role_config {
  session_config session;     // local/remote are set per peer
  std::vector<peer_id> peers; // node ids this node keeps a log with
  bool serve_http = false;    // perform requests against the simulated upstream
  std::uint64_t max_http_body = 16u << 20;
  time_us http_timeout = 120 * us_per_s;
  std::size_t max_pending_http = 1024;
  /// Live folders: report packet files to delete (droplog_deletable events).
  bool delete_files = false;
  /// With serve_http: perform requests through the node's local upstream
  /// peer (a real HTTP server behind it) instead of the simulated upstream.
  bool external_upstream = false;
  /// Adversary "forge_packets": instead of talking, drop forged files into the
  /// peers' folders claiming to come from `impersonate`.
  bool forge = false;
  peer_id impersonate = 0;
  time_us forge_interval = 1 * us_per_s;
};

/// Returns an empty string if usable, else what is wrong.
std::string validate(const role_config& c);

class drop_role final : public role {
public:
  explicit drop_role(role_config c);
  port_t port() const override { return ports::droplog; }
  const char* name() const override { return "droplog"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  void peer_up(context&, peer_id peer, std::string_view address, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, droplog::parse_command(verb, args, err));
  }
  const char* message_name(std::uint8_t) const override { return "packet"; }
  std::vector<const table_schema*> tables() const override {
    return {&sessions_table(), &entries_table(), &unanswered_table()};
  }

  const host* sessions() const { return host_.get(); }
  const http::gateway_metrics& metrics() const { return metrics_; }

private:
  void pump(context&, effects&);
  void deliver(context&, peer_id from, delivered_message& m, effects&);
  void on_request(context&, peer_id from, byte_view msg, effects&);
  void on_response(context&, byte_view msg, effects&);
  void report(peer_id from, const std::vector<session_event>& events, effects&);
  void send_forgery(context&, effects&);
  void arm(context&, time_us at, effects&);
  void refuse(const peerlab::command&, peerlab::fail_code, std::string why, effects&);
  // Side b with an external upstream (live).
  void relay(context&, peer_id from, const http::request& q, byte_view msg, effects&);
  void on_upstream_answer(context&, byte_view msg, effects&);
  void answer(peer_id to, const http::response& p, byte_view msg, effects&);
  void to_upstream(byte_view msg, effects&);
  void reject_file(byte_view file); // delete_files: a file nobody will ever need

  role_config cfg_;
  std::unique_ptr<host> host_;
  http::pending_table pending_;
  http::gateway_metrics metrics_;
  std::set<time_us> timers_; // wake-ups already set (timers cannot be cancelled)
  std::uint64_t forged_ = 0;
  std::set<std::uint64_t> want_message_;    // side a: requests whose event carries the response
  peer_id upstream_ = 0;                    // side b: the local upstream peer, once it is up
  std::set<std::uint64_t> relayed_;         // side b: sent upstream by this incarnation
  std::set<std::uint64_t> held_;            // side b: taken while no upstream was up
  std::vector<std::string> rejected_files_; // delete_files: "i:PEER:ID" of rejected files
};

std::shared_ptr<role> make_drop_role(role_config c);

} // namespace peerlab::droplog
