#include "net/api_inputs.hpp"
#include "net/folder_walk.hpp"
#include "net/json_body.hpp"

#include "protocols/common/limits.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>

namespace peerlab::net::api_inputs {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string shown(const json& v) {
  auto s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string quote_text(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80))
    out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  return "\"" + out + (s.size() > 80 ? "...\"" : "\"");
}

// The folder itself, canonical if it exists (its own symbolic links resolved).
fs::path real_root(const fs::path& root) {
  std::error_code ec;
  auto c = fs::canonical(root, ec);
  return ec ? root.lexically_normal() : c;
}

} // namespace

json object_body(const std::string& body, const std::vector<std::string>& allowed) {
  std::string err;
  auto parsed = parse_json_body(body, err);
  if (!parsed)
    throw bad_input(400, err);
  json& j = *parsed;
  if (!j.is_object())
    throw bad_input(400, "the body must be a JSON object, got " + shown(j));
  for (auto& [k, _] : j.items())
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      throw bad_input(400, "unknown field " + quote_text(k) + " (known: " + list + ")");
    }
  return j;
}

digest hash_text(const std::string& text, const std::string& what) {
  auto h = digest_from_hex(text.starts_with("0x") ? std::string_view(text).substr(2)
                                                  : std::string_view(text));
  if (!h)
    throw bad_input(400, what + " must be a SHA-256 as 64 hex digits, got " + quote_text(text));
  return *h;
}

std::uint64_t amount(const json& v, const std::string& field, std::uint64_t most) {
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0)
    throw bad_input(400, field + " must not be negative, got " + shown(v));
  if (v.is_number_float()) {
    double d = v.get<double>();
    throw bad_input(400, field +
                           (d < 0 ? " must not be negative"
                                  : " must be a whole number of at most " + std::to_string(most)) +
                           ", got " + shown(v));
  }
  if (!v.is_number_integer())
    throw bad_input(400, field + " must be a non-negative integer, got " + shown(v));
  auto n = v.get<std::uint64_t>();
  if (n > most)
    throw bad_input(400, field + " must be at most " + std::to_string(most) + ", got " + shown(v));
  return n;
}

peer_id peer_text(const json& v, const std::string& field) {
  if (!v.is_string())
    throw bad_input(400, field + " must be a decimal peer id in a string, got " + shown(v));
  auto s = v.get<std::string>();
  peer_id p = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    throw bad_input(400, field + " must be a decimal peer id, got " + quote_text(s));
  return p;
}

std::string text(const json& v, const std::string& field, std::size_t most) {
  if (!v.is_string())
    throw bad_input(400, field + " must be a string, got " + shown(v));
  auto s = v.get<std::string>();
  if (s.empty())
    throw bad_input(400, field + " must not be empty");
  if (s.size() > most)
    throw bad_input(400, field + " is longer than " + std::to_string(most) + " bytes");
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      throw bad_input(400, field + " contains a control character");
  return s;
}

bool inside(const fs::path& p, const fs::path& root) {
  auto r = root.begin(), x = p.begin();
  for (; r != root.end(); ++r, ++x) {
    if (r->empty() && std::next(r) == root.end())
      return true; // "dir/" ends with an empty element
    if (x == p.end() || *x != *r)
      return false;
  }
  return true;
}

fs::path file_to_provide(const std::string& path, const std::vector<fs::path>& roots) {
  if (roots.empty())
    throw bad_input(403, "this node allows no folder to provide files from (api.provide_dirs)");
  if (path.size() > 4096)
    throw bad_input(400, "file_path is longer than 4096 bytes");
  fs::path p(path);
  if (p.is_relative())
    p = roots.front() / p;
  p = p.lexically_normal();
  auto allowed = [&](const fs::path& x, bool real) {
    for (auto& r : roots)
      if (inside(x, real ? real_root(r) : r.lexically_normal()))
        return true;
    return false;
  };
  if (!allowed(p, false))
    throw bad_input(403, "file_path " + quote_text(path) +
                           " is outside the folders this node provides from");
  std::error_code ec;
  auto real = fs::canonical(p, ec);
  if (ec)
    throw bad_input(404, "file_path " + quote_text(path) + ": " + ec.message());
  if (!allowed(real, true))
    throw bad_input(403, "file_path " + quote_text(path) +
                           " leads outside the folders this node provides from");
  if (!fs::is_regular_file(real, ec))
    throw bad_input(400, "file_path " + quote_text(path) + " is not a regular file");
  auto size = fs::file_size(real, ec);
  if (ec)
    throw bad_input(400, "file_path " + quote_text(path) + ": " + ec.message());
  if (size > limits::file_bytes_max)
    throw bad_input(413, "file_path " + quote_text(path) + " is larger than " +
                           std::to_string(limits::file_bytes_max) + " bytes");
  return real;
}

fs::path new_file_inside(const std::string& path, const fs::path& root) {
  if (path.size() > 4096)
    throw bad_input(400, "dest_path is longer than 4096 bytes");
  const auto base = root.lexically_normal();
  fs::path p(path);
  if (p.is_relative())
    p = base / p;
  p = p.lexically_normal();
  auto name = p.filename();
  if (name.empty() || name == "." || name == "..")
    throw bad_input(400, "dest_path " + quote_text(path) + " does not name a file");
  if (!inside(p, base))
    throw bad_input(403, "dest_path " + quote_text(path) + " is outside the download folder");
  // Its folders are opened one by one without following links: a link below
  // the download folder could be swapped before the file is placed, so none
  // is accepted (net/folder_walk.hpp places the file the same way).
  auto rel = p.lexically_relative(base);
  unique_fd dir;
  try {
    dir = open_below(base, rel.parent_path(), false);
  } catch (const placement_error& e) {
    if (e.through_link)
      throw bad_input(403, "dest_path " + quote_text(path) +
                             " goes through a symbolic link below the download folder (" +
                             e.what() + ")");
    throw bad_input(400, "dest_path " + quote_text(path) + ": its folder does not exist");
  }
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    throw bad_input(409, "dest_path " + quote_text(path) + " already exists");
  if (errno != ENOENT)
    throw bad_input(400, "dest_path " + quote_text(path) + ": " + std::strerror(errno));
  return base / rel;
}

} // namespace peerlab::net::api_inputs
