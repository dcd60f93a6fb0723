#pragma once
// The peerlab subcommands. Each returns the process exit code:
// 0 success, 1 a checker failed or runs differ, 2 bad usage or bad input,
// 3 runtime failure (apps/peerlab/args.hpp exit_code).
namespace peerlab::app {

int run_command(int argc, char** argv);
int check_command(int argc, char** argv);
int sweep_command(int argc, char** argv);
int validate_command(int argc, char** argv);
int fuzz_command(int argc, char** argv);    // apps/peerlab/fuzz_command.cpp
int testbed_command(int argc, char** argv); // apps/peerlab/testbed_command.cpp
int parity_command(int argc, char** argv);  // apps/peerlab/parity_command.cpp

} // namespace peerlab::app
