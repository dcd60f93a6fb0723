#pragma once
// File bytes in the simulator. Files are synthetic: their bytes are a pure
// function of (file seed, offset), so a provider can serve any range of a
// 1 GiB file without keeping it in memory. Downloads land in memory sinks
// (bounded in total); committing a sink re-hashes it independently of the
// role, so the simulator itself sees any corrupt file a role accepted.
#include "protocols/common/store.hpp"

#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace peerlab::sim {

struct synthetic_file {
  digest hash{};
  std::string name;
  std::uint64_t size = 0;
  std::uint64_t price = 0;
  std::uint64_t seed = 0;
  std::uint32_t set = 0;
  std::vector<std::uint32_t> holders; // node indices, ascending
};

class file_catalog {
public:
  /// Adds a file and computes its SHA-256 (by generating its bytes once).
  std::uint32_t add(std::string name, std::uint64_t size, std::uint64_t price, std::uint64_t seed,
                    std::uint32_t set);
  const synthetic_file& at(std::uint32_t i) const { return files_[i]; }
  synthetic_file& at(std::uint32_t i) { return files_[i]; }
  std::size_t size() const { return files_.size(); }
  std::optional<std::uint32_t> find(const digest& d) const;

  /// The bytes [offset, offset+len) of the file with this seed.
  static void generate(std::uint64_t seed, std::uint64_t offset, std::size_t len, bytes& out);

private:
  std::vector<synthetic_file> files_;
  std::map<digest, std::uint32_t> by_hash_;
};

/// Shared by all nodes: bounds the memory held by download sinks and reports commits.
struct sink_budget {
  std::uint64_t max_bytes = 4ull << 30;
  std::uint64_t used_bytes = 0;
  /// Called on every commit with (node, hash, verified-by-simulator).
  std::function<void(std::uint32_t node, const digest&, bool intact)> on_commit;
};

class synthetic_content final : public content_store {
public:
  synthetic_content(file_catalog* catalog, sink_budget* budget, std::uint32_t node)
      : catalog_(catalog), budget_(budget), node_(node) {}
  ~synthetic_content() override;

  void hold(std::uint32_t file);
  bool holds(std::uint32_t file) const;

  std::optional<file_info> stat(const digest& hash) const override;
  bool read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) override;
  std::uint64_t open_sink(const digest& hash, std::string_view name, std::uint64_t size) override;
  bool write(std::uint64_t sink, std::uint64_t offset, byte_view data) override;
  bool read_sink(std::uint64_t sink, std::uint64_t offset, std::size_t len, bytes& out) override;
  bool commit_sink(std::uint64_t sink) override;
  void discard_sink(std::uint64_t sink) override;
  /// Takes over the sink a crashed incarnation left for this hash and size.
  std::uint64_t resume_sink(const digest& hash, std::string_view name, std::uint64_t size) override;

  /// Synthetic files have no paths: serving one by path is refused.
  serve_result serve_hashed(std::string_view path, const file_info& info,
                            const file_stamp& hashed_as) override;
  bool unprovide(const digest& hash) override;
  /// The held files (path empty), in hash order; `downloaded` if a commit added them.
  std::vector<served_file> served_files() const override;

  /// The node went down: its unfinished sinks stay, like partial files on a
  /// disk, for the next incarnation to resume; the ones the incarnation before
  /// left and nobody resumed since are dropped (bounds what crashes leave).
  void detach_sinks();
  /// Drops every unfinished sink.
  void drop_sinks();

private:
  struct sink {
    digest hash{};
    bytes data;
    bool detached = false; // left by an earlier incarnation, not resumed yet
  };
  file_catalog* catalog_;
  sink_budget* budget_;
  std::uint32_t node_;
  std::vector<std::uint32_t> held_;       // sorted file indices
  std::vector<std::uint32_t> downloaded_; // sorted: held because a download committed them
  std::uint64_t next_sink_ = 1;
  std::unique_ptr<std::map<std::uint64_t, sink>> sinks_;
};

} // namespace peerlab::sim
