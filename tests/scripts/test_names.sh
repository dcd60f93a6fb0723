#!/usr/bin/env bash
# ctest runs each Catch2 test case by name and splits names at ';', so a test
# case whose name holds one never runs (ctest reports it as failed). A name
# that starts with '-' is taken by Catch2 for an option and never runs either.
# Refuse both.
set -euo pipefail
cd "$(dirname "$0")/../.."
bad=$(grep -rn --include='*.cpp' -E 'TEST_CASE\("[^"]*;' tests/ || true)
if [ -n "$bad" ]; then
  echo "test case names must not contain ';' (ctest splits them there):"
  echo "$bad"
  exit 1
fi
bad=$(grep -rn --include='*.cpp' -E 'TEST_CASE\("-' tests/ || true)
if [ -n "$bad" ]; then
  echo "test case names must not start with '-' (Catch2 reads them as options):"
  echo "$bad"
  exit 1
fi
echo "test case names: ok"
