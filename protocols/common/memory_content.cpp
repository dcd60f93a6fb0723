#include "protocols/common/memory_content.hpp"

#include <algorithm>

namespace peerlab {

std::optional<file_info> memory_content::add(std::string name, bytes data, std::uint64_t price) {
  auto hash = sha256::of(data);
  if (auto it = files_.find(hash); it != files_.end()) {
    it->second.info.name = std::move(name); // same bytes: a new name and price only
    it->second.info.price = price;
    return it->second.info;
  }
  if (!fits(data.size()))
    return std::nullopt;
  used_ += data.size();
  file_info info{hash, std::move(name), data.size(), price};
  files_[hash] = file{info, std::move(data), false};
  return info;
}

const bytes* memory_content::data(const digest& hash) const {
  auto it = files_.find(hash);
  return it == files_.end() ? nullptr : &it->second.data;
}

std::optional<file_info> memory_content::stat(const digest& hash) const {
  auto it = files_.find(hash);
  if (it == files_.end())
    return std::nullopt;
  return it->second.info;
}

bool memory_content::copy_out(const bytes& from, std::uint64_t offset, std::size_t len,
                              bytes& out) {
  if (offset > from.size())
    return false;
  len = static_cast<std::size_t>(std::min<std::uint64_t>(len, from.size() - offset));
  auto b = from.begin() + static_cast<std::ptrdiff_t>(offset);
  out.assign(b, b + static_cast<std::ptrdiff_t>(len));
  return true;
}

bool memory_content::read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) {
  auto it = files_.find(hash);
  return it != files_.end() && copy_out(it->second.data, offset, len, out);
}

std::uint64_t memory_content::open_sink(const digest& hash, std::string_view name,
                                        std::uint64_t size) {
  if (!fits(size)) // checked before allocating: size comes from a peer
    return 0;
  used_ += size;
  auto id = next_sink_++;
  sinks_[id] = sink{hash, std::string(name), bytes(static_cast<std::size_t>(size), 0)};
  return id;
}

bool memory_content::write(std::uint64_t id, std::uint64_t offset, byte_view data) {
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto& d = it->second.data;
  if (offset > d.size() || data.size() > d.size() - offset)
    return false;
  std::copy(data.begin(), data.end(), d.begin() + static_cast<std::ptrdiff_t>(offset));
  return true;
}

bool memory_content::read_sink(std::uint64_t id, std::uint64_t offset, std::size_t len,
                               bytes& out) {
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto& d = it->second.data;
  if (offset > d.size() || len > d.size() - offset) // a sink reads back only what it holds
    return false;
  return copy_out(d, offset, len, out);
}

bool memory_content::commit_sink(std::uint64_t id) {
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto s = std::move(it->second);
  sinks_.erase(it);
  used_ -= s.data.size();
  // Served only if intact and new; the caller verified, this is the store's own check.
  if (sha256::of(s.data) != s.hash || files_.count(s.hash))
    return true;
  used_ += s.data.size();
  file_info info{s.hash, std::move(s.name), s.data.size(), 0};
  files_[s.hash] = file{info, std::move(s.data), true};
  return true;
}

void memory_content::discard_sink(std::uint64_t id) {
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return;
  used_ -= it->second.data.size();
  sinks_.erase(it);
}

std::uint64_t memory_content::resume_sink(const digest& hash, std::string_view,
                                          std::uint64_t size) {
  for (auto& [id, s] : sinks_)
    if (s.hash == hash && s.data.size() == size)
      return id;
  return 0;
}

bool memory_content::unprovide(const digest& hash) {
  auto it = files_.find(hash);
  if (it == files_.end())
    return false;
  used_ -= it->second.data.size();
  files_.erase(it);
  return true;
}

std::vector<served_file> memory_content::served_files() const {
  std::vector<served_file> out;
  out.reserve(files_.size());
  for (auto& [_, f] : files_) // a std::map: in hash order
    out.push_back({f.info, {}, f.downloaded});
  return out;
}

} // namespace peerlab
