#!/usr/bin/env bash
# The main job: installs dependencies, builds aihw, then shows what it does — the analog
# versus exact comparison of `aihw demo` and a short forward benchmark against a bare
# sgemm (`aihw bench forward --quick`).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_BUILD_DIR:-$repo/build}"

bash scripts/install-deps.sh
bash scripts/build.sh

echo
echo "== aihw demo =="
"$build_dir/aihw" demo
echo
echo "== aihw bench forward --quick =="
"$build_dir/aihw" bench forward --quick
