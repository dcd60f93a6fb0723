#pragma once
// A fresh folder under the system temp dir (mkdtemp), removed when the test ends.
#include <filesystem>
#include <stdexcept>
#include <stdlib.h>
#include <string>

namespace peerlab::test {

class temp_dir {
public:
  explicit temp_dir(const std::string& tag) {
    auto pattern =
      (std::filesystem::temp_directory_path() / ("peerlab-" + tag + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace peerlab::test
