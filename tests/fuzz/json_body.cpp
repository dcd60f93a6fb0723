// Request bodies of the local APIs: parse_json_body accepts exactly the JSON
// nlohmann accepts within the depth bound (and no text with a NUL byte, which
// nlohmann would take for the end of the body), never builds a value nested deeper
// than the bound, and says why it refused.
#include "fuzz_check.hpp"
#include "net/json_body.hpp"

using namespace peerlab;

namespace {
/// Nesting depth of a parsed value (objects and arrays).
int depth(const nlohmann::json& j) {
  int d = 0;
  if (j.is_object() || j.is_array())
    for (auto& v : j)
      d = std::max(d, depth(v));
  return d + (j.is_object() || j.is_array() ? 1 : 0);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr int bound = 8; // small, so short inputs reach it
  std::string err;
  auto j = net::parse_json_body(text, err, bound);
  // nlohmann takes a NUL byte for the end of input; JSON text has none.
  const bool valid = text.find('\0') == std::string_view::npos && nlohmann::json::accept(text);
  if (!j) {
    fuzz::require_error_text(err);
    // Refused JSON that nlohmann accepts must be deeper than the bound.
    if (valid)
      fuzz::require(depth(nlohmann::json::parse(text)) > bound,
                    "json_body refused valid JSON within the depth bound", err);
    return 0;
  }
  fuzz::require(valid, "json_body accepted text nlohmann refuses");
  fuzz::require(depth(*j) <= bound, "json_body built a value deeper than the bound");
  // A repeated key keeps only its last value, so the text may nest deeper than the
  // value it builds (the bound applies to the text, which is what costs memory).
  fuzz::require(net::json_depth(text, bound) >= depth(*j),
                "json_depth of the text is less than the depth of its value");
  return 0;
}
