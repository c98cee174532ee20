#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds once (release preset) and runs every test.
# Usage: bash scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release -j2 "$@"
