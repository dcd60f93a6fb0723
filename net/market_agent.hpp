#pragma once
// The role behind the local HTTP API of a live node (port ports::api). The
// API (net/market_api.hpp) never touches the node's rows or served files
// itself: every request becomes a command to this role (or to the
// downloader, kad or ledger role) through the actor system, and the answer
// comes back as an event with the command's id. Running as a role, it reads
// and writes rows on the node's one CAF worker, in turn with the other roles.
//
// Verbs (failures: command_failed with values.code, an HTTP status, and fields.reason):
//   provide PATH NAME PRICE HASH SIZE MTIME_NS
//                                      serve a file the API hashed (refused if its size or
//                                      mtime changed since); row ProvidedPaths[HASH]
//                                      -> api_provided {hash, name, path; size, price}
//   unprovide HASH                     -> api_unprovided {hash}, or command_failed 404
//   provided | downloads | payments    -> api_list {table, json (array); count, total}
//   balance [ACCOUNT]                  BALANCE_REQ to the ledger (reply to this port)
//                                      -> api_balance {account; balance, pending_out, tip}
//                                         or command_failed 504 after ledger_timeout
// At start, files in ProvidedPaths are served again if their size and
// modification time did not change (event api_provide_restored), otherwise
// dropped (api_provide_dropped): a changed file would need hashing again.
#include "net/disk_content.hpp"
#include "protocols/common/role.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace peerlab::net {

/// The agent's commands, as types; the market API sends their text forms,
/// which agent::parse_command turns into these.
namespace agent {
/// Serves a file the API hashed, unless its size or mtime changed since.
struct provide_path {
  static constexpr std::string_view verb = "provide";
  std::string path, name;
  std::uint64_t price = 0;
  digest hash{};
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  void describe(std::string& out) const;
};
struct unprovide_file {
  static constexpr std::string_view verb = "unprovide";
  digest hash{};
  void describe(std::string& out) const;
};
/// Rows of one table: verb "provided", "downloads" or "payments".
struct list_rows {
  std::string verb;
  void describe(std::string&) const {}
};
/// The balance of `account` (0: this node) at the ledger.
struct balance_of {
  static constexpr std::string_view verb = "balance";
  peer_id account = 0;
  void describe(std::string& out) const { describe_arg(out, account); }
};
using command = std::variant<provide_path, unprovide_file, list_rows, balance_of>;
std::optional<command> parse_command(std::string_view verb, const std::vector<std::string>& args,
                                     command_error& err);
} // namespace agent

struct market_agent_config {
  peer_id ledger = 0;         // 0: no ledger known
  std::string ledger_address; // learned by the transport at start if set
  time_us ledger_timeout = 5 * us_per_s;
  std::size_t max_list = 1000; // rows per api_list
  std::size_t max_balance_asks = 256;
};

/// ProvidedPaths(hash BLOB[32], path TEXT, name TEXT, price, size, mtime_ns):
/// the files provided through the API, served again after a restart.
const table_schema& provided_paths_table();

/// Size and modification time (ns) of a regular file, read with one stat();
/// nullopt if it is missing or not a regular file.
struct file_stamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const file_stamp&) const = default;
};
std::optional<file_stamp> stamp_of(const std::filesystem::path& file);

class market_agent final : public role {
public:
  /// `files` is the node's content store; it must outlive the role.
  market_agent(market_agent_config cfg, disk_content& files);

  port_t port() const override { return ports::api; }
  const char* name() const override { return "market_agent"; }
  void start(context&, effects&) override;
  void frame(context&, peer_id from, byte_view data, effects&) override;
  void timer(context&, std::uint64_t token, effects&) override;
  void command(context&, const peerlab::command&, effects&) override;
  std::optional<peerlab::command> parse_command(std::uint64_t id, std::string_view verb,
                                                const std::vector<std::string>& args,
                                                command_error& err) const override;
  const char* message_name(std::uint8_t t) const override;
  std::vector<const table_schema*> tables() const override;

private:
  void provide(context&, const peerlab::command&, const agent::provide_path&, effects&);
  void unprovide(context&, const peerlab::command&, const agent::unprovide_file&, effects&);
  void list(context&, const peerlab::command&, const agent::list_rows&, effects&);
  void balance(context&, const peerlab::command&, const agent::balance_of&, effects&);
  void restore(context&, effects&);

  market_agent_config cfg_;
  disk_content& files_;
  std::map<std::uint64_t, std::uint64_t> balance_asks_; // ledger req_id -> command id
  std::uint64_t next_req_ = 1;                          // from the rng at start
};

} // namespace peerlab::net
