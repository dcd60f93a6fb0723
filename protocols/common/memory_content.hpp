#pragma once
// File bytes kept in memory, for a node without a disk: a role hosted in
// WebAssembly (web/wasm/role_host.cpp). Files are served by their SHA-256;
// downloads land in sinks, and a committed sink is served only if its bytes
// hash to the digest it was opened for (as the simulator and disk stores do).
// Files and open sinks share one byte budget, checked before anything is
// allocated, so a peer announcing a huge file cannot exhaust a browser tab.
#include "protocols/common/store.hpp"

#include <map>
#include <string>

namespace peerlab {

class memory_content final : public content_store {
public:
  explicit memory_content(std::uint64_t max_bytes = 256ull << 20) : max_bytes_(max_bytes) {}

  /// Serves `data` under its SHA-256. Nullopt if it would pass the budget.
  std::optional<file_info> add(std::string name, bytes data, std::uint64_t price = 0);
  /// A served file's bytes, or nullptr.
  const bytes* data(const digest& hash) const;
  std::uint64_t used_bytes() const { return used_; }
  std::uint64_t max_bytes() const { return max_bytes_; }

  std::optional<file_info> stat(const digest& hash) const override;
  bool read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) override;
  std::uint64_t open_sink(const digest& hash, std::string_view name, std::uint64_t size) override;
  bool write(std::uint64_t sink, std::uint64_t offset, byte_view data) override;
  bool read_sink(std::uint64_t sink, std::uint64_t offset, std::size_t len, bytes& out) override;
  bool commit_sink(std::uint64_t sink) override;
  void discard_sink(std::uint64_t sink) override;
  std::uint64_t resume_sink(const digest& hash, std::string_view name, std::uint64_t size) override;
  bool unprovide(const digest& hash) override;
  std::vector<served_file> served_files() const override;

private:
  struct file {
    file_info info;
    bytes data;
    bool downloaded = false;
  };
  struct sink {
    digest hash{};
    std::string name;
    bytes data;
  };
  bool fits(std::uint64_t n) const { return n <= max_bytes_ - used_; }
  static bool copy_out(const bytes& from, std::uint64_t offset, std::size_t len, bytes& out);

  std::uint64_t max_bytes_;
  std::uint64_t used_ = 0; // bytes of files and open sinks
  std::map<digest, file> files_;
  std::map<std::uint64_t, sink> sinks_;
  std::uint64_t next_sink_ = 1;
};

} // namespace peerlab
