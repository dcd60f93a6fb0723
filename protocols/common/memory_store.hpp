#pragma once
// The node's tables kept in memory. The simulator gives one to every node (it
// belongs to the node, not to its actors, so it survives a crash like a disk
// would); protocol tests use it as their store. Typed tables follow the same
// rules as the SQLite store: rows are checked against their schema, keys are
// ordered like SQLite orders them, tables stop at max_rows.
#include "protocols/common/store.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace peerlab {

class memory_store final : public kv_store {
public:
  // --- typed tables ---
  void declare(const table_schema& s) override { typed(s); }

  bool put(const table_schema& s, const row& r) override {
    if (auto e = check_row(s, r); !e.empty())
      throw table_error(e);
    auto& t = typed(s);
    auto k = key_of(s, r);
    auto it = t.find(k);
    if (it != t.end()) {
      it->second = r;
      return true;
    }
    if (t.size() >= capacity(s))
      return false;
    t.emplace(std::move(k), r);
    return true;
  }
  std::optional<row> get(const table_schema& s, const key& k) const override {
    check_full(s, k);
    auto* t = find(s);
    if (!t)
      return std::nullopt;
    auto it = t->find(k);
    if (it == t->end())
      return std::nullopt;
    return it->second;
  }
  void erase(const table_schema& s, const key& k) override {
    check_full(s, k);
    if (auto* t = find(s))
      t->erase(k);
  }
  void scan(const table_schema& s, const key& prefix,
            const std::function<void(const row&)>& f) const override {
    check(s, prefix);
    auto* t = find(s);
    if (!t)
      return;
    // Copied first: the callback may write to the table.
    std::vector<row> rows;
    for (auto it = t->lower_bound(prefix); it != t->end() && compare_prefix(prefix, it->first) == 0;
         ++it)
      rows.push_back(it->second);
    for (auto& r : rows)
      f(r);
  }
  std::size_t capacity(const table_schema& s) const override {
    auto c = caps_.find(s.name);
    return c == caps_.end() ? s.max_rows : std::min(s.max_rows, c->second);
  }
  /// Bounds a table below its max_rows, so tests and scenarios can see what a
  /// full table does without filling millions of rows.
  void cap_rows(const std::string& table, std::size_t n) { caps_[table] = n; }

  std::size_t count(const table_schema& s) const override {
    auto* t = find(s);
    return t ? t->size() : 0;
  }

  // --- generic string rows ---
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

  /// Rows in a generic table.
  std::size_t count(std::string_view table) const {
    if (!tables_)
      return 0;
    auto t = tables_->find(std::string(table));
    return t == tables_->end() ? 0 : t->second.size();
  }

  /// Tables that hold at least one row.
  std::size_t table_count() const {
    std::size_t n = 0;
    if (tables_)
      for (auto& [_, rows] : *tables_)
        n += rows.empty() ? 0 : 1;
    return n;
  }

private:
  using typed_table = std::map<key, row, key_less>;
  using table_map = std::map<std::string, std::map<std::string, std::string>>;

  static void check(const table_schema& s, const key& k) {
    if (auto e = check_key(s, k); !e.empty())
      throw table_error(e);
  }
  static void check_full(const table_schema& s, const key& k) {
    if (auto e = check_full_key(s, k); !e.empty())
      throw table_error(e);
  }
  typed_table& typed(const table_schema& s) {
    if (!typed_)
      typed_ = std::make_unique<std::map<std::string, typed_table>>();
    return (*typed_)[s.name];
  }
  const typed_table* find(const table_schema& s) const {
    if (!typed_)
      return nullptr;
    auto it = typed_->find(s.name);
    return it == typed_->end() ? nullptr : &it->second;
  }
  typed_table* find(const table_schema& s) {
    return const_cast<typed_table*>(std::as_const(*this).find(s));
  }
  table_map& tables() {
    if (!tables_)
      tables_ = std::make_unique<table_map>();
    return *tables_;
  }
  // Allocated on first write: most simulated nodes never store anything.
  std::unique_ptr<std::map<std::string, typed_table>> typed_;
  std::unique_ptr<table_map> tables_;
  std::map<std::string, std::size_t> caps_; // table -> rows, below max_rows (cap_rows)
};

} // namespace peerlab
