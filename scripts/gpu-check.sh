#!/usr/bin/env bash
# GPU check of the CUDA backend (issue 7): on a machine with an NVIDIA GPU, builds aihw
# with CUDA, runs the unit tests and the CPU/GPU parity program, then the GPU benchmarks,
# and writes everything into OUT_DIR (default ./gpu-check-out):
#   gpu.txt              nvidia-smi's view of the machine
#   build.log            configure + build output (absent with --prebuilt)
#   tests.log            unit tests and parity program (CTest, or the programs themselves)
#   parity.log           the parity program's own report (verbose)
#   bench_forward.jsonl  `aihw bench forward --device cuda --json`
#   bench_update.jsonl   `aihw bench update --device cuda --json`
#   bench_drift.jsonl    `aihw bench drift --device cuda --json`
#   bench_mapped.jsonl   `aihw bench forward --device cuda --mapped --json`
#   results.md           the results as a Markdown table, with the GPU model
# Usage: scripts/gpu-check.sh [OUT_DIR] [--prebuilt DIR] [--quick]
#   --prebuilt DIR  use the programs in DIR (aihw, test_*) instead of building; for
#                   machines without the build dependencies (cJSON, OpenBLAS, PLplot)
#   --quick         only the smallest benchmark case
# Exit status: 0 when every test passed (the benchmarks are reported, not judged).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/gpu-check-out"
prebuilt=""
quick=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt="$(cd "$2" && pwd)"; shift 2 ;;
    --quick) quick="--quick"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) out="$1"; shift ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
jobs="$(nproc 2>/dev/null || echo 4)"
status=0

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.txt" 2>&1 ||
  echo "nvidia-smi failed" >>"$out/gpu.txt"
gpu_name="$(sed -n 2p "$out/gpu.txt" | cut -d, -f1)"
echo "gpu-check: ${gpu_name:-no GPU found}"

if [ -z "$prebuilt" ]; then
  build="$repo/build-gpu"
  echo "gpu-check: building into $build (log: $out/build.log)"
  if ! { cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DAIHW_CUDA=ON \
           -DAIHW_BUILD_TESTS=ON && cmake --build "$build" -j"$jobs"; } >"$out/build.log" 2>&1; then
    echo "gpu-check: build failed; see build.log"
    tail -20 "$out/build.log"
    exit 1
  fi
  bin="$build"
  tests="$build/tests"
  echo "gpu-check: unit tests and parity (log: $out/tests.log)"
  ctest --test-dir "$build" -L 'unit|parity' -j"$jobs" --output-on-failure \
    >"$out/tests.log" 2>&1 || status=1
else
  bin="$prebuilt"
  tests="$prebuilt"
  echo "gpu-check: prebuilt programs in $prebuilt (log: $out/tests.log)"
  : >"$out/tests.log"
  for t in "$tests"/test_*; do
    [ -x "$t" ] || continue
    case "$(basename "$t")" in
      test_aihwkit_*|test_*_stats|test_nn_training) continue ;; # the long statistical ones
    esac
    if "$t" >>"$out/tests.log" 2>&1; then
      echo "PASS $(basename "$t")" >>"$out/tests.log"
    else
      echo "FAIL $(basename "$t") (exit $?)" >>"$out/tests.log"
      status=1
    fi
  done
fi
tail -3 "$out/tests.log"

echo "gpu-check: parity program (log: $out/parity.log)"
"$tests/test_cuda_parity" >"$out/parity.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "gpu-check: parity FAILED (exit $rc; 77 = no GPU)"
  status=1
fi
tail -2 "$out/parity.log"

echo "gpu-check: aihw bench forward --device cuda"
"$bin/aihw" bench forward --device cuda --json $quick >"$out/bench_forward.jsonl" 2>&1 || status=1
echo "gpu-check: aihw bench update --device cuda"
"$bin/aihw" bench update --device cuda --json $quick >"$out/bench_update.jsonl" 2>&1 || status=1

echo "gpu-check: aihw bench forward --device cuda --mapped"
"$bin/aihw" bench forward --device cuda --mapped --json $quick >"$out/bench_mapped.jsonl" 2>&1 ||
  status=1
echo "gpu-check: aihw bench drift --device cuda"
"$bin/aihw" bench drift --device cuda --json $quick >"$out/bench_drift.jsonl" 2>&1 || status=1

# The commit, when the repository is a git checkout of its own (not a copy inside another).
commit=unknown
if [ "$(git -C "$repo" rev-parse --show-toplevel 2>/dev/null)" = "$repo" ]; then
  commit="$(git -C "$repo" rev-parse --short HEAD)"
fi

# results.md: one row per benchmark line ("key": value pairs of the JSON lines).
{
  echo "# aihw GPU check"
  echo
  echo "- GPU: ${gpu_name:-unknown} ($(sed -n 2p "$out/gpu.txt" | cut -d, -f2- | sed 's/^ //'))"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit: $commit"
  echo "- parity: $(tail -1 "$out/parity.log")"
  echo
  echo "## Analog forward (INFERENCE tile, default IOParameters) vs bare cublasSgemm"
  echo
  echo "| size | batch | t_ms | sgemm t_ms | ratio |"
  echo "|---:|---:|---:|---:|---:|"
  sed -n 's/.*"size": \([0-9]*\), "batch": \([0-9]*\), "t_ms": \([0-9.e+-]*\), "t_floor_ms": \([0-9.e+-]*\), "ratio": \([0-9.e+-]*\).*/| \1 | \2 | \3 | \4 | \5 |/p' \
    "$out/bench_forward.jsonl"
  echo
  echo "## Pulsed update (ConstantStep, BL 31, UM, lr 0.01, batch 64) vs device copy of 24 B/device"
  echo
  echo "| size | batch | t_ms | copy t_ms | ratio | GB/s | Philox t_ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  sed -n 's/.*"size": \([0-9]*\), "batch": \([0-9]*\), "t_ms": \([0-9.e+-]*\), "t_floor_ms": \([0-9.e+-]*\), "ratio": \([0-9.e+-]*\), "samples_per_s": [0-9.e+-]*, "gb_per_s": \([0-9.e+-]*\), "t_philox_ms": \([0-9.e+-]*\).*/| \1 | \2 | \3 | \4 | \5 | \6 | \7 |/p' \
    "$out/bench_update.jsonl"
  echo
  echo "## Mapped layer n -> n on 512 x 512 tiles, grid in one call, vs cublasSgemm of the layer"
  echo
  echo "| size | batch | t_ms | sgemm t_ms | ratio |"
  echo "|---:|---:|---:|---:|---:|"
  sed -n 's/.*"size": \([0-9]*\), "batch": \([0-9]*\), "t_ms": \([0-9.e+-]*\), "t_floor_ms": \([0-9.e+-]*\), "ratio": \([0-9.e+-]*\).*/| \1 | \2 | \3 | \4 | \5 |/p' \
    "$out/bench_mapped.jsonl"
  echo
  echo "## Program + drift to 1 h (INFERENCE tile, PCM, SinglePair) vs device copy of 5 n^2 floats"
  echo
  echo "| size | compensation | t_ms | copy t_ms | ratio | ns/weight |"
  echo "|---:|---|---:|---:|---:|---:|"
  sed -n 's/.*"size": \([0-9]*\), "batch": [0-9]*, "t_ms": \([0-9.e+-]*\), "t_floor_ms": \([0-9.e+-]*\), "ratio": \([0-9.e+-]*\), "ns_per_weight": \([0-9.e+-]*\), "compensation": "\([a-z]*\)".*/| \1 | \6 | \2 | \3 | \4 | \5 |/p' \
    "$out/bench_drift.jsonl"
} >"$out/results.md"
cat "$out/results.md"
exit $status
