#pragma once
// Secrets a node keeps in its data folder (its TLS key, its API token): read
// without following a link and refused when others may read or change them;
// written 0600 under a temporary name and renamed, so a crash never leaves
// half a file.
#include <filesystem>
#include <optional>
#include <string>

namespace peerlab::net {

/// The file's text, or nothing if it does not exist. Throws std::runtime_error
/// "WHAT FILE: problem" when it is a link, not a regular file, readable or
/// writable by group or others, or larger than `max_bytes`.
std::optional<std::string> read_private_file(const std::filesystem::path& file,
                                             const std::string& what, std::size_t max_bytes);

/// Creates or replaces `file` with `text`, mode 0600. Throws std::runtime_error.
void write_private_file(const std::filesystem::path& file, const std::string& what,
                        const std::string& text);

/// The local API token in `file` (64 hex digits), created from 32 random
/// bytes on first use. Throws std::runtime_error as read_private_file, or
/// when the file holds something else.
std::string load_or_create_api_token(const std::filesystem::path& file);

} // namespace peerlab::net
