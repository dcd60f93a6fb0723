#include "net/json_body.hpp"

namespace peerlab::net {

std::optional<nlohmann::json> parse_json_body(std::string_view text, std::string& err,
                                              int max_depth) {
  if (json_depth(text, max_depth) > max_depth) {
    err = "the body nests objects and arrays deeper than " + std::to_string(max_depth) + " levels";
    return std::nullopt;
  }
  // nlohmann's lexer takes a NUL byte for the end of input, so "{}\0garbage"
  // would parse as {} with the rest ignored. JSON text never holds a raw NUL
  // (not even inside a string), so such a body is refused whole.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    err = "the body is not valid JSON (NUL byte at offset " + std::to_string(nul) + ")";
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    err = "the body is not valid JSON";
    return std::nullopt;
  }
  return j;
}

} // namespace peerlab::net
