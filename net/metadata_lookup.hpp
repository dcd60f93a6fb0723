#pragma once
// Metadata lookups for the local HTTP API: which of these peers provide a
// file, under what name, size and price. A provider answers META_REQ on the
// downloader's port (filexfer replies always go to ports::file_downloader),
// so this role takes that port and wraps the node's downloader, if it runs
// one: everything that is not a lookup goes to the downloader unchanged.
//
//   lookup HASH PEER...   META_REQ to each peer (at most max_peers); ends when
//                         every peer answered or after `timeout`:
//   -> lookup_done {hash, found (JSON [{peer, name, size, price}]),
//                   failed (JSON [{peer, error}])}; values asked, answered, found
// Bad arguments are refused when the command is parsed; other commands go to
// the downloader (command_failed if there is none).
#include "protocols/common/role.hpp"
#include "protocols/filexfer/codec.hpp"
#include "protocols/filexfer/commands.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace peerlab::net {

struct metadata_lookup_config {
  time_us timeout = 2 * us_per_s;
  std::size_t max_lookups = 64; // running at once
  std::size_t max_peers = 64;   // asked per lookup
};

class metadata_lookup final : public role {
public:
  /// `inner` is the node's downloader role (its port must be
  /// ports::file_downloader), or null.
  metadata_lookup(metadata_lookup_config cfg, std::shared_ptr<role> inner);

  port_t port() const override { return ports::file_downloader; }
  const char* name() const override { return inner_ ? inner_->name() : "metadata_lookup"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override;
  void stop(context&, effects&) override;
  const char* message_name(std::uint8_t t) const override { return filexfer::message_name(t); }

  std::size_t running() const { return lookups_.size(); }

private:
  struct answer {
    peer_id peer = 0;
    bool ok = false;
    filexfer::meta_ok meta;
    std::string error;
  };
  struct lookup {
    std::uint64_t command_id = 0;
    digest hash{};
    std::vector<peer_id> asked;
    std::map<peer_id, answer> answers;
    std::uint64_t token = 0;
  };

  /// True if the frame answered one of our lookups (it is then consumed).
  bool take_reply(peer_id from, byte_view data, effects&);
  void finish(std::uint64_t token, effects&);

  metadata_lookup_config cfg_;
  std::shared_ptr<role> inner_;
  std::map<std::uint64_t, lookup> lookups_;                            // by timer token
  std::map<std::pair<peer_id, std::uint64_t>, std::uint64_t> pending_; // (peer, req_id) -> token
  std::uint64_t next_id_ = 1; // request ids and timer tokens, from the rng at start
};

/// Wraps the downloader in `roles` (or adds a lookup-only role if there is none).
void install_metadata_lookup(std::vector<std::shared_ptr<role>>& roles, metadata_lookup_config cfg);

} // namespace peerlab::net
