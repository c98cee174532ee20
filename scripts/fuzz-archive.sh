#!/usr/bin/env bash
# Builds the archive reader's libFuzzer target with clang (a build of just `common` and
# `archive`, through a small generated top-level project) and runs it.
# Usage: scripts/fuzz-archive.sh [seconds=30] [build-dir=build/fuzz-archive]
# Seeds: test/testdata/archive/ (the golden archive and the hostile ones); new inputs go to
# <build-dir>/corpus. A crash leaves crash-* files in <build-dir> and exits non-zero.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
build=$(mkdir -p "${2:-$root/build/fuzz-archive}" && cd "${2:-$root/build/fuzz-archive}" && pwd)
cxx=${LIFEBOAT_FUZZ_CXX:-clang++-14}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz-archive: $cxx not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi

wrap=$build/project
mkdir -p "$wrap"
for d in cmake include src; do ln -sfn "$root/$d" "$wrap/$d"; done
cat >"$wrap/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(lifeboat_fuzz_archive LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
include(cmake/LifeboatHelpers.cmake)
find_package(Threads REQUIRED)
find_package(Boost 1.81.0 CONFIG REQUIRED COMPONENTS json)
find_package(absl REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(GTest REQUIRED)
find_package(ZLIB REQUIRED)
find_package(simdjson REQUIRED)
set(LIFEBOAT_FUZZ ON CACHE BOOL "" FORCE)
add_subdirectory(src/common)
add_subdirectory(src/archive)
CMAKE

cmake -S "$wrap" -B "$build/obj" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
ninja -C "$build/obj" -j2 archive_reader_fuzzer

mkdir -p "$build/corpus"
cd "$build"
echo "fuzz-archive: running for ${seconds}s"
"$build/obj/src/archive/archive_reader_fuzzer" -max_total_time="$seconds" -max_len=262144 \
  -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  "$build/corpus" "$root/test/testdata/archive"
