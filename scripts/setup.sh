#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages only), the pinned npm packages of
# web/ (web/package-lock.json) and builds peerlab.
# Usage: scripts/setup.sh [build-dir] [build-type]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
BUILD_TYPE=${2:-Release}

PACKAGES=(
  g++ cmake ninja-build pkg-config git ccache clang-format universal-ctags
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
  libcaf-dev libboost-dev libsqlite3-dev libssl-dev zlib1g-dev libxxhash-dev libisal-dev
  nlohmann-json3-dev libbenchmark-dev catch2
  sqlite3 openssl curl time
  python3 python3-pandas python3-matplotlib python3-nbformat python3-nbconvert
  python3-ipykernel jupyter-nbconvert jupyter-client
  emscripten chromium
  slurmctld slurmd slurm-client munge
)
# Roles in WebAssembly (docs/wasm.md) need node and npm. A node already on PATH
# (e.g. a newer one from another source) is kept; otherwise Debian's, which
# needs the two modules its own build leaves out.
if ! command -v node >/dev/null; then
  PACKAGES+=(nodejs npm node-cjs-module-lexer node-undici)
elif ! command -v npm >/dev/null; then
  PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# web/node_modules from the lockfile, when missing or older than the lockfile.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
  echo "[setup] npm ci in web/"
  npm ci --prefix web --no-audit --no-fund --loglevel=error >/dev/null
  touch web/node_modules
fi

JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
