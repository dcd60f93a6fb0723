#pragma once
// Parsing a JSON request body from a client that may be hostile: the nesting
// depth is checked on the text before anything is built, because a body of
// 32 MiB of "[" would otherwise become 32 million nested values (about 1 GiB).
#include "protocols/common/json_depth.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace peerlab::net {

/// Nesting depth a request body may have (objects and arrays).
constexpr int json_body_depth_max = 32;

using peerlab::json_depth; // protocols/common/json_depth.hpp

/// The parsed body, or nullopt with `err` saying what was wrong (not JSON,
/// nested deeper than the bound).
std::optional<nlohmann::json> parse_json_body(std::string_view text, std::string& err,
                                              int max_depth = json_body_depth_max);

} // namespace peerlab::net
