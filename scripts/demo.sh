#!/usr/bin/env bash
# The main job: installs dependencies, builds aihw, then shows what it does — `aihw demo`
# (the periphery's error, hardware-aware training on Fashion-MNIST, accuracy after
# programming into PCM from 1 s to 10 years, pulsed training on ConstantStep devices; plots
# and a JSON report in build/demo), a device pulse response and short benchmarks, each
# against its floor.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_BUILD_DIR:-$repo/build}"

bash scripts/install-deps.sh
bash scripts/build.sh

echo
echo "== aihw demo (writes $build_dir/demo) =="
"$build_dir/aihw" demo --out "$build_dir/demo"
echo
echo "== aihw response: a ReRam device under 200 up and 200 down pulses =="
"$build_dir/aihw" response --device ReRamSBPresetDevice --pulses 200 --devices 100 \
  --plot "$build_dir/response_ReRamSB.png"
echo "(plot: $build_dir/response_ReRamSB.png)"
echo
echo "== aihw bench forward --quick =="
"$build_dir/aihw" bench forward --quick
echo
echo "== aihw bench update --quick =="
"$build_dir/aihw" bench update --quick
echo
echo "== aihw bench drift --quick =="
"$build_dir/aihw" bench drift --quick
