#pragma once
// kv_store kept in memory. The simulator gives one to every node (it belongs
// to the node, not to its actors, so it survives a crash like a disk would);
// protocol tests use it as their store.
#include "protocols/common/store.hpp"

#include <map>
#include <memory>
#include <string>

namespace peerlab {

class memory_store final : public kv_store {
public:
  void put(std::string_view table, std::string_view key, std::string_view value) override {
    tables()[std::string(table)][std::string(key)] = std::string(value);
  }
  std::optional<std::string> get(std::string_view table, std::string_view key) const override {
    if (!tables_)
      return std::nullopt;
    auto t = tables_->find(std::string(table));
    if (t == tables_->end())
      return std::nullopt;
    auto r = t->second.find(std::string(key));
    if (r == t->second.end())
      return std::nullopt;
    return r->second;
  }
  void erase(std::string_view table, std::string_view key) override {
    if (!tables_)
      return;
    auto t = tables_->find(std::string(table));
    if (t != tables_->end())
      t->second.erase(std::string(key));
  }
  void scan(std::string_view table,
            const std::function<void(std::string_view, std::string_view)>& f) const override {
    if (!tables_)
      return;
    auto t = tables_->find(std::string(table));
    if (t == tables_->end())
      return;
    for (auto& [k, v] : t->second)
      f(k, v);
  }

  /// Rows in a table.
  std::size_t count(std::string_view table) const {
    if (!tables_)
      return 0;
    auto t = tables_->find(std::string(table));
    return t == tables_->end() ? 0 : t->second.size();
  }

private:
  using table_map = std::map<std::string, std::map<std::string, std::string>>;
  // Allocated on first write: most simulated nodes never store anything.
  table_map& tables() {
    if (!tables_)
      tables_ = std::make_unique<table_map>();
    return *tables_;
  }
  std::unique_ptr<table_map> tables_;
};

} // namespace peerlab
