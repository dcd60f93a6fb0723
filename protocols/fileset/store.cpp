// Persistent storage of file sets in the node's kv_store (survives crashes):
//   fileset.sets    set id              -> u32 count, u8 complete, [32-byte root]
//   fileset.files   set id "/" index10  -> file content
//   fileset.leaves  set id "/" index10  -> 32-byte leaf hash H(0x00 || content)
// The Merkle tree of a completed set lives in memory and is rebuilt from the
// stored leaf hashes at start (no file is re-read or re-hashed).
#include "protocols/fileset/fileset.hpp"

#include "protocols/common/wire.hpp"

#include <cstdio>
#include <cstring>

namespace peerlab::fileset {

namespace {

constexpr const char* t_sets = "fileset.sets";
constexpr const char* t_files = "fileset.files";
constexpr const char* t_leaves = "fileset.leaves";

std::string file_key_of(const std::string& set, std::uint32_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "/%010u", index);
  return set + buf;
}

std::string_view as_sv(byte_view b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

std::string meta_value(std::uint32_t count, bool complete, const digest& root) {
  bytes out;
  wire::writer w(out);
  w.u32(count);
  w.u8(complete ? 1 : 0);
  if (complete)
    w.fixed(root);
  return std::string(out.begin(), out.end());
}

} // namespace

void fileset_role::load(context& ctx, effects& fx) {
  std::map<std::string, std::pair<bool, digest>> stored_roots;
  ctx.store.scan(t_sets, [&](std::string_view key, std::string_view value) {
    wire::reader r(byte_view{reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    std::uint32_t count = 0;
    std::uint8_t complete = 0;
    digest root{};
    if (!r.u32(count) || !r.u8(complete) || (complete && !r.fixed(root)) || count == 0 ||
        count > limits::max_set_files || !valid_set_id(key) || sets_.size() >= limits::max_sets) {
      fx.count("fileset.bad_rows");
      return;
    }
    sets_[std::string(key)].count = count;
    stored_roots[std::string(key)] = {complete != 0, root};
  });
  ctx.store.scan(t_leaves, [&](std::string_view key, std::string_view value) {
    auto slash = key.rfind('/');
    if (slash == std::string_view::npos || value.size() != 32 || key.size() - slash != 11) {
      fx.count("fileset.bad_rows");
      return;
    }
    auto it = sets_.find(std::string(key.substr(0, slash)));
    std::uint64_t index = 0;
    bool digits = true;
    for (char c : key.substr(slash + 1)) {
      digits &= c >= '0' && c <= '9';
      index = index * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (it == sets_.end() || !digits || index >= it->second.count)
      return;
    digest d;
    std::memcpy(d.data(), value.data(), 32);
    it->second.leaves[static_cast<std::uint32_t>(index)] = d;
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
    if (sets_.size() >= limits::max_sets)
      return put_result::sets_full;
    it = sets_.emplace(set, set_state{}).first;
    it->second.count = count;
    ctx.store.put(t_sets, set, meta_value(count, false, {}));
  }
  auto& s = it->second;
  if (s.count != count)
    return put_result::conflict_count;
  digest have{};
  if (has_leaf(s, index, &have))
    return have == leaf ? put_result::unchanged : put_result::conflict_index;
  const auto key = file_key_of(set, index);
  ctx.store.put(t_files, key, as_sv(content));
  ctx.store.put(t_leaves, key, as_sv(byte_view{leaf.data(), leaf.size()}));
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
    ctx.store.put(t_sets, set, meta_value(s.count, true, s.root));
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
  const auto key = file_key_of(set, index);
  ctx.store.erase(t_files, key);
  ctx.store.erase(t_leaves, key);
  if (auto it = sets_.find(set); it != sets_.end() && !it->second.complete)
    it->second.leaves.erase(index);
}

std::optional<std::string> fileset_role::read_file(context& ctx, const std::string& set,
                                                   std::uint32_t index) const {
  return ctx.store.get(t_files, file_key_of(set, index));
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
