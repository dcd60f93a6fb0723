#pragma once
// The deterministic file-drop channel of the long-run tests. It lives in
// protocols/droplog/testing/ so that `peerlab droplog-table` runs the same
// harness as these tests.
#include "helpers.hpp"
#include "protocols/droplog/testing/channel_harness.hpp"
#include "protocols/droplog/testing/figures_table.hpp"

namespace droplog_test {

using peerlab::droplog::testing::channel_params;
using peerlab::droplog::testing::channel_run;
using peerlab::droplog::testing::workload;

} // namespace droplog_test
