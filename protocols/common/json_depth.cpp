#include "protocols/common/json_depth.hpp"

namespace peerlab {

int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit)
        return limit + 1;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::string json_error_text(std::string_view what) {
  constexpr std::size_t most = 300;
  std::string out;
  for (char c : what.substr(0, most))
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return what.size() > most ? out + "..." : out;
}

} // namespace peerlab
