// Persistent storage of file sets in the node's tables (survive crashes):
// FileSets, FileSetFiles and FileSetLeaves (fileset/tables.hpp).
// The Merkle tree of a completed set lives in memory and is rebuilt from the
// stored leaf hashes at start (no file is re-read or re-hashed).
#include "protocols/fileset/fileset.hpp"

#include "protocols/fileset/tables.hpp"

#include <cstring>

namespace peerlab::fileset {

namespace {

row set_row(const std::string& set, std::uint32_t count, bool complete, const digest& root) {
  return row{set, std::int64_t{count}, std::int64_t{complete ? 1 : 0},
             complete ? cell_digest(root) : cell(bytes{})};
}

} // namespace

std::vector<const table_schema*> fileset_role::tables() const {
  return {&sets_table(), &files_table(), &leaves_table()};
}

void fileset_role::load(context& ctx, effects& fx) {
  std::map<std::string, std::pair<bool, digest>> stored_roots;
  ctx.store.scan(sets_table(), {}, [&](const row& r) {
    const auto& key = r.text(0);
    auto count = r.integer(1);
    bool complete = r.integer(2) != 0;
    auto& root = r.blob(3);
    if (count <= 0 || count > limits::set_files_max || (complete && root.size() != 32) ||
        !valid_set_id(key) || sets_.size() >= limits::sets_max) {
      fx.count("fileset.bad_rows");
      return;
    }
    sets_[key].count = static_cast<std::uint32_t>(count);
    digest d{};
    if (complete)
      std::memcpy(d.data(), root.data(), d.size());
    stored_roots[key] = {complete, d};
  });
  ctx.store.scan(leaves_table(), {}, [&](const row& r) {
    auto it = sets_.find(r.text(0));
    auto index = r.integer(1);
    if (it == sets_.end() || index < 0 || index >= it->second.count)
      return;
    it->second.leaves[static_cast<std::uint32_t>(index)] = r.hash(2);
  });
  for (auto& [id, s] : sets_) {
    if (s.leaves.size() != s.count)
      continue;
    finish_set(ctx, id, s, true, fx);
    auto& [was_complete, root] = stored_roots[id];
    if (was_complete && root != s.root)
      fx.count("fileset.root_changed_on_load"); // rows edited behind our back
  }
}

bool fileset_role::has_leaf(const set_state& s, std::uint32_t index, digest* leaf) const {
  if (s.complete) {
    if (index >= s.count)
      return false;
    if (leaf)
      *leaf = s.tree.leaf(index);
    return true;
  }
  auto it = s.leaves.find(index);
  if (it == s.leaves.end())
    return false;
  if (leaf)
    *leaf = it->second;
  return true;
}

fileset_role::put_result fileset_role::store_file(context& ctx, const std::string& set,
                                                  std::uint32_t count, std::uint32_t index,
                                                  byte_view content, const digest& leaf,
                                                  const char* via, effects& fx) {
  auto it = sets_.find(set);
  if (it == sets_.end()) {
    if (sets_.size() >= limits::sets_max)
      return put_result::sets_full;
    it = sets_.emplace(set, set_state{}).first;
    it->second.count = count;
    ctx.store.put(sets_table(), set_row(set, count, false, {}));
  }
  auto& s = it->second;
  if (s.count != count)
    return put_result::conflict_count;
  digest have{};
  if (has_leaf(s, index, &have))
    return have == leaf ? put_result::unchanged : put_result::conflict_index;
  const std::int64_t i = index;
  ctx.store.put(files_table(), {set, i, bytes(content.begin(), content.end())});
  ctx.store.put(leaves_table(), {set, i, cell_digest(leaf)});
  s.leaves[index] = leaf;
  if (auto w = wanted_.find({set, index}); w != wanted_.end()) {
    if (w->second.active_req != 0)
      --active_fetches_;
    wanted_.erase(w);
  }
  fx.count("fileset.stored");
  fx.emit(
    event{"fileset_stored",
          0,
          {{"set", set}, {"via", via}},
          {{"index", static_cast<double>(index)}, {"size", static_cast<double>(content.size())}}});
  if (s.leaves.size() == s.count)
    finish_set(ctx, set, s, false, fx);
  return put_result::stored;
}

void fileset_role::finish_set(context& ctx, const std::string& set, set_state& s, bool restored,
                              effects& fx) {
  s.tree = merkle::tree();
  s.tree.reserve(s.count);
  for (auto& [_, leaf] : s.leaves) // std::map: index order
    s.tree.append_hash(leaf);
  s.root = s.tree.root();
  s.complete = true;
  s.leaves.clear();
  if (!restored)
    ctx.store.put(sets_table(), set_row(set, s.count, true, s.root));
  if (auto st = syncing_.find(set); st != syncing_.end()) {
    if (st->second.adopted && st->second.root != s.root)
      fx.count("fileset.root_mismatch"); // cannot happen: every file was checked against its leaf
    syncing_.erase(st);
  }
  fx.count(restored ? "fileset.sets_restored" : "fileset.sets_completed");
  fx.emit(event{"fileset_complete",
                0,
                {{"set", set}, {"root", to_hex(s.root)}},
                {{"count", static_cast<double>(s.count)}, {"restored", restored ? 1.0 : 0.0}}});
}

void fileset_role::erase_file(context& ctx, const std::string& set, std::uint32_t index) {
  const key k{set, std::int64_t{index}};
  ctx.store.erase(files_table(), k);
  ctx.store.erase(leaves_table(), k);
  if (auto it = sets_.find(set); it != sets_.end() && !it->second.complete)
    it->second.leaves.erase(index);
}

std::optional<std::string> fileset_role::read_file(context& ctx, const std::string& set,
                                                   std::uint32_t index) const {
  auto r = ctx.store.get(files_table(), {set, std::int64_t{index}});
  if (!r)
    return std::nullopt;
  auto& b = r->blob(2);
  return std::string(b.begin(), b.end());
}

bool fileset_role::complete(const std::string& set) const {
  auto it = sets_.find(set);
  return it != sets_.end() && it->second.complete;
}

std::optional<digest> fileset_role::root(const std::string& set) const {
  auto it = sets_.find(set);
  if (it == sets_.end() || !it->second.complete)
    return std::nullopt;
  return it->second.root;
}

std::size_t fileset_role::stored(const std::string& set) const {
  auto it = sets_.find(set);
  if (it == sets_.end())
    return 0;
  return it->second.complete ? it->second.count : it->second.leaves.size();
}

} // namespace peerlab::fileset
