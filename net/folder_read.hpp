#pragma once
// Reading one file that lies directly inside a folder, by a name a client
// chose: the folder is opened once and the file relative to it with
// openat(O_NOFOLLOW), so a name that is a symbolic link, a folder, a dot
// name or one holding '/' is refused, and a link swapped in for the file
// between a check and its use is never followed.
#include <filesystem>
#include <string>
#include <string_view>

namespace peerlab::net {

struct folder_file {
  unsigned status = 200; // 200, 400 (a bad name), 403 (a link, not a regular file), 404, 413
  std::string error;     // why, when status != 200
  std::string data;
};

/// The file `name` of `folder`, at most `max_bytes` long.
folder_file read_file_in(const std::filesystem::path& folder, std::string_view name,
                         std::size_t max_bytes);

} // namespace peerlab::net
