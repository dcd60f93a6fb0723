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
bad=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find protocols actors sim net apps tests bench -name '*.[ch]pp')
if [ $bad = 0 ]; then echo "format check: 1 passed, 0 failed"; else echo "format check: 0 passed, 1 failed ($bad files)"; fi
[ $bad = 0 ]
