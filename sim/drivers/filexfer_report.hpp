#pragma once
// Checkers and summary of the file-transfer driver, on its download outcomes.
#include "sim/drivers/filexfer_driver.hpp"

namespace peerlab::sim::filexfer_sim {

const std::vector<std::string>& checker_names();
/// Validates a filexfer checker item and fills `c.min` / `c.grace`.
void parse_checker(checker_spec& c, const std::string& path);
/// Evaluates checker `c`; false if it is not a filexfer checker.
bool evaluate(const download_outcomes& d, time_us end, const checker_spec& c, verdict& v);
/// The "downloads" part of the run summary (with its text lines).
nlohmann::json summary(const download_outcomes& d);

} // namespace peerlab::sim::filexfer_sim
