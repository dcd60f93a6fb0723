#include "sim/sweep_grid.hpp"

#include "protocols/common/config_fields.hpp"

#include <set>

namespace peerlab::sim {

using nlohmann::json;

namespace {

// Splits at commas that are not inside [], {} or a JSON string.
std::vector<std::string> split_values(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char ch : s) {
    if (in_string) {
      escaped = !escaped && ch == '\\';
      in_string = escaped || ch != '"';
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      ++depth;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    } else if (ch == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += ch;
  }
  out.push_back(cur);
  return out;
}

json read_value(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return text; // not JSON: a string (e.g. 250ms, exponential)
  }
}

} // namespace

param_axis parse_param(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error("--param " + spec +
                       ": expected POINTER=V1,V2,... (e.g. /network/faults/loss=0,0.01)");
  param_axis a;
  a.pointer = spec.substr(0, eq);
  if (a.pointer[0] != '/')
    throw config_error("--param " + spec + ": the path must be a JSON pointer starting with /");
  try {
    json::json_pointer p(a.pointer);
  } catch (const json::exception&) {
    throw config_error("--param " + spec + ": \"" + a.pointer + "\" is not a valid JSON pointer");
  }
  for (auto& v : split_values(spec.substr(eq + 1))) {
    if (v.empty())
      throw config_error("--param " + spec + ": an empty value");
    a.values.push_back(read_value(v));
  }
  return a;
}

std::string configuration::label() const {
  if (settings.empty())
    return "as written";
  std::string s;
  for (auto& [p, v] : settings)
    s += (s.empty() ? "" : " ") + p + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  return s;
}

std::vector<configuration> sweep_grid(const std::string& file_text, const std::string& origin,
                                      const std::vector<param_axis>& axes) {
  std::vector<configuration> out;
  if (axes.empty()) {
    configuration c;
    c.text = file_text;
    c.spec = parse_scenario(file_text, origin);
    out.push_back(std::move(c));
    return out;
  }
  json doc;
  try {
    doc = json::parse(file_text);
  } catch (const json::exception&) {
    parse_scenario(file_text, origin); // throws the usual error naming the file
    throw;
  }
  std::set<std::string> seen;
  for (auto& a : axes) {
    if (!seen.insert(a.pointer).second)
      throw config_error("--param " + a.pointer + ": given twice");
    bool exists = false;
    try {
      exists = doc.contains(json::json_pointer(a.pointer));
    } catch (const json::exception&) {
    }
    if (!exists)
      throw config_error("--param " + a.pointer + ": no such field in " + origin);
  }
  std::size_t total = 1;
  for (auto& a : axes)
    total *= a.values.size();
  if (total > 100000)
    throw config_error("--param: " + std::to_string(total) + " configurations; at most 100000");
  for (std::size_t i = 0; i < total; ++i) {
    configuration c;
    json d = doc;
    // Mixed radix, the last axis varying fastest.
    std::size_t rest = i, stride = total;
    for (auto& a : axes) {
      stride /= a.values.size();
      auto& v = a.values[rest / stride];
      rest %= stride;
      d[json::json_pointer(a.pointer)] = v;
      c.settings.emplace_back(a.pointer, v);
    }
    c.text = d.dump(2) + "\n";
    try {
      c.spec = parse_scenario(c.text, origin);
    } catch (const config_error& e) {
      std::string msg = e.what();
      if (msg.rfind(origin + ": ", 0) == 0)
        msg = msg.substr(origin.size() + 2);
      throw config_error("--param " + c.label() + ": " + msg);
    }
    out.push_back(std::move(c));
  }
  return out;
}

} // namespace peerlab::sim
