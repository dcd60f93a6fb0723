#pragma once
// A content store for roles that never touch file content: nothing to read,
// and every sink refused.
#include "protocols/common/role.hpp"

namespace peerlab::test_kit {

class no_content final : public content_store {
public:
  std::optional<file_info> stat(const digest&) const override { return std::nullopt; }
  bool read(const digest&, std::uint64_t, std::size_t, bytes&) override { return false; }
  std::uint64_t open_sink(const digest&, std::string_view, std::uint64_t) override { return 0; }
  bool write(std::uint64_t, std::uint64_t, byte_view) override { return false; }
  bool read_sink(std::uint64_t, std::uint64_t, std::size_t, bytes&) override { return false; }
  bool commit_sink(std::uint64_t) override { return false; }
  void discard_sink(std::uint64_t) override {}
};

} // namespace peerlab::test_kit
