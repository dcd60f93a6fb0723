#pragma once
// Server side of filexfer: answers META_REQ from content_store::stat() and
// streams CONTENT_REQ ranges as chunks. Sending is done in turns of at most
// bounds::provider_turn_bytes, round-robin over active requests, with a
// zero-delay timer between turns, so big requests do not starve small ones.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/filexfer.hpp"

#include <deque>
#include <map>
#include <utility>

namespace peerlab::filexfer {

class provider final : public role {
public:
  explicit provider(provider_config cfg);

  port_t port() const override { return ports::file_provider; }
  const char* name() const override { return "provider"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  const char* message_name(std::uint8_t t) const override { return filexfer::message_name(t); }
  std::vector<const table_schema*> tables() const override;

  std::size_t active_uploads() const { return uploads_.size(); }

private:
  // One CONTENT_REQ being served. Keyed by (peer, req_id): request ids are
  // chosen by downloaders, so two peers may use the same id.
  using upload_key = std::pair<peer_id, std::uint64_t>;
  struct upload {
    digest hash{};
    std::uint64_t next = 0;  // next offset to send
    std::uint64_t end = 0;   // one past the last byte this provider will send
    std::uint64_t sent = 0;  // bytes sent so far (reported in CONTENT_END)
    std::uint32_t chunk = 0; // bytes per chunk
    payment_ref ref{};
    file_info file;          // what the payment gate is told about (empty without a gate)
    bool superseded = false; // a newer request took over part of it: it ends without CONTENT_END
  };

  void on_meta(context&, peer_id from, const meta_req&, effects&);
  void on_content(context&, peer_id from, const content_req&, effects&);
  /// A newer request from `from` for the same file takes over the unsent bytes
  /// of older uploads it covers, so a re-request never makes them go out twice.
  std::size_t uploads_of(peer_id peer) const; // up to uploads_per_peer_max
  void supersede(peer_id from, const content_req&, effects&);
  /// Sends CONTENT_END unless the upload was superseded.
  void end_upload(peer_id to, std::uint64_t req_id, const upload&, effects&);
  void take_turn(context&, effects&);
  /// Sends the next chunk of `u`; false if the upload ended (done or failed).
  bool send_chunk(context&, const upload_key&, upload& u, effects&);
  void corrupt(context&, bytes& data);
  void schedule_turn(effects&);
  // Payment (provider_payment.cpp): only with cfg_.gate.
  /// Asks the gate whether the next chunk of `u` may go; false if it may not
  /// now (the upload was parked in held_, or ended with CONTENT_ERR).
  bool gate_allows(context&, const upload_key&, upload& u, bool& ended, effects&);
  void schedule_recheck(effects&);
  void recheck(context&, effects&);

  provider_config cfg_;
  std::map<upload_key, upload> uploads_;
  std::deque<upload_key> ready_;    // round-robin order of uploads_
  std::uint64_t turn_token_ = 0;    // token of the one pending turn timer, 0 if none
  std::uint64_t token_base_ = 0;    // from the rng at start, so pre-crash timers are stale
  std::deque<upload_key> held_;     // uploads waiting for payment (re-examined every recheck)
  std::uint64_t recheck_token_ = 0; // token of the pending recheck timer, 0 if none
  bytes buf_;                       // reused read buffer
};

} // namespace peerlab::filexfer
