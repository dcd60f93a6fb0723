#pragma once
// Test doubles for the ledger tests: an in-memory kv_store and an empty content store.
#include "protocols/common/role.hpp"

#include <map>
#include <string>

namespace ledgertest {

using namespace peerlab;

class memory_kv final : public kv_store {
public:
  void put(std::string_view t, std::string_view k, std::string_view v) override {
    rows[std::string(t)][std::string(k)] = std::string(v);
  }
  std::optional<std::string> get(std::string_view t, std::string_view k) const override {
    auto ti = rows.find(std::string(t));
    if (ti == rows.end())
      return std::nullopt;
    auto ki = ti->second.find(std::string(k));
    if (ki == ti->second.end())
      return std::nullopt;
    return ki->second;
  }
  void erase(std::string_view t, std::string_view k) override {
    auto ti = rows.find(std::string(t));
    if (ti != rows.end())
      ti->second.erase(std::string(k));
  }
  void scan(std::string_view t, const std::function<void(std::string_view, std::string_view)>& f) const override {
    auto ti = rows.find(std::string(t));
    if (ti == rows.end())
      return;
    for (auto& [k, v] : ti->second)
      f(k, v);
  }
  std::map<std::string, std::map<std::string, std::string>> rows;
};

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

} // namespace ledgertest
