#include "net/disk_content.hpp"

#include "protocols/common/limits.hpp"
#include "protocols/common/sha256.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace peerlab::net {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

// Reads until `len` bytes or end of file; returns the count, or -1 on error.
long long pread_full(int fd, std::uint8_t* p, std::size_t len, std::uint64_t off) {
  std::size_t done = 0;
  while (done < len) {
    auto n = ::pread(fd, p + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<long long>(done);
}

// Hashes dir/name without following a symbolic link at name.
bool same_content(int dir, const std::string& name, const digest& hash, std::uint64_t size) {
  int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  sha256 h;
  bytes buf(1 << 20);
  std::uint64_t total = 0;
  long long n = 0;
  while ((n = pread_full(fd, buf.data(), buf.size(), total)) > 0) {
    h.update(byte_view{buf.data(), static_cast<std::size_t>(n)});
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return n == 0 && total == size && h.finish() == hash;
}

// A folder below `parent` opened without following a symbolic link at `name`:
// files are then created relative to this descriptor, so swapping the folder
// (or any folder above it) for a link later cannot redirect them.
int open_dir_nofollow(int parent, const char* name, const fs::path& shown) {
  if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) // never follows a link at name
    throw store_error("cannot create " + shown.string() + ": " + errno_text());
  int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    throw store_error("cannot open folder " + shown.string() + ": " +
                      (errno == ELOOP || errno == ENOTDIR ? "it is a symbolic link or not a folder"
                                                          : errno_text()));
  return fd;
}

// "name.ext" -> "name-1a2b3c4d.ext": a second choice when the name is taken.
std::string with_hash_suffix(const std::string& name, const digest& hash) {
  auto tag = to_hex(hash).substr(0, 8);
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0)
    return name + "-" + tag;
  return name.substr(0, dot) + "-" + tag + name.substr(dot);
}

} // namespace

disk_content::disk_content(fs::path data_dir, log_fn log)
    : data_dir_(std::move(data_dir)), downloads_(data_dir_ / "downloads"),
      partial_(downloads_ / ".partial"), log_(std::move(log)) {
  std::error_code ec;
  fs::create_directories(data_dir_, ec);
  if (ec)
    throw store_error("cannot create " + data_dir_.string() + ": " + ec.message());
  // The data folder itself is the operator's choice; below it no link is followed.
  int data = ::open(data_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (data < 0)
    throw store_error("cannot open folder " + data_dir_.string() + ": " + errno_text());
  try {
    downloads_fd_ = open_dir_nofollow(data, "downloads", downloads_);
    partial_fd_ = open_dir_nofollow(downloads_fd_, ".partial", partial_);
  } catch (...) {
    ::close(data);
    if (downloads_fd_ >= 0)
      ::close(downloads_fd_);
    throw;
  }
  ::close(data);
}

disk_content::~disk_content() {
  for (auto& [_, s] : served_)
    ::close(s.fd);
  for (auto& [_, s] : sinks_)
    close_sink(s); // partial files stay for inspection; a new sink replaces them
  ::close(partial_fd_);
  ::close(downloads_fd_);
}

void disk_content::close_sink(sink& s) {
  for (int fd : {s.direct_fd, s.fd})
    if (fd >= 0) {
      writer_.forget(fd);
      ::close(fd);
    }
  s.fd = s.direct_fd = -1;
}

void disk_content::report(const std::string& msg) const {
  if (log_)
    log_(msg);
  else
    std::fprintf(stderr, "%s\n", msg.c_str());
}

digest disk_content::hash_file(const fs::path& file, std::uint64_t* size) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw store_error("cannot open " + file.string() + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw store_error(file.string() + " is not a regular file");
  }
  sha256 h;
  bytes buf(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto why = errno_text();
      ::close(fd);
      throw store_error("cannot read " + file.string() + ": " + why);
    }
    if (n == 0)
      break;
    h.update(byte_view{buf.data(), static_cast<std::size_t>(n)});
    total += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  if (size)
    *size = total;
  return h.finish();
}

std::string disk_content::sanitise_name(std::string_view name, const digest& hash) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos)
    name = name.substr(slash + 1);
  std::string out;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '+' || c == ' ';
    out.push_back(ok ? c : '_');
  }
  auto first = out.find_first_not_of(". ");
  out = first == std::string::npos ? std::string{} : out.substr(first);
  while (!out.empty() && (out.back() == ' ' || out.back() == '.'))
    out.pop_back();
  if (out.size() > 200)
    out.resize(200);
  return out.empty() ? to_hex(hash) : out;
}

void disk_content::serve_locked(const file_info& info, const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    report("content: cannot open " + path.string() + " for serving: " + errno_text());
    return;
  }
  auto it = served_.find(info.hash);
  if (it != served_.end()) {
    ::close(it->second.fd);
    served_.erase(it);
  }
  served_.emplace(info.hash, served{info, path, fd});
}

file_info disk_content::provide(const provide_spec& spec) {
  std::uint64_t size = 0;
  digest h = hash_file(spec.path, &size);
  file_info info;
  info.hash = h;
  info.name = sanitise_name(spec.name.empty() ? spec.path.filename().string() : spec.name, h);
  info.size = size;
  info.price = spec.price;
  std::lock_guard lock(mu_);
  serve_locked(info, spec.path);
  if (!served_.count(h))
    throw store_error("cannot serve " + spec.path.string());
  return info;
}

std::optional<file_stamp> stamp_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return file_stamp{static_cast<std::uint64_t>(st.st_size),
                    static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                      st.st_mtim.tv_nsec};
}

std::optional<file_stamp> disk_content::stamp(std::string_view path) const {
  return stamp_of(fs::path(path));
}

serve_result disk_content::serve_hashed(std::string_view path_text, const file_info& hashed,
                                        const file_stamp& hashed_as) {
  fs::path path(path_text);
  file_info info = hashed;
  info.name = sanitise_name(info.name.empty() ? path.filename().string() : info.name, info.hash);
  // The stamp is read from the descriptor that will serve the file, so a
  // file replaced after this check is not the one served.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  bool same = fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              file_stamp{static_cast<std::uint64_t>(st.st_size),
                         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                           st.st_mtim.tv_nsec} == hashed_as &&
              hashed_as.size == info.size;
  if (!same) {
    if (fd >= 0)
      ::close(fd);
    return {{}, path.string() + " changed while it was hashed; provide it again"};
  }
  std::lock_guard lock(mu_);
  if (auto it = served_.find(info.hash); it != served_.end()) {
    ::close(it->second.fd);
    served_.erase(it);
  }
  served_.emplace(info.hash, served{info, path, fd});
  return {info, {}};
}

bool disk_content::unprovide(const digest& hash) {
  std::lock_guard lock(mu_);
  auto it = served_.find(hash);
  if (it == served_.end())
    return false;
  ::close(it->second.fd);
  served_.erase(it);
  return true;
}

std::vector<served_file> disk_content::served_files() const {
  const auto downloads = downloads_.lexically_normal().string() + "/";
  std::lock_guard lock(mu_);
  std::vector<served_file> out;
  out.reserve(served_.size());
  for (auto& [_, s] : served_)
    out.push_back(
      {s.info, s.path.string(), s.path.lexically_normal().string().starts_with(downloads)});
  return out;
}

std::optional<file_info> disk_content::stat(const digest& hash) const {
  std::lock_guard lock(mu_);
  auto it = served_.find(hash);
  if (it == served_.end())
    return std::nullopt;
  return it->second.info;
}

bool disk_content::read(const digest& hash, std::uint64_t offset, std::size_t len, bytes& out) {
  std::lock_guard lock(mu_);
  auto it = served_.find(hash);
  if (it == served_.end() || len > peerlab::limits::frame_bytes_max)
    return false;
  auto& s = it->second;
  if (offset >= s.info.size) {
    out.clear();
    return offset == s.info.size;
  }
  len = static_cast<std::size_t>(std::min<std::uint64_t>(len, s.info.size - offset));
  out.resize(len);
  auto n = pread_full(s.fd, out.data(), len, offset);
  if (n < 0) {
    report("content: cannot read " + s.path.string() + ": " + errno_text());
    out.clear();
    return false;
  }
  out.resize(static_cast<std::size_t>(n)); // shorter if the file shrank since hashing
  return true;
}

std::uint64_t disk_content::open_sink(const digest& hash, std::string_view name,
                                      std::uint64_t size) {
  std::lock_guard lock(mu_);
  auto hex = to_hex(hash);
  if (size > peerlab::limits::file_bytes_max) {
    report("content: refusing download " + hex + ": " + std::to_string(size) +
           " bytes exceeds the bound of " + std::to_string(peerlab::limits::file_bytes_max));
    return 0;
  }
  if (sinks_.size() >= peerlab::limits::active_downloads_max) {
    report("content: refusing download " + hex + ": too many open downloads");
    return 0;
  }
  for (auto& [_, s] : sinks_)
    if (s.hash == hash) {
      report("content: refusing download " + hex + ": already being downloaded");
      return 0;
    }
  sink s;
  s.hash = hash;
  s.name = sanitise_name(name, hash);
  s.size = size;
  s.part = partial_ / (hex + ".part");
  // A stale part file is removed, never truncated through: it could be a
  // link to a file elsewhere. The new one is created, not opened.
  const auto part_name = s.part.filename().string();
  ::unlinkat(partial_fd_, part_name.c_str(), 0);
  s.fd = ::openat(partial_fd_, part_name.c_str(),
                  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (s.fd < 0) {
    report("content: cannot create " + s.part.string() + ": " + errno_text());
    return 0;
  }
  if (::ftruncate(s.fd, static_cast<off_t>(size)) != 0) {
    report("content: cannot size " + s.part.string() + ": " + errno_text());
    ::close(s.fd);
    ::unlinkat(partial_fd_, part_name.c_str(), 0);
    return 0;
  }
  return add_sink(std::move(s));
}

std::uint64_t disk_content::add_sink(sink s) {
  const auto part_name = s.part.filename().string();
  s.direct_fd =
    ::openat(partial_fd_, part_name.c_str(), O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
  struct stat a {
  }, b{};
  if (s.direct_fd >= 0 && (::fstat(s.fd, &a) != 0 || ::fstat(s.direct_fd, &b) != 0 ||
                           a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
    ::close(s.direct_fd); // the name was swapped meanwhile: write through s.fd only
    s.direct_fd = -1;
  }
  auto id = next_sink_++;
  sinks_.emplace(id, std::move(s));
  return id;
}

std::uint64_t disk_content::resume_sink(const digest& hash, std::string_view name,
                                        std::uint64_t size) {
  std::lock_guard lock(mu_);
  auto hex = to_hex(hash);
  if (size > peerlab::limits::file_bytes_max ||
      sinks_.size() >= peerlab::limits::active_downloads_max)
    return 0;
  for (auto& [_, s] : sinks_)
    if (s.hash == hash)
      return 0;
  sink s;
  s.hash = hash;
  s.name = sanitise_name(name, hash);
  s.size = size;
  s.part = partial_ / (hex + ".part");
  // Opened, never created, and not through a link: the downloader re-hashes
  // what it claims before trusting it.
  s.fd = ::openat(partial_fd_, s.part.filename().c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (s.fd < 0) {
    if (errno != ENOENT)
      report("content: cannot reopen " + s.part.string() + ": " + errno_text());
    return 0;
  }
  struct stat st {};
  if (::fstat(s.fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) != size) {
    report("content: not resuming " + s.part.string() + ": not a regular file of " +
           std::to_string(size) + " bytes");
    ::close(s.fd);
    return 0;
  }
  return add_sink(std::move(s));
}

bool disk_content::flush_sink(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto& s = it->second;
  std::string err;
  if ((s.direct_fd >= 0 && !writer_.flush(s.direct_fd, &err)) || !writer_.flush(s.fd, &err)) {
    report("content: cannot write " + s.part.string() + ": " + err);
    return false;
  }
  return true;
}

bool disk_content::write(std::uint64_t id, std::uint64_t offset, byte_view data) {
  std::lock_guard lock(mu_);
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto& s = it->second;
  if (offset > s.size || data.size() > s.size - offset) {
    report("content: write past the end of " + s.part.string());
    return false;
  }
  bool aligned = offset % direct_io_alignment == 0 && data.size() % direct_io_alignment == 0;
  int fd = aligned && s.direct_fd >= 0 ? s.direct_fd : s.fd;
  std::string err;
  if (!writer_.write(fd, offset, data, &err)) {
    report("content: cannot write " + s.part.string() + ": " + err);
    return false;
  }
  return true;
}

bool disk_content::read_sink(std::uint64_t id, std::uint64_t offset, std::size_t len, bytes& out) {
  std::lock_guard lock(mu_);
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  auto& s = it->second;
  if (offset > s.size || len > s.size - offset)
    return false;
  std::string err;
  if ((s.direct_fd >= 0 && !writer_.flush(s.direct_fd, &err)) || !writer_.flush(s.fd, &err)) {
    report("content: cannot write " + s.part.string() + ": " + err);
    return false;
  }
  out.resize(len);
  auto n = pread_full(s.fd, out.data(), len, offset);
  if (n != static_cast<long long>(len)) {
    report("content: cannot read back " + s.part.string() + ": " + errno_text());
    out.clear();
    return false;
  }
  return true;
}

bool disk_content::place(sink& s, fs::path& final_path) {
  // linkat() never replaces an existing name and both names are relative to
  // folders opened without following links, so the file cannot land outside
  // downloads/. A name that is already there is kept; it is accepted only if
  // it is a regular file holding exactly these bytes, never a symbolic link.
  const auto part_name = s.part.filename().string();
  for (auto& candidate : {s.name, with_hash_suffix(s.name, s.hash)}) {
    auto target = downloads_ / candidate;
    if (::linkat(partial_fd_, part_name.c_str(), downloads_fd_, candidate.c_str(), 0) == 0) {
      ::unlinkat(partial_fd_, part_name.c_str(), 0);
      final_path = target;
      return true;
    }
    if (errno != EEXIST) {
      report("content: cannot move " + s.part.string() + " to " + target.string() + ": " +
             errno_text());
      return false;
    }
    struct stat st {};
    if (::fstatat(downloads_fd_, candidate.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      report("content: not writing through " + target.string() + ": it is a symbolic link");
      continue;
    }
    if (same_content(downloads_fd_, candidate, s.hash, s.size)) {
      ::unlinkat(partial_fd_, part_name.c_str(), 0);
      final_path = target;
      return true;
    }
  }
  report("content: not saving " + to_hex(s.hash) + ": " + (downloads_ / s.name).string() +
         " and its alternative name hold other files or links");
  return false;
}

bool disk_content::commit_sink(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return false;
  sink s = std::move(it->second);
  sinks_.erase(it);
  std::string err;
  bool written = (s.direct_fd < 0 || writer_.flush(s.direct_fd, &err)) && writer_.flush(s.fd, &err);
  close_sink(s);
  if (!written) {
    report("content: cannot write " + s.part.string() + ": " + err);
    ::unlinkat(partial_fd_, s.part.filename().c_str(), 0);
    return false;
  }
  fs::path final_path;
  if (!place(s, final_path)) {
    ::unlinkat(partial_fd_, s.part.filename().c_str(), 0);
    return false;
  }
  committed_[s.hash] = final_path;
  // A finished download is served like a provided file.
  serve_locked(file_info{s.hash, s.name, s.size, 0}, final_path);
  return true;
}

void disk_content::discard_sink(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = sinks_.find(id);
  if (it == sinks_.end())
    return;
  close_sink(it->second);
  ::unlinkat(partial_fd_, it->second.part.filename().c_str(), 0);
  sinks_.erase(it);
}

std::optional<fs::path> disk_content::committed_path(const digest& hash) const {
  std::lock_guard lock(mu_);
  auto it = committed_.find(hash);
  if (it == committed_.end())
    return std::nullopt;
  return it->second;
}

} // namespace peerlab::net
