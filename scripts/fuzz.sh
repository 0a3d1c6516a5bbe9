#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, AddressSanitizer + UndefinedBehavior-
# Sanitizer, coverage instrumentation in every library object) and runs each one for a
# bounded time on a working corpus seeded from tests/fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh                   every target, AIHW_FUZZ_SECONDS each (default 30)
#   scripts/fuzz.sh fuzz_json ...     only these targets
#   scripts/fuzz.sh --seeds           regenerate tests/fuzz/corpus/ (make_fuzz_seeds of the
#                                     normal build in AIHW_BUILD_DIR, default ./build)
#
# Environment:
#   AIHW_FUZZ_SECONDS    time per target (default 30; CI uses the default, run longer
#                        campaigns locally, e.g. AIHW_FUZZ_SECONDS=1200)
#   AIHW_FUZZ_RUNS       stop each target after this many executions instead (0 = no limit)
#   AIHW_FUZZ_BUILD_DIR  build directory (default ./build-fuzz)
#   AIHW_FUZZ_WORK       working corpora, logs and crash artifacts (default
#                        <build dir>/work); the committed seeds are never written to
#   AIHW_FUZZ_JOBS       compile jobs (default: nproc)
#
# Prints one line per target with libFuzzer's final numbers (executions, exec/s, cov =
# covered edges, ft = features, corpus size). Exits non-zero when a target crashes,
# leaks, times out or violates an invariant; its input is left in <work>/artifacts/ and
# belongs, once fixed, in tests/fuzz/regressions/<target>/ (replayed by CTest).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
work="${AIHW_FUZZ_WORK:-$build_dir/work}"
seconds="${AIHW_FUZZ_SECONDS:-30}"
runs="${AIHW_FUZZ_RUNS:-0}"
jobs="${AIHW_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
say() { printf 'fuzz: %s\n' "$*"; }

if [[ "${1:-}" == "--seeds" ]]; then
  normal="${AIHW_BUILD_DIR:-$repo/build}"
  cmake -S "$repo" -B "$normal" -DAIHW_BUILD_TESTS=ON >/dev/null
  cmake --build "$normal" -j"$jobs" --target make_fuzz_seeds
  rm -rf tests/fuzz/corpus
  "$normal/tests/make_fuzz_seeds" tests/fuzz/corpus
  # files written by Python's safetensors package (scripts/make_safetensors_fixtures.py)
  cp tests/data/safetensors/*.safetensors tests/fuzz/corpus/fuzz_safetensors/
  say "wrote $(find tests/fuzz/corpus -type f | wc -l) seed files under tests/fuzz/corpus"
  exit 0
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

if ! command -v clang >/dev/null 2>&1; then
  say "clang is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
say "configuring $build_dir (clang, libFuzzer, address,undefined)"
# OpenMP off: the parsers are serial, and clang's libomp is not needed for them.
CC=clang cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAIHW_FUZZ=ON -DAIHW_SANITIZE=address,undefined -DAIHW_OPENMP=OFF -DAIHW_NATIVE=OFF \
  -DAIHW_BUILD_TESTS=OFF -DAIHW_CUDA=OFF >/dev/null
say "compiling ${targets[*]} with -j$jobs"
mkdir -p "$work"
if ! cmake --build "$build_dir" -j"$jobs" --target "${targets[@]}" >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  say "build failed (log: $work/build.log)" >&2
  exit 1
fi

mkdir -p "$work/artifacts"
status=0
for t in "${targets[@]}"; do
  case "$t" in
    fuzz_json) max_len=16384 ;;
    fuzz_idx) max_len=4096 ;;
    *) max_len=32768 ;;
  esac
  mkdir -p "$work/corpus/$t"
  log="$work/$t.log"
  limit=(-max_total_time="$seconds")
  [[ "$runs" != 0 ]] && limit=(-runs="$runs")
  say "$t: ${limit[*]} (log: $log)"
  rc=0
  # -malloc_limit_mb: no input may allocate more than this at once (files are checked
  # against their real size before anything is allocated); leaks are reported per input.
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build_dir/fuzz/$t" "${limit[@]}" -max_len="$max_len" -timeout=25 \
    -rss_limit_mb=2560 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t-" \
    "$work/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  if [[ $rc -ne 0 ]]; then
    status=1
    say "$t: FAILED (exit $rc); the end of $log:"
    tail -40 "$log" | sed 's/^/  /'
    ls "$work/artifacts/$t-"* 2>/dev/null | sed 's/^/  artifact: /' || true
  else
    say "$t: ok, ${execs:-?} executions; ${done_line:-no DONE line}"
  fi
done
exit "$status"
