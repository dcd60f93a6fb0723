#!/usr/bin/env bash
# Prints the largest functions (lines from signature to closing brace) of the
# C++ sources, largest first. Uses universal-ctags (Debian: universal-ctags).
# Usage: scripts/largest_functions.sh [count] [folders...]
#   default: 10 functions of protocols/ actors/ sim/ net/ apps/
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10}
shift || true
DIRS=("$@")
((${#DIRS[@]})) || DIRS=(protocols actors sim net apps)
command -v ctags >/dev/null || { echo "largest_functions: needs universal-ctags" >&2; exit 2; }
ctags --version | grep -q "Universal Ctags" ||
  { echo "largest_functions: ctags is not universal-ctags" >&2; exit 2; }
# One tag per function definition with its line and end; lambdas (__anon) are
# counted inside the function that holds them.
ctags -R --languages=C++ --c++-kinds=f --fields=+ne --extras=-q --sort=no -o - "${DIRS[@]}" |
  awk -F'\t' '
    $1 !~ /^__anon/ {
      line = 0; end = 0; scope = ""
      for (i = 4; i <= NF; i++) {
        if ($i ~ /^line:/) line = substr($i, 6)
        else if ($i ~ /^end:/) end = substr($i, 5)
        else if ($i ~ /^(class|struct|namespace|function):/) { scope = $i; sub(/^[a-z]+:/, "", scope) }
      }
      if (line > 0 && end >= line) {
        name = $1
        # Qualify by the innermost named scope (anonymous namespaces skipped).
        n = split(scope, parts, "::")
        while (n > 0 && parts[n] ~ /^__anon/) n--
        if (n > 0) name = parts[n] "::" $1
        printf "%d\t%s:%d\t%s\n", end - line + 1, $2, line, name
      }
    }' |
  sort -t$'\t' -k1,1nr -k2,2 | head -n "$COUNT" |
  awk -F'\t' '{ printf "%5d  %-40s %s\n", $1, $2, $3 }'
