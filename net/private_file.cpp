#include "net/private_file.hpp"

#include <openssl/rand.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace peerlab::net {

namespace {
[[noreturn]] void fail(const std::string& what, const std::filesystem::path& file,
                       const std::string& problem) {
  throw std::runtime_error(what + " " + file.string() + ": " + problem);
}
} // namespace

std::optional<std::string> read_private_file(const std::filesystem::path& file,
                                             const std::string& what, std::size_t max_bytes) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    fail(what, file, std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(what, file, "not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    fail(what, file,
         std::string("mode ") + mode +
           " lets others read or change it; `chmod 600` it (or delete it for a new one)");
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    fail(what, file, "larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  auto n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    fail(what, file, "short read");
  return text;
}

void write_private_file(const std::filesystem::path& file, const std::string& what,
                        const std::string& text) {
  auto tmp = file;
  tmp += ".new";
  ::unlink(tmp.c_str()); // a leftover of a crash between create and rename
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    fail(what, tmp, std::string("cannot create: ") + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail(what, file, std::string("cannot write: ") + std::strerror(errno));
  }
  auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

std::string load_or_create_api_token(const std::filesystem::path& file) {
  constexpr std::size_t hex_digits = 64;
  if (auto text = read_private_file(file, "API token", 4096)) {
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
      text->pop_back();
    bool hex = text->size() == hex_digits &&
               text->find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex)
      fail("API token", file, "expected 64 lower-case hex digits (delete it for a new one)");
    return *text;
  }
  std::array<unsigned char, hex_digits / 2> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("cannot draw random bytes for the API token");
  std::string token;
  char buf[3];
  for (auto b : raw) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    token += buf;
  }
  write_private_file(file, "API token", token + "\n");
  return token;
}

} // namespace peerlab::net
