#pragma once
// Client side of filexfer. One "download" command runs a sequence of
// attempts against a list of providers: META_REQ, then pipelined CONTENT_REQ
// windows. Chunks go into a content_store sink; the in-order prefix is hashed
// as it grows, and the sink is committed only if the whole file hashes to the
// requested SHA-256. Policy and parameters: docs/protocols/filexfer.md.
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/commands.hpp"
#include "protocols/filexfer/filexfer.hpp"
#include "protocols/filexfer/range_set.hpp"

#include <map>
#include <set>
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
  /// A purchase report the node could not take (no payer role): stop reporting.
  void reply(context&, port_t from, const event&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, filexfer::parse_command(verb, args, err));
  }
  const char* message_name(std::uint8_t t) const override { return filexfer::message_name(t); }
  std::vector<const table_schema*> tables() const override;

  std::size_t active_downloads() const { return downloads_.size(); }
  /// Content requests open over all downloads (each bounded by bounds::open_windows_max).
  std::size_t open_windows() const;
  /// The configuration after clamping to the protocol bounds.
  const downloader_config& config() const { return cfg_; }
  std::size_t running_lookups() const { return lookups_.size(); }
  /// Sets the lookup bounds before start (the live API applies its own).
  void set_lookup_limits(time_us timeout, std::size_t max_peers);

private:
  // Timer tokens: download key << timer_bits | the download's timer generation.
  static constexpr std::uint64_t key_bits = 40;
  static constexpr std::uint64_t timer_bits = 24;
  static constexpr std::uint64_t key_mask = (1ull << key_bits) - 1;
  static constexpr std::uint64_t timer_mask = (1ull << timer_bits) - 1;

  // One CONTENT_REQ. Windows of one download may overlap: a re-request of a
  // lost range lies inside the window that lost it.
  struct window {
    std::uint64_t begin = 0, end = 0; // requested bytes [begin, end)
    std::uint64_t high = 0;           // end of the furthest chunk received (gap detection)
    std::uint64_t delegated = 0;      // holes below this were re-requested by newer windows
    time_us sent_at = 0;
    // Order of events, counted in chunk arrivals of the download (virtual
    // time may not advance between them): arrivals before it was sent, and
    // the count when its own latest chunk arrived (0: none yet).
    std::uint64_t sent_mark = 0, arrival_mark = 0;
    std::uint32_t arrivals = 0; // chunks that arrived for it
    std::uint64_t seq = 0;      // send order within the download
    std::uint32_t chunk = 0;
    std::uint8_t generation = 0; // fast re-requests between the original window and this one
    bool counts = true;          // takes one of windows_in_flight slots until it ends
    bool sampled = false;        // its first chunk gave an RTT sample
    bool overtook = false;       // checked older windows for stalls
    bool ended = false; // CONTENT_END arrived, or a timeout superseded it: only late chunks remain
  };

  struct download {
    std::uint64_t key = 0; // local id; high bits of timer tokens
    std::uint64_t command_id = 0;
    digest hash{};
    std::uint64_t id = 0; // names the download in purchase reports (unique on this node)
    std::uint64_t max_price = no_max_price;
    std::vector<peer_id> providers;
    std::size_t provider_index = 0;
    std::size_t idle_tries = 0; // consecutive attempts on this provider without progress
    std::size_t attempts = 0;   // all attempts so far
    std::size_t corrupt_found = 0;
    time_us started = 0;
    time_us last_progress = 0; // the idle clock: content, metadata or a new attempt
    time_us last_heard = 0;    // latest content or metadata from the provider
    bool progressed = false;   // the current attempt received new content bytes
    std::string last_error;

    // The one live timer: its generation (low bits of the token) and when it fires.
    std::uint64_t timer_gen = 0;
    time_us timer_due = 0;
    bool timer_armed = false;

    // State of the current provider; cleared when moving to the next one.
    std::uint64_t meta_req_id = 0; // 0 once metadata arrived
    time_us meta_sent_at = 0;
    bool have_meta = false;
    std::string name;
    std::uint64_t size = 0;
    std::uint64_t price = 0; // from META_OK, for the download history
    std::uint64_t sink = 0;
    range_set received;
    std::uint64_t cursor = 0;                // new windows start at or after this
    std::uint64_t next_seq = 0;              // seq of the next window
    std::uint64_t arrivals = 0;              // chunks arrived (window marks count these)
    std::map<std::uint64_t, window> windows; // open, by req_id
    sha256 hasher;
    std::uint64_t hashed = 0; // bytes [0, hashed) went into hasher
    payment_ref ref{};
    // Crash recovery (downloader_resume.cpp).
    std::uint64_t checkpointed = 0; // verified prefix last written to PartialDownloads
    bool verifying = false;         // re-hashing a resumed partial before trusting it
    std::uint64_t verify_target = 0;
    digest checkpoint_digest{}; // of [0, checkpointed), or of [0, verify_target) while verifying
    // The verified prefix a restart kept, not yet reported to this
    // incarnation's payer (which only counts bytes reported to it).
    std::uint64_t resumed_unreported = 0;
    bool waiting = false;   // every provider failed: waiting to try them again
    std::size_t rounds = 0; // retry rounds so far
    // Providers that refused outright (not a provider of the file, a price
    // above max_price, a size past the limit): retry rounds skip them, unlike
    // providers that only fell silent or were unreachable.
    std::set<peer_id> refused;
    time_us retry_delay = 0; // the next wait (doubles up to retry_max)
    // Round-trip estimate of this provider (RFC 6298 smoothing) and timeout backoff.
    time_us srtt = 0, rttvar = 0;
    bool has_rtt = false;
    unsigned backoff = 0;      // timeouts in a row without new content (doubles the timeout)
    time_us timed_out_at = -1; // when the latest timeout fired; -1 once judged (or none)

    peer_id provider() const { return providers[provider_index]; }
  };

  using dl_iter = std::map<std::uint64_t, download>::iterator;

  void start_download(context&, const peerlab::command&, const download_file&, effects&);
  void begin_attempt(context&, dl_iter, effects&);
  void next_provider(context&, dl_iter, std::string reason, effects&, bool keep_content = false);
  void fill_windows(context&, download&, effects&);
  /// Sends one CONTENT_REQ for [b, e) and opens its window.
  void open_window(context&, download&, std::uint64_t b, std::uint64_t e, std::uint8_t generation,
                   bool counts, effects&);
  /// Re-requests the holes of [b, e) (at most max_ranges_per_rerequest requests;
  /// the last one spans every hole left). Returns how far holes were handed over:
  /// e, or less when the download has no room for more windows.
  std::uint64_t rerequest_holes(context&, download&, std::uint64_t b, std::uint64_t e,
                                std::uint8_t generation, bool counts, effects&);
  /// After a timeout: asks again for the oldest window still streaming and for
  /// holes whose fast re-requests ran out.
  void rerequest_after_timeout(context&, download&, effects&);
  void detect_gap(context&, download&, window&, effects&);
  void detect_stalled(context&, download&, window&, effects&);
  /// A chunk requested before the last timeout arrived: that timeout was spurious.
  void on_late_chunk(download&, time_us gap, effects&);
  void retire_covered(download&);
  void forget_provider_state(context&, download&, bool keep_content = false);
  void fail(context&, dl_iter, const std::string& reason, effects&);
  /// Every provider failed (or max_attempts ran out): wait and try them all
  /// again while the retry deadline allows, else fail.
  void retry_or_fail(context&, dl_iter, const std::string& reason, effects&);
  void retry_round(context&, dl_iter, effects&);
  /// The first provider index from `from` on that did not refuse (providers.size() if none).
  static std::size_t next_unrefused(const download&, std::size_t from);
  /// A download command for a file resumed at start: the command takes the
  /// download over (its events carry the command's id from now on).
  void attach(context&, const peerlab::command&, dl_iter, const std::vector<peer_id>& providers,
              effects&);

  // Crash recovery (downloader_resume.cpp).
  /// Writes the download's PartialDownloads row (what a restart resumes from).
  void save_partial(context&, const download&);
  void erase_partial(context&, const download&);
  /// Writes a checkpoint once the hashed prefix grew by checkpoint_bytes.
  void maybe_checkpoint(context&, download&);
  /// Restarts every download of the PartialDownloads table.
  void resume_all(context&, effects&);
  void resume_one(context&, const row&, effects&);
  /// Re-hashes the next step of a resumed partial; trusts it only if the
  /// prefix hashes to the digest written with it.
  void verify_step(context&, dl_iter, effects&);
  /// Drops a resumed partial (its bytes are not trusted): the download starts from zero.
  void forget_verified(context&, download&);
  /// Arms the download's one timer for exactly `delay` (verification, retry wait).
  void arm_fixed(download&, time_us delay, effects&);
  void finish(context&, dl_iter, effects&);
  /// Answers a download of a file the node already downloaded and still holds.
  void report_had(const peerlab::command&, const row& had, effects&);
  /// Writes the DownloadFiles row of a verified file.
  void record_history(context&, const download&, time_us took);
  bool advance_hash(context&, download&);

  void on_meta_ok(context&, dl_iter, const meta_ok&, effects&);
  void on_chunk(context&, dl_iter, const content_chunk&, effects&);
  void on_end(context&, dl_iter, const content_end&, effects&);
  void progress(context&, download&);
  /// Tells the payer about a paid download: the order (length 0) or bytes that arrived.
  void report_purchase(const download&, std::uint64_t offset, std::uint64_t length, effects&);
  void sample_rtt(download&, time_us rtt);
  /// Current timeout: RTT-based, backed off, capped by request_timeout.
  time_us timeout(const download&) const;
  /// Makes sure a timer fires no later than last_progress + timeout().
  void arm_timer(context&, download&, effects&);

  /// The download a reply belongs to, if it is current and from the right peer.
  dl_iter route(peer_id from, std::uint64_t req_id, effects&);
  std::uint64_t new_req_id(download&);
  std::uint64_t token(const download& d) const;

  // Metadata lookups (downloader_lookup.cpp). A lookup's timer token is its
  // id, below 2^24: download tokens carry a key >= 1 above their low 24 bits.
  struct lookup {
    std::uint64_t command_id = 0;
    digest hash{};
    std::vector<peer_id> asked;
    std::map<peer_id, bool> answered; // peer -> it had the file
  };
  void start_lookup(context&, const peerlab::command&, const lookup_metadata&, effects&);
  /// True if the frame answered a lookup (it is then consumed).
  bool lookup_reply(peer_id from, const message& msg, effects&);
  void lookup_timer(std::uint64_t token, effects&);
  void finish_lookup(std::uint64_t id, effects&);

  downloader_config cfg_;
  std::map<std::uint64_t, lookup> lookups_;                         // by id (= timer token)
  std::map<std::pair<peer_id, std::uint64_t>, std::uint64_t> asks_; // (peer, req_id) -> lookup
  std::uint64_t next_lookup_ = 1;
  std::map<std::uint64_t, download> downloads_;   // by key
  std::map<std::uint64_t, std::uint64_t> routes_; // req_id -> download key
  std::uint64_t next_req_id_ = 1;
  std::uint64_t next_key_ = 1;
  std::uint64_t next_report_ = 1; // sequence of purchase report ids
  bool no_payer_ = false;         // the node runs no payer: paid downloads are not reported
};

} // namespace peerlab::filexfer
