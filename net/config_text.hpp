#pragma once
// The JSON text of a config file (a node's, a drop gateway side's), read as a
// file a user may get wrong or an attacker may write: bounded in size and
// nesting before anything is built, and a NUL byte refused (nlohmann would
// take it for the end of the text). Errors are config_error.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace peerlab::net {

/// Nesting depth a config may have (objects and arrays) and its size.
constexpr int config_depth_max = 32;
constexpr std::size_t config_bytes_max = 1u << 20;

/// The parsed text; throws config_error saying what was wrong.
nlohmann::json parse_config_text(std::string_view text);

/// Up to config_bytes_max + 1 bytes of the file (one more than allowed, so
/// parse_config_text sees a file too large). Throws config_error if unreadable.
std::string read_config_file(const std::filesystem::path& file);

} // namespace peerlab::net
