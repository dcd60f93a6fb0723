#include "net/folder_walk.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace peerlab::net {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void fail(const fs::path& where, const std::string& why, bool link = false) {
  throw placement_error(where.string() + ": " + why, link);
}

// Writes all of `data`; false on an error (errno set).
bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    auto w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Copies the open `from` into the open `to`; false on an error.
bool copy_fd(int from, int to) {
  std::vector<std::uint8_t> buf(1 << 16);
  for (;;) {
    auto n = ::read(from, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      return true;
    if (!write_all(to, buf.data(), static_cast<std::size_t>(n)))
      return false;
  }
}

} // namespace

unique_fd::~unique_fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

void check_below(const fs::path& rel, const fs::path& shown) {
  if (rel.is_absolute() || rel != rel.lexically_normal())
    fail(shown, "not a plain path below its folder");
  for (auto& part : rel)
    if (part == ".." || part == ".")
      fail(shown, "leads outside its folder", true);
}

unique_fd open_below(const fs::path& root, const fs::path& rel, bool create) {
  check_below(rel, root / rel);
  unique_fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0)
    fail(root, "cannot open the folder: " + errno_text(errno));
  fs::path at = root;
  for (auto& part : rel) {
    if (part.empty())
      continue; // "a/" ends with an empty part
    at /= part;
    if (create && ::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
      fail(at, "cannot create the folder: " + errno_text(errno));
    unique_fd next(
      ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0 && (errno == ELOOP || errno == ENOTDIR))
      fail(at, "is a symbolic link or not a folder (refused: it could lead outside)", true);
    if (next.get() < 0)
      fail(at, "cannot open the folder: " + errno_text(errno));
    dir = std::move(next);
  }
  return dir;
}

void place_file_below(const fs::path& source, const fs::path& root, const fs::path& rel) {
  check_below(rel, root / rel);
  const auto name = rel.filename();
  if (name.empty())
    fail(root / rel, "does not name a file");
  auto dir = open_below(root, rel.parent_path(), false);
  const auto dest = root / rel;
  struct stat src {};
  struct stat there {};
  if (::lstat(source.c_str(), &src) != 0)
    fail(source, "cannot read the saved file: " + errno_text(errno));
  // Already there (the download folder is the node's own): nothing to do.
  if (::fstatat(dir.get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
      there.st_dev == src.st_dev && there.st_ino == src.st_ino)
    return;
  // linkat never replaces a name and, without AT_SYMLINK_FOLLOW, never
  // follows a link at the source.
  if (::linkat(AT_FDCWD, source.c_str(), dir.get(), name.c_str(), 0) == 0)
    return;
  if (errno == EEXIST)
    fail(dest, "already exists");
  if (errno != EXDEV && errno != EPERM && errno != EMLINK)
    fail(dest, "cannot link the saved file here: " + errno_text(errno));
  unique_fd in(::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0)
    fail(source, "cannot open the saved file: " + errno_text(errno));
  unique_fd out(
    ::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (out.get() < 0)
    fail(dest, errno == EEXIST ? "already exists" : "cannot create: " + errno_text(errno));
  if (!copy_fd(in.get(), out.get())) {
    auto e = errno;
    ::unlinkat(dir.get(), name.c_str(), 0);
    fail(dest, "cannot copy the saved file here: " + errno_text(e));
  }
}

void write_below_atomically(const fs::path& root, const fs::path& rel_dir, const std::string& name,
                            byte_view data) {
  static std::atomic<std::uint64_t> counter{0};
  const auto dest = root / rel_dir / name;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    fail(dest, "not a file name");
  auto dir = open_below(root, rel_dir, true);
  auto tmp =
    "." + name + "." + std::to_string(::getpid()) + "." + std::to_string(counter++) + ".tmp";
  unique_fd out(
    ::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (out.get() < 0)
    fail(root / rel_dir / tmp, "cannot create: " + errno_text(errno));
  if (!write_all(out.get(), data.data(), data.size())) {
    auto e = errno;
    ::unlinkat(dir.get(), tmp.c_str(), 0);
    fail(root / rel_dir / tmp, "cannot write (disk full?): " + errno_text(e));
  }
  out = unique_fd();
  // renameat replaces a link at `name` itself; it never writes through one.
  if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) {
    auto e = errno;
    ::unlinkat(dir.get(), tmp.c_str(), 0);
    fail(dest, "cannot rename the temporary file into place: " + errno_text(e));
  }
}

} // namespace peerlab::net
