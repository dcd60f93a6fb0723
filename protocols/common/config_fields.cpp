#include "protocols/common/config_fields.hpp"

#include <cmath>
#include <cstdio>
#include <span>
#include <string_view>

namespace peerlab::cfg {

std::string show(const json& v) {
  auto s = v.dump();
  if (s.size() > 60)
    s = s.substr(0, 57) + "...";
  return s;
}

void fail(const std::string& path, const std::string& expected, const json& got) {
  throw config_error(path + ": expected " + expected + ", got " + show(got));
}

void fail_msg(const std::string& path, const std::string& message) {
  throw config_error(path + ": " + message);
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void require_object(const json& v, const std::string& path) {
  if (!v.is_object())
    fail(path.empty() ? "(top level)" : path, "an object", v);
}

void require_array(const json& v, const std::string& path) {
  if (!v.is_array())
    fail(path, "an array", v);
}

void only_keys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  require_object(obj, path);
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string list;
      for (auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      fail_msg(child(path, it.key()), "unknown field (allowed: " + list + ")");
    }
  }
}

const json* member(const json& obj, const std::string& key) {
  if (!obj.is_object())
    return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json& required(const json& obj, const std::string& path, const std::string& key,
                     const std::string& hint) {
  if (auto* v = member(obj, key))
    return *v;
  fail_msg(path, "missing \"" + key + "\"" + (hint.empty() ? "" : " (" + hint + ")"));
}

std::string get_string(const json& v, const std::string& path) {
  if (!v.is_string())
    fail(path, "a string", v);
  return v.get<std::string>();
}

std::uint64_t get_positive(const json& v, const std::string& path) {
  // Unsigned first: ids above 2^63 (half of all live peer ids) are valid.
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() ? v.get<std::uint64_t>() == 0 : v.get<std::int64_t>() <= 0))
    fail(path, "a positive integer", v);
  return v.get<std::uint64_t>();
}

std::uint64_t get_count(const json& v, const std::string& path) {
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0))
    fail(path, "a non-negative integer", v);
  return v.get<std::uint64_t>();
}

double get_number(const json& v, const std::string& path) {
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    fail(path, "a number", v);
  return v.get<double>();
}

double get_probability(const json& v, const std::string& path) {
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
    fail(path, "a probability between 0 and 1", v);
  return v.get<double>();
}

bool get_bool(const json& v, const std::string& path) {
  if (!v.is_boolean())
    fail(path, "true or false", v);
  return v.get<bool>();
}

namespace {

// Splits "12.5ms" into 12.5 and "ms".
bool split_number(const std::string& s, double& num, std::string& unit) {
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                          (i == 0 && (s[i] == '-' || s[i] == '+'))))
    ++i;
  if (i == 0)
    return false;
  try {
    std::size_t used = 0;
    num = std::stod(s.substr(0, i), &used);
    if (used != i)
      return false;
  } catch (...) {
    return false;
  }
  while (i < s.size() && s[i] == ' ')
    ++i;
  unit = s.substr(i);
  return std::isfinite(num);
}

struct unit {
  std::string_view name;
  double multiplier;
};

// "12.5ms" as a number of base units (12500 with ms = 1000): nothing if the
// text is not a non-negative number followed by one of `units`.
std::optional<double> scaled(const std::string& s, std::span<const unit> units) {
  double n = 0;
  std::string u;
  if (!split_number(s, n, u) || n < 0)
    return std::nullopt;
  for (auto& [name, multiplier] : units)
    if (u == name)
      return n * multiplier;
  return std::nullopt;
}

} // namespace

std::optional<time_us> parse_duration(const std::string& s) {
  static constexpr unit units[] = {{"us", 1},   {"ms", 1e3},   {"s", 1e6},    {"", 1e6},
                                   {"m", 60e6}, {"min", 60e6}, {"h", 3600e6}, {"d", 86400e6}};
  auto v = scaled(s, units);
  if (!v || *v > 9.0e18)
    return std::nullopt;
  return static_cast<time_us>(std::llround(*v));
}

std::optional<std::uint64_t> parse_size(const std::string& s) {
  static constexpr unit units[] = {
    {"", 1},     {"B", 1},    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
    {"KB", 1e3}, {"kB", 1e3}, {"MB", 1e6},     {"GB", 1e9}};
  auto v = scaled(s, units);
  if (!v || *v > 1.8e19)
    return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(*v));
}

std::optional<double> parse_rate(const std::string& s) {
  if (s == "unlimited")
    return 0.0;
  static constexpr unit units[] = {
    {"bit/s", 1.0 / 8},     {"kbit/s", 1e3 / 8}, {"Kbit/s", 1e3 / 8}, {"Mbit/s", 1e6 / 8},
    {"Gbit/s", 1e9 / 8},    {"B/s", 1},          {"KB/s", 1e3},       {"kB/s", 1e3},
    {"MB/s", 1e6},          {"GB/s", 1e9},       {"KiB/s", 1024.0},   {"MiB/s", 1048576.0},
    {"GiB/s", 1073741824.0}};
  return scaled(s, units);
}

time_us get_duration(const json& v, const std::string& path) {
  if (v.is_number()) {
    double sec = v.get<double>();
    if (sec < 0 || !std::isfinite(sec) || sec > 9.0e12)
      fail(path, "a duration like \"250ms\", \"10s\", \"2h\"", v);
    return static_cast<time_us>(std::llround(sec * 1e6));
  }
  if (v.is_string())
    if (auto d = parse_duration(v.get<std::string>()))
      return *d;
  fail(path, "a duration like \"250ms\", \"10s\", \"2h\"", v);
}

std::uint64_t get_size(const json& v, const std::string& path) {
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0)
    return v.get<std::uint64_t>();
  if (v.is_string())
    if (auto d = parse_size(v.get<std::string>()))
      return *d;
  fail(path, "a size like \"64KiB\", \"1MiB\", \"2GB\"", v);
}

double get_rate(const json& v, const std::string& path) {
  if (v.is_number() && v.get<double>() >= 0)
    return v.get<double>();
  if (v.is_string())
    if (auto d = parse_rate(v.get<std::string>()))
      return *d;
  fail(path, "a rate like \"10Mbit/s\", \"1Gbit/s\", \"20MB/s\" or \"unlimited\"", v);
}

std::string format_duration(time_us t) {
  char buf[64];
  double s = static_cast<double>(t) / 1e6;
  if (t < 1000)
    std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(t));
  else if (s < 1)
    std::snprintf(buf, sizeof buf, "%.1fms", s * 1e3);
  else if (s < 120)
    std::snprintf(buf, sizeof buf, "%.2fs", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  (static_cast<long long>(s) % 3600) / 60);
  return buf;
}

std::string format_bytes(double b) {
  char buf[64];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  else if (b < 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576);
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824);
  return buf;
}

} // namespace peerlab::cfg
