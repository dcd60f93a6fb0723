#include "apps/peerlab/args.hpp"

#include "protocols/common/config_fields.hpp"
#include "protocols/registry.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace peerlab::app {

const char* const exit_codes_text =
  "exit codes: 0 ok, 1 a checker failed or runs differ, 2 bad input or usage,\n"
  "            3 runtime failure (cannot bind, network or I/O error; in a simulation an\n"
  "              invariant violated, a livelock stopped by the watchdog, a role threw)\n";

std::string usage_text(const command_help& c) {
  std::string s = "usage: peerlab " + c.name + (c.synopsis.empty() ? "" : " " + c.synopsis) +
                  "\n  " + c.summary + "\n";
  if (!c.options.empty()) {
    s += "options:\n";
    for (auto& o : c.options) {
      std::string left =
        std::string(o.short_name ? "  -" + std::string(1, o.short_name) + ", --" : "  --") +
        o.name + (o.value.empty() ? "" : " " + o.value);
      if (left.size() < 24)
        left.resize(24, ' ');
      else
        left += "\n" + std::string(24, ' ');
      s += left + o.help + "\n";
    }
    s += "  -h, --help            print this help and exit 0\n";
  }
  if (!c.notes.empty())
    s += c.notes + (c.notes.back() == '\n' ? "" : "\n");
  return s + exit_codes_text;
}

args::args(const command_help& c, int argc, char** argv, int first) : c_(c) {
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      help_ = true;
      return;
    }
    std::string name = a.rfind("--", 0) == 0 ? a.substr(2) : a;
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const option_help* o = nullptr;
    if (a.rfind("--", 0) == 0)
      o = find(name);
    else if (a.size() == 2)
      for (auto& opt : c_.options)
        o = opt.short_name == a[1] ? &opt : o;
    if (!o)
      throw usage_error("unknown option " + (inline_value ? a.substr(0, a.find('=')) : a));
    if (values_.count(o->name) && !o->repeatable)
      throw usage_error("option --" + o->name + " given twice");
    std::string v;
    if (o->value.empty()) {
      if (inline_value)
        throw usage_error("option --" + o->name + " takes no value");
    } else if (inline_value) {
      v = *inline_value;
    } else if (i + 1 < argc) {
      v = argv[++i];
    } else {
      throw usage_error("option --" + o->name + " needs a value (" + o->value + ")");
    }
    values_[o->name] = v;
    repeated_[o->name].push_back(v);
  }
}

const option_help* args::find(std::string_view name) const {
  for (auto& o : c_.options)
    if (o.name == name)
      return &o;
  return nullptr;
}

bool args::flag(std::string_view name) const { return values_.count(name) != 0; }

std::optional<std::string> args::value(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return std::nullopt;
  return it->second;
}

std::string args::value_or(std::string_view name, const std::string& fallback) const {
  auto v = value(name);
  return v ? *v : fallback;
}

std::vector<std::string> args::values(std::string_view name) const {
  auto it = repeated_.find(name);
  return it == repeated_.end() ? std::vector<std::string>{} : it->second;
}

std::string args::required(std::string_view name) const {
  auto v = value(name);
  if (!v) {
    auto* o = find(name);
    throw usage_error("option --" + std::string(name) + " " + (o ? o->value : "VALUE") +
                      " is required");
  }
  return *v;
}

std::optional<std::uint64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 20)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9')
      return std::nullopt;
    auto d = static_cast<std::uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10)
      return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

namespace {

[[noreturn]] void bad_value(std::string_view name, const std::string& v, const char* expected) {
  throw usage_error("--" + std::string(name) + ": expected " + expected + ", got \"" + v + "\"");
}

} // namespace

std::optional<std::uint64_t> args::count(std::string_view name) const {
  auto v = value(name);
  if (!v)
    return std::nullopt;
  auto n = parse_count(*v);
  if (!n)
    bad_value(name, *v, "a non-negative integer");
  return n;
}

std::optional<time_us> args::duration(std::string_view name) const {
  auto v = value(name);
  if (!v)
    return std::nullopt;
  auto d = cfg::parse_duration(*v);
  if (!d)
    bad_value(name, *v, "a duration like 250ms, 10s or 2m");
  return d;
}

std::optional<std::uint64_t> args::size(std::string_view name) const {
  auto v = value(name);
  if (!v)
    return std::nullopt;
  auto n = cfg::parse_size(*v);
  if (!n)
    bad_value(name, *v, "a size like 4MiB, 64KiB or 100");
  return n;
}

std::optional<double> args::probability(std::string_view name) const {
  auto v = value(name);
  if (!v)
    return std::nullopt;
  char* end = nullptr;
  double p = std::strtod(v->c_str(), &end);
  if (v->empty() || !end || *end != 0 || !std::isfinite(p) || p < 0 || p > 1)
    bad_value(name, *v, "a probability from 0 to 1");
  return p;
}

int run_parsed(const command_help& c, int argc, char** argv,
               const std::function<int(const args&)>& body, int first) {
  auto fail = [&](const char* what, int code) {
    std::fprintf(stderr, "peerlab %s: %s\n", c.name.c_str(), what);
    if (code == exit_code::usage)
      std::fprintf(stderr, "(peerlab %s --help shows the usage)\n", c.name.c_str());
    return code;
  };
  try {
    args a(c, argc, argv, first);
    if (a.help()) {
      std::fputs(usage_text(c).c_str(), stdout);
      return exit_code::ok;
    }
    return body(a);
  } catch (const usage_error& e) {
    return fail(e.what(), exit_code::usage);
  } catch (const config_error& e) {
    return fail(e.what(), exit_code::usage);
  } catch (const std::exception& e) {
    return fail(e.what(), exit_code::runtime);
  }
}

} // namespace peerlab::app
