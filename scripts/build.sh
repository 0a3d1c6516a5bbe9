#!/usr/bin/env bash
# Configures and builds aihw (Release) into ./build of the repository, using every core.
# Extra arguments go to the CMake configure step, e.g.
#   ./scripts/build.sh -DAIHW_NATIVE=OFF
# Environment: AIHW_BUILD_DIR overrides the build directory (default: <repo>/build).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_BUILD_DIR:-$repo/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

echo "build: configuring $build_dir (Release)"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@"
echo "build: compiling with -j$jobs"
cmake --build "$build_dir" -j"$jobs"
