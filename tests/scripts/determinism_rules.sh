#!/usr/bin/env bash
# The determinism rules of docs/architecture.md, enforced by grep:
# protocols/, actors/ and sim/ never read a clock, sleep, use a global or
# non-portable RNG, or std::hash; protocols/ includes nothing of CAF or Boost.
# web/wasm/ (the WebAssembly role host) gets time and seeds from JavaScript:
# it reads no clock and no random device either.
# sim/ reads a wall clock in one file only, sim/wall_clock.cpp, for the
# progress line and speed figures; nothing it returns reaches a run.
set -uo pipefail
ROOT=${1:?repo root}
cd "$ROOT"
fail=0
check() {
  local what=$1 pattern=$2; shift 2
  local hits
  hits=$(grep -rnE "$pattern" "$@" --include='*.hpp' --include='*.cpp' 2>/dev/null \
    | grep -v '^sim/wall_clock\.cpp:' || true)
  if [ -n "$hits" ]; then
    echo "FORBIDDEN ($what):"
    echo "$hits"
    fail=1
  fi
}
check "wall or steady clock" '(steady_clock|system_clock|high_resolution_clock)::now|\btime\(nullptr\)|gettimeofday|clock_gettime' protocols actors sim web/wasm
check "sleeping" 'sleep_for|sleep_until|\busleep\(|\bsleep\(' protocols actors sim web/wasm
check "non-deterministic RNG" 'random_device|\brand\(\)|srand\(|std::mt19937|default_random_engine' protocols actors sim web/wasm
check "library-dependent distributions" 'std::(uniform_int|uniform_real|normal|exponential|bernoulli|poisson|lognormal|weibull)_distribution' protocols actors sim
check "std::hash" 'std::hash<' protocols actors sim
check "CAF or Boost in protocols/" '#include <(caf|boost)/' protocols
check "Asio in sim/" '#include <boost/asio' sim
if [ $fail = 0 ]; then echo "determinism rules: 1 passed, 0 failed"; else echo "determinism rules: 0 passed, 1 failed"; fi
exit $fail
