#pragma once
// The one argument parser of the peerlab subcommands. Every subcommand
// describes itself once in a `command_help`; the parser's checks and the
// usage text both come from it, so they cannot disagree.
//
// Style, the same everywhere: `--name VALUE` (or `--name=VALUE`) options,
// `--name` flags, positional arguments in any order between them, `--` ends
// the options, `--help`/`-h` prints the usage. Durations are written like
// 10s or 250ms, sizes like 4MiB, probabilities as numbers in [0, 1].
#include "protocols/common/types.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace peerlab::app {

/// The exit codes of every subcommand (docs/cli.md).
namespace exit_code {
constexpr int ok = 0;
constexpr int failed = 1;  // a checker failed, runs differ, a download or verification failed
constexpr int usage = 2;   // bad usage or bad input (nothing was changed)
constexpr int runtime = 3; // a runtime failure: cannot bind, network or I/O error
} // namespace exit_code

/// The exit-code paragraph every usage text ends with.
extern const char* const exit_codes_text;

/// Bad usage or bad input: the subcommand prints the message and exits 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct option_help {
  std::string name;        // without the leading "--"
  std::string value;       // placeholder in the usage ("N", "FILE", "D"); empty for a flag
  std::string help;        // one line
  bool repeatable = false; // may be given more than once (args::values)
  char short_name = 0;     // e.g. 'j' for -j; 0 = none
};

struct command_help {
  std::string name;     // as typed after "peerlab": "run", "set upload"
  std::string synopsis; // what follows the name: "SCENARIO [options]"
  std::string summary;  // one line
  std::vector<option_help> options;
  std::string notes; // further lines, may be empty
};

/// The usage text: synopsis, summary, options, notes and exit codes.
std::string usage_text(const command_help& c);

class args {
public:
  /// Parses argv[first..argc). Throws usage_error naming an unknown option, a
  /// missing value, or an option given twice.
  args(const command_help& c, int argc, char** argv, int first = 1);

  /// --help or -h was given (nothing else is checked then).
  bool help() const { return help_; }
  const std::vector<std::string>& positional() const { return positional_; }
  bool flag(std::string_view name) const;
  /// The value of an option, nullopt if it was not given.
  std::optional<std::string> value(std::string_view name) const;
  std::string value_or(std::string_view name, const std::string& fallback) const;
  /// Every value of a repeatable option, in the order given.
  std::vector<std::string> values(std::string_view name) const;
  /// The value of an option that must be given (usage_error otherwise).
  std::string required(std::string_view name) const;

  // Typed values: nullopt if the option was not given; usage_error naming the
  // option and the text if it does not parse.
  std::optional<std::uint64_t> count(std::string_view name) const; // non-negative integer
  std::optional<time_us> duration(std::string_view name) const;    // 10s, 250ms, 2m
  std::optional<std::uint64_t> size(std::string_view name) const;  // 4MiB, 64KiB, 100
  std::optional<double> probability(std::string_view name) const;  // 0 .. 1

private:
  const option_help* find(std::string_view name) const;
  const command_help& c_;
  bool help_ = false;
  std::vector<std::string> positional_;
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::vector<std::string>, std::less<>> repeated_;
};

/// A non-negative decimal integer ("7"), nullopt otherwise.
std::optional<std::uint64_t> parse_count(const std::string& s);

/// Parses the arguments and runs `body`. --help prints the usage on stdout and
/// returns 0. A usage_error or config_error prints "peerlab NAME: message" and
/// a hint on stderr and returns 2; any other exception returns 3.
int run_parsed(const command_help& c, int argc, char** argv,
               const std::function<int(const args&)>& body, int first = 1);

} // namespace peerlab::app
