#!/usr/bin/env bash
# The test command (CI runs it through .ci/run on a clean checkout). Stages, in order:
#
#   1. install dependencies, build (Release) and run the whole CTest suite;
#   2. sanitizers: the whole suite again in build-asan (AddressSanitizer + Undefined-
#      BehaviorSanitizer, leaks included; the PLplot smoke test is excluded: fontconfig and
#      cairo leak inside PLplot, not in aihw);
#   3. fuzzing: every libFuzzer target of tests/fuzz for AIHW_FUZZ_SECONDS (default 30 s
#      each) on top of its committed seed corpus (scripts/fuzz.sh);
#   4. valgrind memcheck of a representative subset (file formats, state files, tiles,
#      modules, training, the fuzz corpora) in build-valgrind: zero invalid accesses and
#      zero definitely or indirectly lost bytes, else the stage fails.
#
# Prints CTest's summary line of stages 1 and 2 and one line per stage; exits non-zero if
# any stage fails (the later stages still run, so one run shows every failure). Extra
# arguments go to the ctest of stage 1 (e.g. -L unit, -R philox).
# Environment: AIHW_TEST_STAGES (default "suite asan fuzz valgrind") picks stages;
# AIHW_BUILD_DIR moves the stage-1 build (default ./build); AIHW_FUZZ_SECONDS as above.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_dir="${AIHW_BUILD_DIR:-$repo/build}"
stages="${AIHW_TEST_STAGES:-suite asan fuzz valgrind}"
jobs="$(nproc 2>/dev/null || echo 2)"
declare -a summary=()
status=0

stage_done() { # name, status, seconds
  local verdict=passed
  [[ $2 -ne 0 ]] && verdict="FAILED (exit $2)" && status=1
  summary+=("$(printf '%-9s %s in %ss' "$1" "$verdict" "$3")")
  echo "test: stage $1 $verdict in $3 s"
}
wants() { [[ " $stages " == *" $1 "* ]]; }
# Configures and builds quietly into a log; shows the log's end on failure.
# quiet_build <dir> <cmake configure args...> -- <build targets...>
quiet_build() {
  local dir="$1" log="$1/build.log" cfg=() tgt=()
  shift
  while [[ $# -gt 0 && "$1" != "--" ]]; do cfg+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  for t in "$@"; do tgt+=(--target "$t"); done
  mkdir -p "$dir"
  if ! { cmake -S "$repo" -B "$dir" "${cfg[@]}" && cmake --build "$dir" -j"$jobs" "${tgt[@]}"; } >"$log" 2>&1; then
    tail -40 "$log"
    echo "test: build in $dir failed (log: $log)"
    return 1
  fi
}

bash scripts/install-deps.sh

if wants suite; then
  t0=$SECONDS
  rc=0
  bash scripts/build.sh -DAIHW_BUILD_TESTS=ON || rc=$?
  if [[ $rc -eq 0 ]]; then
    echo
    echo "test: ctest --test-dir $build_dir --output-on-failure -j$jobs $*"
    ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" "$@" || rc=$?
  fi
  stage_done suite $rc $((SECONDS - t0))
fi

if wants asan; then
  t0=$SECONDS
  rc=0
  asan_dir="$repo/build-asan"
  echo
  echo "test: AddressSanitizer + UndefinedBehaviorSanitizer build in $asan_dir"
  quiet_build "$asan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIHW_BUILD_TESTS=ON -DAIHW_CUDA=OFF \
    -DAIHW_SANITIZE=address,undefined || rc=$?
  if [[ $rc -eq 0 ]]; then
    # tests/lsan.supp: only the font/plot libraries' process-lifetime allocations (PLplot's
    # cairo driver) are suppressed; every leak of aihw's own code fails the stage
    echo "test: ctest --test-dir $asan_dir (sanitizers halt on the first finding)"
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1" \
    LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
      ctest --test-dir "$asan_dir" --output-on-failure -j"$jobs" || rc=$?
  fi
  stage_done asan $rc $((SECONDS - t0))
fi

if wants fuzz; then
  t0=$SECONDS
  rc=0
  echo
  bash scripts/fuzz.sh || rc=$?
  stage_done fuzz $rc $((SECONDS - t0))
fi

if wants valgrind; then
  t0=$SECONDS
  rc=0
  vg_dir="$repo/build-valgrind"
  echo
  echo "test: valgrind memcheck subset in $vg_dir"
  # Portable code (no -march=native: valgrind does not know every instruction set), one
  # OpenMP thread, optimised but with symbols.
  vg_tests=(test_safetensors test_idx test_state test_tile test_update test_nn
            test_inference_tile test_bad_inputs test_alloc_failures)
  vg_replays=(replay_fuzz_safetensors replay_fuzz_json replay_fuzz_idx replay_fuzz_module_state)
  quiet_build "$vg_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIHW_BUILD_TESTS=ON -DAIHW_CUDA=OFF \
    -DAIHW_NATIVE=OFF -- "${vg_tests[@]}" "${vg_replays[@]}" || rc=$?
  vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
      --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
      --track-origins=no --quiet)
  run_vg() { # name, command...
    local name="$1" log="$vg_dir/valgrind_$1.log" r=0
    shift
    local t1=$SECONDS
    OMP_NUM_THREADS=1 AIHW_VALGRIND=1 "${vg[@]}" --log-file="$log" "$@" >"$log.out" 2>&1 || r=$?
    if [[ $r -eq 0 ]]; then
      echo "test: valgrind $name: clean ($((SECONDS - t1)) s)"
    else
      echo "test: valgrind $name: FAILED (exit $r); $log:"
      sed 's/^/  /' "$log" | tail -60
      tail -20 "$log.out" | sed 's/^/  /'
      rc=1
    fi
  }
  if [[ $rc -eq 0 ]]; then
    for t in "${vg_tests[@]}"; do run_vg "$t" "$vg_dir/tests/$t"; done
    for t in "${vg_replays[@]}"; do
      target="${t#replay_}"
      inputs=("tests/fuzz/corpus/$target")
      [[ -d "tests/fuzz/regressions/$target" ]] && inputs+=("tests/fuzz/regressions/$target")
      run_vg "$t" "$vg_dir/tests/$t" "${inputs[@]}"
    done
  fi
  stage_done valgrind $rc $((SECONDS - t0))
fi

echo
echo "test: summary"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$status"
