#pragma once
// Files placed inside a folder without following symbolic links below it.
// Checking a path and then using it by name leaves a window: a folder on the
// way swapped for a link in between would move the file elsewhere. Here the
// folder the config names is opened once, every folder below it is opened
// relative to its parent with O_NOFOLLOW | O_DIRECTORY, and the file is made
// relative to the last descriptor (openat O_CREAT|O_EXCL|O_NOFOLLOW,
// linkat, renameat), so a link anywhere below the folder is refused instead
// of followed.
#include "protocols/common/types.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

namespace peerlab::net {

struct placement_error : std::runtime_error {
  placement_error(const std::string& m, bool link) : std::runtime_error(m), through_link(link) {}
  bool through_link; // refused because a folder on the way is a link (or not a folder)
};

/// An open file descriptor, closed when it goes.
class unique_fd {
public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd();
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

private:
  int fd_ = -1;
};

/// `rel` must be relative and lexically normal without "..": the parts of a
/// path below a folder. Throws placement_error naming `shown` otherwise.
void check_below(const std::filesystem::path& rel, const std::filesystem::path& shown);

/// Opens `root` (its own path may hold links: the config names it), then each
/// folder of `rel` below it without following a link, creating missing ones
/// when `create`. Throws placement_error naming the folder that is a link,
/// not a folder, or missing.
unique_fd open_below(const std::filesystem::path& root, const std::filesystem::path& rel,
                     bool create);

/// Hard-links (or, across file systems, copies) `source` to `root/rel`; the
/// name must be free. Nothing is written outside `root` whatever is swapped
/// in meanwhile. Throws placement_error naming the destination.
void place_file_below(const std::filesystem::path& source, const std::filesystem::path& root,
                      const std::filesystem::path& rel);

/// Writes `data` to `root/rel_dir/name` through a temporary name in the same
/// folder and renameat (atomic within one file system); creates the folders
/// of rel_dir. Throws placement_error naming the path.
void write_below_atomically(const std::filesystem::path& root, const std::filesystem::path& rel_dir,
                            const std::string& name, byte_view data);

} // namespace peerlab::net
