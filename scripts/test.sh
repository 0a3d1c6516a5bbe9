#!/usr/bin/env bash
# The test command: installs dependencies, builds aihw with its tests, runs the whole CTest
# suite. Prints CTest's summary line ("100% tests passed, 0 tests failed out of N") and
# exits with CTest's status. Extra arguments go to ctest (e.g. -L unit, -R philox).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_BUILD_DIR:-$repo/build}"

bash scripts/install-deps.sh
bash scripts/build.sh -DAIHW_BUILD_TESTS=ON

jobs="$(nproc 2>/dev/null || echo 2)"
echo
echo "test: ctest --test-dir $build_dir --output-on-failure -j$jobs $*"
status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" "$@" || status=$?
exit "$status"
