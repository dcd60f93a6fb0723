#include "net/config_text.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/common/json_depth.hpp"

#include <fstream>

namespace peerlab::net {

nlohmann::json parse_config_text(std::string_view text) {
  if (text.size() > config_bytes_max)
    throw config_error("larger than " + std::to_string(config_bytes_max) + " bytes");
  if (json_depth(text, config_depth_max) > config_depth_max)
    throw config_error("nests objects and arrays deeper than " + std::to_string(config_depth_max) +
                       " levels");
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    throw config_error("not valid JSON: a NUL byte at offset " + std::to_string(nul));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) { // parse_error, or out_of_range (a huge number)
    throw config_error(std::string("not valid JSON: ") + json_error_text(e.what()));
  }
}

std::string read_config_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw config_error(file.string() + ": cannot be read");
  std::string text(config_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

} // namespace peerlab::net
