#pragma once
// Client side of filexfer. One "download" command runs a sequence of
// attempts against a list of providers: META_REQ, then pipelined CONTENT_REQ
// windows. Chunks go into a content_store sink; the in-order prefix is hashed
// as it grows, and the sink is committed only if the whole file hashes to the
// requested SHA-256. Policy and parameters: docs/protocols/filexfer.md.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/filexfer/range_set.hpp"

#include <map>
#include <string>
#include <vector>

namespace peerlab::filexfer {

class downloader final : public role {
public:
  explicit downloader(downloader_config cfg);

  port_t port() const override { return ports::file_downloader; }
  const char* name() const override { return "downloader"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  const char* message_name(std::uint8_t t) const override { return filexfer::message_name(t); }

  std::size_t active_downloads() const { return downloads_.size(); }
  /// The configuration after clamping to the protocol bounds.
  const downloader_config& config() const { return cfg_; }

private:
  struct window {
    std::uint64_t begin = 0, end = 0; // requested bytes [begin, end)
  };

  struct download {
    std::uint64_t key = 0; // local id; high bits of timer tokens
    std::uint64_t command_id = 0;
    digest hash{};
    std::vector<peer_id> providers;
    std::size_t provider_index = 0;
    std::size_t idle_tries = 0; // consecutive attempts on this provider without progress
    std::size_t attempts = 0;   // all attempts so far (low bits of timer tokens)
    std::size_t corrupt_found = 0;
    time_us started = 0;
    time_us last_progress = 0;
    bool progressed = false; // the current attempt received new content bytes
    std::string last_error;

    // State of the current provider; cleared when moving to the next one.
    std::uint64_t meta_req_id = 0; // 0 once metadata arrived
    bool have_meta = false;
    std::string name;
    std::uint64_t size = 0;
    std::uint64_t sink = 0;
    range_set received;
    std::uint64_t cursor = 0;                // windows start at or after this
    std::map<std::uint64_t, window> windows; // in flight, by req_id
    sha256 hasher;
    std::uint64_t hashed = 0; // bytes [0, hashed) went into hasher
    payment_ref ref{};

    peer_id provider() const { return providers[provider_index]; }
  };

  using dl_iter = std::map<std::uint64_t, download>::iterator;

  void start_download(context&, const peerlab::command&, effects&);
  void begin_attempt(context&, dl_iter, effects&);
  void next_provider(context&, dl_iter, std::string reason, effects&);
  void fill_windows(dl_iter, effects&);
  void forget_provider_state(context&, download&);
  void fail(context&, dl_iter, const std::string& reason, effects&);
  void finish(context&, dl_iter, effects&);
  bool advance_hash(context&, download&);

  void on_meta_ok(context&, dl_iter, const meta_ok&, effects&);
  void on_chunk(context&, dl_iter, const content_chunk&, effects&);
  void on_end(context&, dl_iter, const content_end&, effects&);
  void progress(context&, download&);

  /// The download a reply belongs to, if it is current and from the right peer.
  dl_iter route(peer_id from, std::uint64_t req_id, effects&);
  std::uint64_t new_req_id(download&);
  std::uint64_t token(const download& d) const;

  downloader_config cfg_;
  std::map<std::uint64_t, download> downloads_; // by key
  std::map<std::uint64_t, std::uint64_t> routes_; // req_id -> download key
  std::uint64_t next_req_id_ = 1;
  std::uint64_t next_key_ = 1;
};

} // namespace peerlab::filexfer
