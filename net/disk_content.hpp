#pragma once
// content_store of a live node on real folders. Provided files are hashed
// (streaming SHA-256) when the node starts and served by hash. Downloads are
// written into data_dir/downloads/.partial/<hex>.part with positional writes
// and, once verified by the downloader, moved to data_dir/downloads/<name>.
// Sink writes are queued to a background writer (bounded); read_sink and
// commit_sink wait for them, and a failed write fails the next call. Aligned
// pieces are written with O_DIRECT where the file system allows it: a large
// download then costs no page-cache CPU and leaves no gigabytes of dirty pages.
// Every error is logged and returned as failure; nothing here throws after
// construction except provide().
#include "net/sqlite_store.hpp" // store_error, log_fn
#include "net/write_behind.hpp"
#include "protocols/common/store.hpp"

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace peerlab::net {

struct provide_spec {
  std::filesystem::path path;
  std::string name; // empty: the file's base name
  std::uint64_t price = 0;
};

/// Size and modification time of a regular file, read with one stat();
/// nullopt if it is missing or not a regular file.
std::optional<file_stamp> stamp_of(const std::filesystem::path& file);

class disk_content final : public content_store {
public:
  /// Creates data_dir/downloads/.partial if needed and opens both folders
  /// without following symbolic links (a link there is refused). Throws store_error.
  explicit disk_content(std::filesystem::path data_dir, log_fn log = {});
  ~disk_content() override;
  disk_content(const disk_content&) = delete;
  disk_content& operator=(const disk_content&) = delete;

  /// Hashes the file and serves it under its hash. Throws store_error naming
  /// the file if it cannot be read.
  file_info provide(const provide_spec& spec);
  /// One stat() of the file at `path`.
  std::optional<file_stamp> stamp(std::string_view path) const override;
  /// Serves a file hashed elsewhere (the HTTP API hashes off the node's
  /// threads): `info.name` is sanitised like provide()'s. Refused if the file
  /// cannot be opened, is not a regular file or its opened descriptor no
  /// longer has the stamp it was hashed with.
  serve_result serve_hashed(std::string_view path, const file_info& info,
                            const file_stamp& hashed_as) override;
  /// Stops serving a file (provided or downloaded); false if it was not served.
  bool unprovide(const digest& hash) override;
  /// Every file served, in hash order; `downloaded` if it lies in downloads_dir().
  std::vector<served_file> served_files() const override;

  std::optional<file_info> stat(const digest& hash) const override;
  bool read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) override;

  std::uint64_t open_sink(const digest& hash, std::string_view name, std::uint64_t size) override;
  bool write(std::uint64_t sink, std::uint64_t offset, byte_view data) override;
  bool read_sink(std::uint64_t sink, std::uint64_t offset, std::size_t len, bytes& out) override;
  bool commit_sink(std::uint64_t sink) override;
  void discard_sink(std::uint64_t sink) override;
  /// Reopens downloads/.partial/<hex>.part if it is a regular file of `size` bytes.
  std::uint64_t resume_sink(const digest& hash, std::string_view name, std::uint64_t size) override;
  /// Waits until the sink's queued writes reached the file.
  bool flush_sink(std::uint64_t sink) override;

  const std::filesystem::path& downloads_dir() const { return downloads_; }
  /// Where the file with this hash was committed, if it was.
  std::optional<std::filesystem::path> committed_path(const digest& hash) const;

  /// A safe file name: base name only, no leading dots, only [A-Za-z0-9._+- ]
  /// (others become '_'), at most 200 bytes; the hash in hex if nothing is left.
  static std::string sanitise_name(std::string_view name, const digest& hash);
  /// Streaming SHA-256 of a file. Throws store_error.
  static digest hash_file(const std::filesystem::path& file, std::uint64_t* size = nullptr);

private:
  struct served {
    file_info info;
    std::filesystem::path path;
    int fd = -1;
  };
  struct sink {
    digest hash{};
    std::string name; // already sanitised
    std::uint64_t size = 0;
    std::filesystem::path part;
    int fd = -1;        // buffered: reads, unaligned writes
    int direct_fd = -1; // O_DIRECT for aligned writes; -1 where unsupported (tmpfs)
  };
  void close_sink(sink& s);       // waits for its queued writes
  std::uint64_t add_sink(sink s); // opens its O_DIRECT descriptor; under mu_

  void report(const std::string& msg) const;
  bool place(sink& s, std::filesystem::path& final_path); // link into downloads/, no overwrite
  void serve_locked(const file_info& info, const std::filesystem::path& path);

  std::filesystem::path data_dir_;
  std::filesystem::path downloads_;
  std::filesystem::path partial_;
  int downloads_fd_ = -1; // opened O_NOFOLLOW: every name below is relative to these
  int partial_fd_ = -1;
  log_fn log_;
  mutable std::mutex mu_;
  std::map<digest, served> served_;
  std::map<std::uint64_t, sink> sinks_;
  std::map<digest, std::filesystem::path> committed_;
  std::uint64_t next_sink_ = 1;
  write_behind writer_; // sink writes leave the role's thread (see write_behind.hpp)
};

} // namespace peerlab::net
