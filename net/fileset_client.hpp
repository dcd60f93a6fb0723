#pragma once
// The client library of the replicated file sets: it uploads a
// folder as a set, remembers (set id, size, Merkle root) in a local SQLite
// file, downloads a file from any node and verifies its inclusion proof
// against what it remembered — never against what the node says. A file
// that fails verification is an error and is never written out.
// The `peerlab set` subcommands (apps/peerlab/set_command.hpp) are a thin shell over this.
#include "protocols/common/sha256.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace peerlab::net::setclient {

/// What the client remembers about a set it uploaded.
struct stored_set {
  std::string id;
  std::uint64_t size = 0;
  digest root{};
  std::string node;             // where it was uploaded
  std::int64_t uploaded_at = 0; // unix seconds
};

/// The local SQLite file: table sets(set_id PRIMARY KEY, size, root, node, uploaded_at).
class set_db {
public:
  /// Opens or creates the file (and its folder). Throws std::runtime_error naming it.
  explicit set_db(const std::filesystem::path& file);
  ~set_db();
  set_db(const set_db&) = delete;
  set_db& operator=(const set_db&) = delete;

  std::optional<stored_set> get(const std::string& id) const;
  void put(const stored_set& s);
  std::vector<stored_set> list() const;

private:
  sqlite3* db_ = nullptr;
  std::string file_;
};

/// Default file: $PEERLAB_SET_DB, else $HOME/.peerlab/sets.db, else ./peerlab-sets.db.
std::filesystem::path default_db_path();

/// "http://127.0.0.1:8080" (IP literal hosts, http only; a trailing '/' is allowed).
struct node_url {
  std::string host;
  std::uint16_t port = 0;
  std::string token = {}; // sent as "Authorization: Bearer" when not empty
};
std::optional<node_url> parse_url(const std::string& text, std::string& error);

struct http_reply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers; // lower-case names
};

/// One HTTP/1.1 request; throws std::runtime_error on connection errors,
/// timeouts or a body larger than `max_body`.
http_reply http_request(const node_url& url, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type,
                        std::size_t max_body, time_us timeout);

/// A downloaded file with the proof the node sent.
struct download {
  bytes content;
  std::uint64_t index = 0;
  std::optional<std::uint64_t> tree_size; // as the node claims it (absent in the seed's bare API)
  std::vector<digest> proof;
};

/// Parses the JSON answer of GET /api/sets/{id}/files/{index}; nullopt and
/// `error` if it is not shaped as documented.
std::optional<download> parse_json_download(const std::string& body, std::string& error);
/// Parses the answer of GET /api/sets/{id}/raw/{index} (body + X-Proof headers).
std::optional<download> parse_raw_download(const http_reply& reply, std::string& error);

/// The client's check. Empty if `d` is the file at `index` of the set the
/// client stored; else why not: index out of range, the node answered
/// another index, the node's tree size differs from the stored size, the
/// proof has the wrong length, or the root does not match.
std::string verify_download(const download& d, std::uint64_t index, const stored_set& set);

/// Writes `content` to `out` through a temporary file in the same folder,
/// renamed into place (so a half-written file is never visible).
void write_file_atomically(const std::filesystem::path& out, const bytes& content);

} // namespace peerlab::net::setclient
