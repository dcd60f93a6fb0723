#!/usr/bin/env bash
# Every C++ file is formatted by the repository's .clang-format
# (run `git ls-files '*.cpp' '*.hpp' | xargs clang-format -i` to fix).
set -uo pipefail
ROOT=${1:?repo root}
cd "$ROOT"
if ! command -v clang-format >/dev/null; then
  echo "format check: clang-format is not installed (scripts/setup.sh installs it)"
  exit 1
fi
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find protocols actors sim net apps tests bench -name '*.[ch]pp')
# One clang-format per 16 files, as many at once as there are cores; each
# unformatted place is reported as "FILE:LINE:COL: error: ...".
bad=$(echo "$files" | xargs -P "$(nproc)" -n 16 clang-format --dry-run -Werror 2>&1 >/dev/null |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error:.*/\1/p' | sort -u)
if [ -z "$bad" ]; then
  echo "format check: 1 passed, 0 failed ($(echo "$files" | wc -l) files)"
  exit 0
fi
echo "$bad" | sed 's/^/not formatted: /'
echo "format check: 0 passed, 1 failed ($(echo "$bad" | wc -l) files)"
exit 1
