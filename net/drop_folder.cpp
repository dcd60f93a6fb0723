#include "net/drop_folder.hpp"
#include "net/folder_walk.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <unistd.h>

namespace peerlab::net {

namespace fs = std::filesystem;

namespace {

std::optional<std::uint64_t> parse_hex16(std::string_view s) {
  if (s.size() != 16)
    return std::nullopt;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return v;
}

constexpr std::string_view suffix = ".packet";

} // namespace

std::string hex16(std::uint64_t v) {
  char buf[17];
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4)
    buf[i] = digits[v & 15];
  buf[16] = 0;
  return buf;
}

std::string drop_file_name(const drop_route& r) {
  return hex16(r.sender) + "--" + hex16(r.recipient) + "--" + hex16(r.packet_id) +
         std::string(suffix);
}

std::optional<drop_route> parse_drop_file_name(std::string_view name) {
  // 16 + 2 + 16 + 2 + 16 + ".packet"
  if (name.size() != 52 + suffix.size() || name.substr(52) != suffix ||
      name.substr(16, 2) != "--" || name.substr(34, 2) != "--")
    return std::nullopt;
  auto s = parse_hex16(name.substr(0, 16)), r = parse_hex16(name.substr(18, 16)),
       p = parse_hex16(name.substr(36, 16));
  if (!s || !r || !p)
    return std::nullopt;
  return drop_route{*s, *r, *p};
}

void write_file_atomically(const fs::path& dir, const std::string& name, byte_view data) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create folder " + dir.string() + ": " + ec.message());
  write_below_atomically(dir, {}, name, data);
}

std::optional<bytes> read_whole_file(const fs::path& file, std::uint64_t max_bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in)
    return std::nullopt;
  auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > max_bytes)
    return std::nullopt;
  bytes out(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uint64_t>(in.gcount()) != size)
    return std::nullopt;
  return out;
}

drop_folder::drop_folder(fs::path out_root, fs::path in_root, peer_id self, drop_folder_limits lim)
    : out_root_(std::move(out_root)), in_root_(std::move(in_root)), self_(self), lim_(lim) {
  for (auto& d : {out_root_, incoming_dir()}) {
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec)
      throw std::runtime_error("cannot create folder " + d.string() + ": " + ec.message());
  }
}

fs::path drop_folder::outgoing_dir(peer_id recipient) const { return out_root_ / hex16(recipient); }
fs::path drop_folder::incoming_dir() const { return in_root_ / hex16(self_); }

fs::path drop_folder::write(peer_id recipient, std::uint64_t packet_id, byte_view data) {
  auto name = drop_file_name({self_, recipient, packet_id});
  // The recipient's folder is opened below out_root without following a link.
  write_below_atomically(out_root_, hex16(recipient), name, data);
  ++stats_.written;
  stats_.bytes_written += data.size();
  return outgoing_dir(recipient) / name;
}

std::vector<drop_folder::incoming_file> drop_folder::scan() {
  std::vector<std::string> names;
  std::set<std::string> present;
  bool complete = true;
  std::error_code ec;
  fs::directory_iterator it(incoming_dir(), ec), end;
  std::size_t looked = 0;
  for (; !ec && it != end; it.increment(ec)) {
    if (++looked > lim_.max_scan_entries) {
      complete =
        false; // bounded: the rest waits for later scans (files get deleted as they are done)
      break;
    }
    auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.')
      continue; // a file still being written (temporary name)
    auto r = parse_drop_file_name(name);
    if (!r || r->recipient != self_) {
      ++stats_.ignored_names;
      continue; // another tenant's file, or not a packet
    }
    present.insert(name);
    if (!handed_out_.count(name))
      names.push_back(std::move(name));
  }
  if (complete) // forget names whose files are gone, so the set stays bounded
    std::erase_if(handed_out_, [&](const std::string& n) { return !present.count(n); });
  std::sort(names.begin(), names.end());
  std::vector<incoming_file> out;
  std::uint64_t read_bytes = 0;
  for (auto& name : names) {
    if (out.size() >= lim_.max_files_per_scan || handed_out_.size() >= lim_.max_remembered)
      break;
    auto path = incoming_dir() / name;
    std::error_code sec;
    auto size = fs::file_size(path, sec);
    if (sec)
      continue; // vanished meanwhile
    if (size > lim_.max_file_bytes) {
      ++stats_.oversize;
      fs::remove(path, sec);
      continue;
    }
    if (!out.empty() && read_bytes + size > lim_.max_scan_bytes)
      break;
    auto data = read_whole_file(path, lim_.max_file_bytes);
    if (!data) {
      ++stats_.read_errors;
      continue;
    }
    read_bytes += data->size();
    ++stats_.read;
    stats_.bytes_read += data->size();
    handed_out_.insert(name);
    out.push_back({name, *parse_drop_file_name(name), std::move(*data)});
  }
  return out;
}

bool drop_folder::remove_outgoing(peer_id recipient, std::uint64_t packet_id) {
  std::error_code ec;
  bool gone =
    fs::remove(outgoing_dir(recipient) / drop_file_name({self_, recipient, packet_id}), ec);
  stats_.removed += gone;
  return gone;
}

bool drop_folder::remove_incoming(peer_id sender, std::uint64_t packet_id) {
  return remove_incoming(drop_file_name({sender, self_, packet_id}));
}

bool drop_folder::remove_incoming(const std::string& name) {
  std::error_code ec;
  bool gone = fs::remove(incoming_dir() / name, ec);
  stats_.removed += gone;
  handed_out_.erase(name);
  return gone;
}

} // namespace peerlab::net
