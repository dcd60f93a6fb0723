#pragma once
// The results file: one SQLite database per run or sweep. Re-running into the
// same file appends a run and never loses earlier ones. Schema: docs/results.md.
#include "sim/checkers.hpp"
#include "sim/simulator.hpp"

#include <nlohmann/json.hpp>

#include <string>

struct sqlite3;

namespace peerlab::sim {

struct run_info {
  std::string git_commit;
  double wall_seconds = 0;
  nlohmann::json summary;
  std::vector<verdict> verdicts;
  /// Empty: "ok" or "checker_failed" from the verdicts. "runtime_error" for a
  /// run that stopped early (invariant, watchdog, a role threw), with `message`.
  std::string status{};
  std::string message{};
};

/// The status stored for a run: runtime_error if `info.status` says so,
/// otherwise ok or checker_failed from the verdicts.
std::string run_status(const run_info& info);

class results_db {
public:
  /// Opens or creates the file; throws std::runtime_error naming the problem
  /// (not a database, not a peerlab results file, cannot write).
  explicit results_db(const std::string& path);
  ~results_db();
  results_db(const results_db&) = delete;
  results_db& operator=(const results_db&) = delete;

  /// Appends the run in one transaction; returns its run_id.
  std::int64_t append(const run_view& sim, const run_info& info);

private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::string path_;
};

} // namespace peerlab::sim
