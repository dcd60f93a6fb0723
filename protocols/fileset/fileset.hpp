#pragma once
// Replicated file sets: uploaded files
// spread through a gossipsub topic, every node stores them per set in its
// kv_store, keeps an RFC 6962 Merkle tree per completed set and serves any
// file with an inclusion proof; late joiners and nodes that missed messages
// back-sync completed sets from peers, checking every file against the set's
// root before storing or serving it.
//
// The role OWNS a gossipsub role, so gossip validation and delivery run in
// the same actor as the file store. Both run on ports::fileset: frame byte 1
// in 1..6 is a gossipsub frame (passed to the inner gossip role with byte 0
// rewritten), 0x20..0x25 are back-sync frames (codec.hpp). A node may still
// run a plain gossip role on ports::gossip beside it.
//
// Wire format, REST mapping, back-sync and policies: docs/protocols/fileset.md.
#include "protocols/fileset/commands.hpp"
#include "protocols/common/role.hpp"
#include "protocols/fileset/codec.hpp"
#include "protocols/gossip/gossip.hpp"
#include "protocols/merkle/merkle.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace peerlab {
struct module;
namespace ports {
constexpr port_t fileset = 7; // file-set back-sync
} // namespace ports
} // namespace peerlab

namespace peerlab::fileset {

/// Misbehaviours for the simulator and tests (known_adversaries()).
enum class strategy {
  honest,
  corrupt_content, // serves files with a flipped byte (REST/get and back-sync)
  corrupt_proof,   // serves wrong inclusion proofs and manifests with a wrong leaf
  drop_gossip,     // never forwards gossip messages (publishes its own)
  flood_invalid,   // publishes malformed/contradictory file messages
};

std::optional<strategy> strategy_from_name(const std::string& name);

struct config {
  gossip::config gossip;              // its topics get `topic` added
  std::string topic = "file-set";     // the Go original's topic name
  std::size_t inline_max = 64u << 10; // larger files are announced and fetched
  std::uint64_t max_file_bytes = 16ull << 20;
  std::uint32_t chunk_bytes = 256u << 10; // per FETCH
  std::size_t max_fetches = 8;            // files fetched at once
  time_us tick = 250 * us_per_ms;         // request timeouts and fetch pump
  time_us request_timeout = 5 * us_per_s;
  time_us retry_delay = us_per_s; // before asking the same candidates again
  std::size_t fetch_rounds = 5;   // rounds over the candidates before giving up
  time_us sync_initial_delay = us_per_s;
  time_us sync_interval = 10 * us_per_s;
  std::size_t sync_peers = 2;               // peers asked for their set list per round
  std::size_t manifest_quorum = 2;          // distinct peers that must list the same (count, root)
  time_us flood_interval = 200 * us_per_ms; // flood_invalid adversary
  strategy adversary = strategy::honest;

  /// Empty if usable, else what is wrong.
  std::string check() const;
};

/// HTTP-like status carried in command_failed (field "status") so the REST
/// layer can map errors without parsing text.
namespace status {
constexpr const char* bad_request = "400";
constexpr const char* not_found = "404";
constexpr const char* conflict = "409";
constexpr const char* too_large = "413";
constexpr const char* full = "507";
} // namespace status

class fileset_role : public role {
public:
  explicit fileset_role(config cfg);

  port_t port() const override { return ports::fileset; }
  const char* name() const override { return "fileset"; }
  void start(context& ctx, effects& fx) override;
  void frame(context& ctx, peer_id from, byte_view data, effects& fx) override;
  void timer(context& ctx, std::uint64_t token, effects& fx) override;
  /// Verbs (docs/protocols/fileset.md "Commands"):
  ///   put SET INDEX COUNT HEX   -> fileset_put {set, hash, stored=new|unchanged}
  ///   get SET INDEX             -> fileset_file {set, content(hex), proof, root}
  ///   status SET                -> fileset_status
  ///   connect PEER...           -> command_done (gossip peers, back-sync asked)
  ///   sync                      -> command_done (a back-sync round now)
  /// Errors: command_failed {verb, reason, status}.
  void command(context& ctx, const peerlab::command& cmd, effects& fx) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override {
    return typed_command_of(id, fileset::parse_command(verb, args, cfg_.max_file_bytes, err));
  }
  void stop(context& ctx, effects& fx) override;
  const char* message_name(std::uint8_t type) const override;
  std::vector<const table_schema*> tables() const override;

  // Inspection for tests.
  const gossip::gossip_role& gossip() const { return *gossip_; }
  bool complete(const std::string& set) const;
  std::optional<digest> root(const std::string& set) const;
  std::size_t stored(const std::string& set) const;
  std::size_t fetches_active() const { return active_fetches_; }

private:
  struct set_state {
    std::uint32_t count = 0;
    std::map<std::uint32_t, digest> leaves; // stored files (cleared once complete)
    bool complete = false;
    digest root{};
    merkle::tree tree; // built on completion from the leaves in index order
  };
  /// A file to fetch over back-sync: announced by gossip or listed in a manifest.
  struct wanted {
    digest leaf{};
    std::uint32_t count = 0;
    std::uint64_t size = 0; // 0 = unknown (manifest), else the announced size
    std::vector<peer_id> candidates;
    std::size_t next = 0;   // next candidate to ask
    std::size_t rounds = 0; // full passes over the candidates
    time_us not_before = 0;
    std::uint32_t active_req = 0; // 0 = idle
    peer_id asked = 0;
    bytes buffer;
  };
  struct pending_request {
    sync_type kind;
    peer_id peer = 0;
    std::string set;
    std::uint32_t index = 0;
    time_us deadline = 0;
  };
  /// Back-sync of one set: votes from LIST answers, then one manifest.
  struct sync_state {
    std::map<std::pair<std::uint32_t, digest>, std::set<peer_id>> votes;
    std::set<peer_id> refused; // sent a bad manifest
    std::uint32_t manifest_req = 0;
    bool adopted = false;
    std::uint32_t count = 0;
    digest root{};
    std::vector<peer_id> holders;
  };
  using file_key = std::pair<std::string, std::uint32_t>;

  // lifecycle and storage (store.cpp)
  void load(context& ctx, effects& fx);
  enum class put_result { stored, unchanged, conflict_index, conflict_count, sets_full };
  put_result store_file(context& ctx, const std::string& set, std::uint32_t count,
                        std::uint32_t index, byte_view content, const digest& leaf, const char* via,
                        effects& fx);
  void finish_set(context& ctx, const std::string& set, set_state& s, bool restored, effects& fx);
  void erase_file(context& ctx, const std::string& set, std::uint32_t index);
  std::optional<std::string> read_file(context& ctx, const std::string& set,
                                       std::uint32_t index) const;
  bool has_leaf(const set_state& s, std::uint32_t index, digest* leaf) const;

  // gossip glue (fileset.cpp)
  gossip::validation validate(const std::string& topic, byte_view data, peer_id from);
  void on_delivery(const gossip::delivery& d);
  template <class F>
  void with_gossip(context& ctx, effects& fx, bool forwarding, F&& f);
  void publish_file(context& ctx, const std::string& set, std::uint32_t count, std::uint32_t index,
                    byte_view content, const digest& leaf, effects& fx);
  void flood_invalid(context& ctx, effects& fx);

  // commands (commands.cpp)
  void cmd_put(context&, const peerlab::command&, const put_file&, effects&);
  void cmd_get(context&, const peerlab::command&, const get_file&, effects&);
  void cmd_status(context&, const peerlab::command&, const set_status&, effects&);
  void cmd_peers(context&, const peerlab::command&, const std::vector<peer_id>& peers, bool connect,
                 effects&);

  // back-sync (sync.cpp)
  void sync_round(context& ctx, effects& fx);
  void ask_list(context& ctx, peer_id p, const std::string& after, effects& fx);
  void on_sync_frame(context& ctx, peer_id from, sync_frame& f, effects& fx);
  void on_list_req(context&, peer_id, const list_req&, effects&);
  void on_list_resp(context&, peer_id, const list_resp&, const pending_request&, effects&);
  void on_manifest_req(context&, peer_id, const manifest_req&, effects&);
  void on_manifest_resp(context&, peer_id, manifest_resp&, effects&);
  void on_fetch_req(context&, peer_id, const fetch_req&, effects&);
  void on_fetch_resp(context&, peer_id, fetch_resp&, const pending_request&, effects&);
  void maybe_ask_manifest(context& ctx, const std::string& set, effects& fx);
  void want_file(context& ctx, const std::string& set, std::uint32_t index, std::uint32_t count,
                 const digest& leaf, std::uint64_t size, std::vector<peer_id> candidates,
                 effects& fx);
  void pump_fetches(context& ctx, effects& fx);
  void request_chunk(context& ctx, const file_key& key, wanted& w, effects& fx);
  void fetch_failed(context& ctx, const file_key& key, wanted& w, bool bad_peer, effects& fx);
  void expire_requests(context& ctx, effects& fx);
  std::uint32_t new_request(context& ctx, sync_type kind, peer_id p, const std::string& set,
                            std::uint32_t index);
  void mark_bad(peer_id p, effects& fx);
  bool is_bad(peer_id p) const { return bad_peers_.count(p) != 0; }
  std::vector<peer_id> good_peers() const;

  config cfg_;
  std::shared_ptr<gossip::gossip_role> gossip_;
  std::uint64_t epoch_ = 0;
  std::map<std::string, set_state> sets_;
  std::map<file_key, wanted> wanted_;
  std::size_t active_fetches_ = 0;
  std::map<std::uint32_t, pending_request> requests_;
  std::uint32_t next_req_ = 1;
  std::map<std::string, sync_state> syncing_;
  std::set<peer_id> bad_peers_;
  std::uint64_t flood_counter_ = 0;
  // Set while the inner gossip role runs, for its callbacks.
  context* cur_ctx_ = nullptr;
  effects* cur_fx_ = nullptr;
  bool bypass_validation_ = false; // flood_invalid publishing its own garbage
};

std::shared_ptr<fileset_role> make_fileset(const config& cfg);

/// Proof hashes as carried in the get reply field "proof": 64-hex-digit
/// hashes joined by ',' (empty for a one-file set).
std::string join_proof(const std::vector<digest>& path);
std::optional<std::vector<digest>> split_proof(std::string_view text);

/// The module descriptor (protocols/common/module.hpp) of this protocol.
const peerlab::module& module();

} // namespace peerlab::fileset
