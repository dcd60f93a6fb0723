// sim_fingerprint SCENARIO...: runs each scenario file with its pinned seed on
// the simulator alone (no net/, no apps/) and prints "<fingerprint> <path>".
// CI builds it with gcc and with clang (ASan+UBSan) and compares the lines:
// the same scenario and seed must give the same run whatever the compiler.
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: sim_fingerprint SCENARIO...\n");
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    try {
      auto s = peerlab::sim::load_scenario(argv[i]);
      peerlab::sim::simulator sim(s, peerlab::sim::sim_options{});
      sim.run();
      std::printf("%s %s\n", sim.chain().hex().c_str(), argv[i]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sim_fingerprint: %s: %s\n", argv[i], e.what());
      return 1;
    }
  }
  return 0;
}
