#include "sim/synthetic_content.hpp"

#include "protocols/common/stable_hash.hpp"

#include <algorithm>
#include <cstring>

namespace peerlab::sim {

void file_catalog::generate(std::uint64_t seed, std::uint64_t offset, std::size_t len, bytes& out) {
  out.resize(len);
  std::size_t done = 0;
  while (done < len) {
    std::uint64_t pos = offset + done;
    std::uint64_t word = mix64(seed ^ ((pos / 8) * 0x9e3779b97f4a7c15ULL));
    std::size_t in_word = pos % 8;
    std::size_t n = std::min<std::size_t>(8 - in_word, len - done);
    std::memcpy(out.data() + done, reinterpret_cast<const std::uint8_t*>(&word) + in_word, n);
    done += n;
  }
}

std::uint32_t file_catalog::add(std::string name, std::uint64_t size, std::uint64_t price,
                                std::uint64_t seed, std::uint32_t set) {
  synthetic_file f;
  f.name = std::move(name);
  f.size = size;
  f.price = price;
  f.seed = seed;
  f.set = set;
  sha256 h;
  bytes block;
  for (std::uint64_t off = 0; off < size; off += (1u << 20)) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(1u << 20, size - off));
    generate(seed, off, n, block);
    h.update(block);
  }
  f.hash = h.finish();
  auto idx = static_cast<std::uint32_t>(files_.size());
  by_hash_.emplace(f.hash, idx);
  files_.push_back(std::move(f));
  return idx;
}

std::optional<std::uint32_t> file_catalog::find(const digest& d) const {
  auto it = by_hash_.find(d);
  if (it == by_hash_.end())
    return std::nullopt;
  return it->second;
}

synthetic_content::~synthetic_content() { drop_sinks(); }

void synthetic_content::hold(std::uint32_t file) {
  auto it = std::lower_bound(held_.begin(), held_.end(), file);
  if (it == held_.end() || *it != file)
    held_.insert(it, file);
}

bool synthetic_content::holds(std::uint32_t file) const {
  return std::binary_search(held_.begin(), held_.end(), file);
}

std::optional<file_info> synthetic_content::stat(const digest& hash) const {
  auto idx = catalog_->find(hash);
  if (!idx || !holds(*idx))
    return std::nullopt;
  auto& f = catalog_->at(*idx);
  return file_info{f.hash, f.name, f.size, f.price};
}

bool synthetic_content::read(const digest& hash, std::uint64_t offset, std::size_t len,
                             bytes& out) {
  auto idx = catalog_->find(hash);
  if (!idx || !holds(*idx))
    return false;
  auto& f = catalog_->at(*idx);
  if (offset > f.size)
    return false;
  len = static_cast<std::size_t>(std::min<std::uint64_t>(len, f.size - offset));
  file_catalog::generate(f.seed, offset, len, out);
  return true;
}

std::uint64_t synthetic_content::open_sink(const digest& hash, std::string_view,
                                           std::uint64_t size) {
  if (budget_->used_bytes + size > budget_->max_bytes)
    return 0;
  if (!sinks_)
    sinks_ = std::make_unique<std::map<std::uint64_t, sink>>();
  auto id = next_sink_++;
  auto& s = (*sinks_)[id];
  s.hash = hash;
  s.data.assign(static_cast<std::size_t>(size), 0);
  budget_->used_bytes += size;
  return id;
}

bool synthetic_content::write(std::uint64_t id, std::uint64_t offset, byte_view data) {
  if (!sinks_)
    return false;
  auto it = sinks_->find(id);
  if (it == sinks_->end() || offset > it->second.data.size() ||
      data.size() > it->second.data.size() - offset)
    return false;
  std::memcpy(it->second.data.data() + offset, data.data(), data.size());
  return true;
}

bool synthetic_content::read_sink(std::uint64_t id, std::uint64_t offset, std::size_t len,
                                  bytes& out) {
  if (!sinks_)
    return false;
  auto it = sinks_->find(id);
  if (it == sinks_->end() || offset > it->second.data.size() ||
      len > it->second.data.size() - offset)
    return false;
  auto b = it->second.data.begin() + static_cast<std::ptrdiff_t>(offset);
  out.assign(b, b + static_cast<std::ptrdiff_t>(len));
  return true;
}

bool synthetic_content::commit_sink(std::uint64_t id) {
  if (!sinks_)
    return false;
  auto it = sinks_->find(id);
  if (it == sinks_->end())
    return false;
  auto& s = it->second;
  bool intact = sha256::of(s.data) == s.hash;
  if (budget_->on_commit)
    budget_->on_commit(node_, s.hash, intact);
  if (intact)
    if (auto idx = catalog_->find(s.hash); idx && !holds(*idx)) {
      hold(*idx);
      downloaded_.insert(std::lower_bound(downloaded_.begin(), downloaded_.end(), *idx), *idx);
    }
  budget_->used_bytes -= s.data.size();
  sinks_->erase(it);
  return true;
}

void synthetic_content::discard_sink(std::uint64_t id) {
  if (!sinks_)
    return;
  auto it = sinks_->find(id);
  if (it == sinks_->end())
    return;
  budget_->used_bytes -= it->second.data.size();
  sinks_->erase(it);
}

serve_result synthetic_content::serve_hashed(std::string_view path, const file_info&,
                                             const file_stamp&) {
  return {{},
          "the simulator serves only the scenario's synthetic files (workload \"files\"), not "
          "files at paths such as " +
            std::string(path.substr(0, 80))};
}

bool synthetic_content::unprovide(const digest& hash) {
  auto idx = catalog_->find(hash);
  if (!idx || !holds(*idx))
    return false;
  held_.erase(std::lower_bound(held_.begin(), held_.end(), *idx));
  if (auto it = std::lower_bound(downloaded_.begin(), downloaded_.end(), *idx);
      it != downloaded_.end() && *it == *idx)
    downloaded_.erase(it);
  return true;
}

std::vector<served_file> synthetic_content::served_files() const {
  std::vector<served_file> out;
  out.reserve(held_.size());
  for (auto idx : held_) {
    auto& f = catalog_->at(idx);
    out.push_back({file_info{f.hash, f.name, f.size, f.price},
                   {},
                   std::binary_search(downloaded_.begin(), downloaded_.end(), idx)});
  }
  std::sort(out.begin(), out.end(),
            [](const served_file& a, const served_file& b) { return a.info.hash < b.info.hash; });
  return out;
}

std::uint64_t synthetic_content::resume_sink(const digest& hash, std::string_view,
                                             std::uint64_t size) {
  if (!sinks_)
    return 0;
  for (auto& [id, s] : *sinks_)
    if (s.detached && s.hash == hash && s.data.size() == size) {
      s.detached = false;
      return id;
    }
  return 0;
}

void synthetic_content::detach_sinks() {
  if (!sinks_)
    return;
  for (auto it = sinks_->begin(); it != sinks_->end();) {
    if (it->second.detached) {
      budget_->used_bytes -= it->second.data.size();
      it = sinks_->erase(it);
      continue;
    }
    it->second.detached = true;
    ++it;
  }
}

void synthetic_content::drop_sinks() {
  if (!sinks_)
    return;
  for (auto& [id, s] : *sinks_)
    budget_->used_bytes -= s.data.size();
  sinks_.reset();
}

} // namespace peerlab::sim
