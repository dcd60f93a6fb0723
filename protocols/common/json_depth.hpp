#pragma once
// The nesting depth of JSON text, measured before it is parsed: input from a
// user or a client may be megabytes of "[", which nlohmann would turn into as
// many nested values (and copying or destroying such a value recurses).
#include <string>
#include <string_view>

namespace peerlab {

/// The deepest nesting of objects and arrays in `text` (brackets inside
/// strings do not count), or `limit + 1` as soon as it goes past `limit`.
int json_depth(std::string_view text, int limit);

/// nlohmann's parse error for a message: its "last read" part holds the whole
/// token so far (a long string quotes kilobytes, bytes as read), so the text
/// is cut at 300 bytes and bytes outside printable ASCII become '?'.
std::string json_error_text(std::string_view what);

} // namespace peerlab
