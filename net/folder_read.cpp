#include "net/folder_read.hpp"

#include "net/folder_walk.hpp" // unique_fd

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace peerlab::net {

folder_file read_file_in(const std::filesystem::path& folder, std::string_view name,
                         std::size_t max_bytes) {
  folder_file f;
  auto refuse = [&](unsigned status, std::string why) {
    f.status = status;
    f.error = std::move(why);
    return f;
  };
  if (name.empty() || name.front() == '.' || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return refuse(400, "a file name without '/' that does not start with '.'");
  unique_fd dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0)
    return refuse(404, "the folder cannot be opened: " + std::string(std::strerror(errno)));
  std::string n(name);
  unique_fd fd(::openat(dir.get(), n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP)
      return refuse(403, "a symbolic link is not served");
    return refuse(404, "no such file");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return refuse(403, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return refuse(413, "larger than " + std::to_string(max_bytes) + " bytes");
  f.data.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < f.data.size()) {
    auto r = ::read(fd.get(), f.data.data() + got, f.data.size() - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return refuse(404, "cannot read: " + std::string(std::strerror(errno)));
    if (r == 0)
      break; // shrank meanwhile: serve what is there
    got += static_cast<std::size_t>(r);
  }
  f.data.resize(got);
  return f;
}

} // namespace peerlab::net
