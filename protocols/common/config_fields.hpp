#pragma once
// Reading JSON configuration with errors that name the path and what was
// expected: `nodes[2].count: expected a positive integer, got "ten"`.
// Shared by role parameters (protocols/<x>/module.cpp), scenario files (sim/)
// and live node configs (net/).
#include "protocols/common/types.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace peerlab {

/// A configuration error; `what()` names the JSON path and the problem.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace peerlab

namespace peerlab::cfg {

using nlohmann::json;

/// Short rendering of a JSON value for error messages.
std::string show(const json& v);

[[noreturn]] void fail(const std::string& path, const std::string& expected, const json& got);
[[noreturn]] void fail_msg(const std::string& path, const std::string& message);

std::string child(const std::string& path, const std::string& key);
std::string index(const std::string& path, std::size_t i);

/// Rejects keys that are not in `allowed` (typos must not be silently ignored).
void only_keys(const json& obj, const std::string& path, const std::set<std::string>& allowed);
void require_object(const json& v, const std::string& path);
void require_array(const json& v, const std::string& path);

std::string get_string(const json& v, const std::string& path);
std::uint64_t get_positive(const json& v, const std::string& path); // integer > 0
std::uint64_t get_count(const json& v, const std::string& path);    // integer >= 0
double get_number(const json& v, const std::string& path);
double get_probability(const json& v, const std::string& path); // in [0, 1]
bool get_bool(const json& v, const std::string& path);
/// "250ms", "10s", "2m", "1.5h", "2d", "800us", or a number of seconds.
time_us get_duration(const json& v, const std::string& path);
/// "64KiB", "1MiB", "2GB", "100", or a number of bytes.
std::uint64_t get_size(const json& v, const std::string& path);
/// "10Mbit/s", "1Gbit/s", "500kbit/s", "20MB/s" -> bytes per second; 0 = unlimited.
double get_rate(const json& v, const std::string& path);

/// Optional member access: returns nullptr when absent.
const json* member(const json& obj, const std::string& key);
/// The member `key` that `obj` (at `path`) must have; config_error at `path`
/// if it is absent: `missing "key"`, then ` (hint)` if a hint says what it holds.
const json& required(const json& obj, const std::string& path, const std::string& key,
                     const std::string& hint = "");

/// Reads the optional keys of one JSON object into config fields: an absent key
/// leaves the field's default, a present one must hold the right kind of value
/// and fit the field, else config_error names the key's path.
class fields {
public:
  fields(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  const json* operator[](const char* key) const { return member(obj_, key); }
  std::string path(const char* key) const { return child(path_, key); }

  void duration(const char* key, time_us& field) const {
    if (auto* v = member(obj_, key))
      field = get_duration(*v, path(key));
  }
  void flag(const char* key, bool& field) const {
    if (auto* v = member(obj_, key))
      field = get_bool(*v, path(key));
  }
  void probability(const char* key, double& field) const {
    if (auto* v = member(obj_, key))
      field = get_probability(*v, path(key));
  }
  void text(const char* key, std::string& field) const {
    if (auto* v = member(obj_, key))
      field = get_string(*v, path(key));
  }
  /// An integer >= 0.
  template <typename T>
  void count(const char* key, T& field) const {
    if (auto* v = member(obj_, key))
      field = fitted<T>(get_count(*v, path(key)), *v, key);
  }
  /// An integer > 0.
  template <typename T>
  void positive(const char* key, T& field) const {
    if (auto* v = member(obj_, key))
      field = fitted<T>(get_positive(*v, path(key)), *v, key);
  }
  /// A size ("64KiB" or bytes).
  template <typename T>
  void size(const char* key, T& field) const {
    if (auto* v = member(obj_, key))
      field = fitted<T>(get_size(*v, path(key)), *v, key);
  }

private:
  template <typename T>
  T fitted(std::uint64_t n, const json& v, const char* key) const {
    if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      fail(path(key), "at most " + std::to_string(std::numeric_limits<T>::max()), v);
    return static_cast<T>(n);
  }

  const json& obj_;
  std::string path_;
};

// Parsing of plain strings (shared with the CLI).
std::optional<time_us> parse_duration(const std::string& s);
std::optional<std::uint64_t> parse_size(const std::string& s);
std::optional<double> parse_rate(const std::string& s);

/// Formats microseconds as a short human string ("1.25s", "3m20s").
std::string format_duration(time_us t);
std::string format_bytes(double b);

} // namespace peerlab::cfg
