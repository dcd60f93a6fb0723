#pragma once
// Storage a role may use. Both survive a crash of the node: only the role's
// in-memory state is lost.
#include "protocols/common/sha256.hpp"
#include "protocols/common/table.hpp"
#include "protocols/common/types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab {

/// A node's rows: typed tables (table_store), plus the generic string
/// rows(tbl, key, value) that roles not yet moved to typed tables still use.
/// The simulator keeps them in memory per node; a live node in its SQLite file.
class kv_store : public table_store {
public:
  using table_store::erase;
  using table_store::get;
  using table_store::put;
  using table_store::scan;
  virtual void put(std::string_view table, std::string_view key, std::string_view value) = 0;
  virtual std::optional<std::string> get(std::string_view table, std::string_view key) const = 0;
  virtual void erase(std::string_view table, std::string_view key) = 0;
  /// Visits rows in key order.
  virtual void
  scan(std::string_view table,
       const std::function<void(std::string_view key, std::string_view value)>&) const = 0;
};

/// What a provider knows about a file it offers.
struct file_info {
  digest hash{};
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t price = 0;
};

/// Size and modification time (ns) of a file at a path: a file whose stamp
/// is unchanged is taken to hold the bytes it was hashed with.
struct file_stamp {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const file_stamp&) const = default;
};

/// A file the node serves, as the account role lists it.
struct served_file {
  file_info info;
  std::string path;        // where it lives; empty for files without one (simulator)
  bool downloaded = false; // a download committed it; otherwise a config, API or scenario
};

/// What serve_hashed did: the file as served (its name made safe), or why not.
struct serve_result {
  file_info info;
  std::string error; // empty: served
  bool ok() const { return error.empty(); }
};

/// File bytes. Providers read from it; downloaders write into a sink and
/// commit only after verifying the hash.
class content_store {
public:
  virtual ~content_store() = default;
  virtual std::optional<file_info> stat(const digest& hash) const = 0;
  /// Reads up to `len` bytes at `offset`. Returns false on I/O error.
  virtual bool read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) = 0;

  /// Starts receiving a file; returns a handle (0 on failure).
  virtual std::uint64_t open_sink(const digest& hash, std::string_view name,
                                  std::uint64_t size) = 0;
  virtual bool write(std::uint64_t sink, std::uint64_t offset, byte_view data) = 0;
  /// Reads back bytes already written (to hash data that arrived out of order).
  virtual bool read_sink(std::uint64_t sink, std::uint64_t offset, std::size_t len, bytes& out) = 0;
  /// Makes a verified file visible (live: rename into the download folder).
  virtual bool commit_sink(std::uint64_t sink) = 0;
  /// Throws away a sink (failed or corrupt download).
  virtual void discard_sink(std::uint64_t sink) = 0;
  /// Reopens the partial file a sink of this hash and size left behind (the
  /// node crashed or stopped before committing it), keeping its bytes; 0 if
  /// there is none. The caller must verify those bytes before trusting them.
  virtual std::uint64_t resume_sink(const digest& hash, std::string_view name, std::uint64_t size) {
    (void)hash;
    (void)name;
    (void)size;
    return 0;
  }
  /// Makes every write to the sink so far reach the file (a crash of the
  /// process after this loses none of them). False on a write error.
  virtual bool flush_sink(std::uint64_t sink) {
    (void)sink;
    return true;
  }

  // Serving files by path (the account role). The defaults describe a store
  // that has no files at paths: nothing to stamp, nothing served by path.

  /// The stamp of the regular file at `path`; nullopt if there is none.
  virtual std::optional<file_stamp> stamp(std::string_view path) const {
    (void)path;
    return std::nullopt;
  }
  /// Serves the file at `path` under `info.hash`, which was computed
  /// elsewhere, if its stamp still equals `hashed_as`; otherwise says why not.
  virtual serve_result serve_hashed(std::string_view path, const file_info& info,
                                    const file_stamp& hashed_as) {
    (void)info;
    (void)hashed_as;
    return {{}, "this node keeps no files at paths (" + std::string(path.substr(0, 80)) + ")"};
  }
  /// Stops serving a file; false if it was not served.
  virtual bool unprovide(const digest& hash) {
    (void)hash;
    return false;
  }
  /// Every file served, in hash order.
  virtual std::vector<served_file> served_files() const { return {}; }
};

} // namespace peerlab
