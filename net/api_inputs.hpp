#pragma once
// Validation of what the local HTTP API receives, before anything is
// changed: JSON bodies, hashes, prices, peer ids and paths that must stay
// inside the folders the node's config allows. Every check throws
// bad_input with the HTTP status and a message naming the field.
#include "protocols/common/sha256.hpp"
#include "protocols/common/types.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace peerlab::net::api_inputs {

struct bad_input : std::runtime_error {
  bad_input(unsigned s, const std::string& m) : std::runtime_error(m), status(s) {}
  unsigned status;
};

/// The body as a JSON object whose keys are all in `allowed`.
nlohmann::json object_body(const std::string& body, const std::vector<std::string>& allowed);

/// 64 hex digits (an optional "0x" prefix is accepted).
digest hash_text(const std::string& text, const std::string& what);

/// A JSON integer from 0 to `most` (negative, fractional, huge, strings and
/// booleans are refused). `field` names it in the message.
std::uint64_t amount(const nlohmann::json& v, const std::string& field, std::uint64_t most);

/// A decimal peer id in a JSON string (ids do not fit a JSON number exactly).
peer_id peer_text(const nlohmann::json& v, const std::string& field);

/// A non-empty string of at most `most` bytes without control characters.
std::string text(const nlohmann::json& v, const std::string& field, std::size_t most);

/// True if `p` is `root` or lies under it (both absolute and normal).
bool inside(const std::filesystem::path& p, const std::filesystem::path& root);

/// An existing regular file inside one of `roots` (relative paths are taken
/// relative to the first root). Checked before and after resolving symbolic
/// links, so a link cannot lead outside. Returns the resolved path.
std::filesystem::path file_to_provide(const std::string& path,
                                      const std::vector<std::filesystem::path>& roots);

/// A path for a new file inside `root` (relative paths are relative to it):
/// its folder must exist inside `root` with no symbolic link below `root` on
/// the way (opened one by one with O_NOFOLLOW), the name must be free.
/// Returns root (lexically normal) / the path below it.
std::filesystem::path new_file_inside(const std::string& path, const std::filesystem::path& root);

} // namespace peerlab::net::api_inputs
