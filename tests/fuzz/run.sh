#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a while, nproc at a time, and
# prints executions and coverage per target. Needs the fuzz build:
#   cmake --preset asan && cmake --build --preset asan --target fuzz_targets
#   tests/fuzz/run.sh [--seconds N] [--build DIR] [target...]
# New corpus entries go to a work folder (printed), not to the committed
# seeds. A crash fails the run; its input is kept in the work folder: fix the
# bug, then copy the input to tests/fuzz/regressions/<target>/ so the replay
# test in ctest keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=60
build=build-asan
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$source" .cc)"); done
fi
work="${FUZZ_WORK_DIR:-$(mktemp -d /tmp/recserve-fuzz-run.XXXXXX)}"
echo "fuzzing ${#targets[@]} targets for ${seconds} s each; work folder $work"

# Sanitizer reports must fail the target (libFuzzer then keeps the input).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_target() {
  local target="$1" dir="$work/$1"
  mkdir -p "$dir/corpus"
  local seeds=("tests/fuzz/corpus/$target")
  [[ -d "tests/fuzz/regressions/$target" ]] && seeds+=("tests/fuzz/regressions/$target")
  # -timeout: one input taking longer is a hang; -rss_limit_mb bounds memory.
  "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/" "$dir/corpus" "${seeds[@]}" \
    > "$dir/log.txt" 2>&1
}

pids=()
status=0
for target in "${targets[@]}"; do
  if [[ ! -x "$build/$target" ]]; then
    echo "$build/$target is missing: build it with cmake --preset asan && cmake --build --preset asan --target fuzz_targets" >&2
    exit 2
  fi
  run_target "$target" &
  pids+=($!)
  if [[ ${#pids[@]} -ge $(nproc) ]]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

printf '%-22s %12s %10s %8s %8s %s\n' target executions exec/s cov ft result
for target in "${targets[@]}"; do
  log="$work/$target/log.txt"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  crash=$(ls "$work/$target" | grep -E '^(crash|leak|timeout|oom)-' || true)
  result=ok
  [[ -n "$crash" ]] && result="FAILED: $work/$target/$crash"
  [[ -z "$execs" && -z "$crash" ]] && result="FAILED: see $log"
  printf '%-22s %12s %10s %8s %8s %s\n' "$target" "${execs:--}" "${rate:--}" \
    "${cov:--}" "${ft:--}" "$result"
  if [[ "$result" != ok ]]; then
    status=1
    tail -40 "$log"
  fi
done
exit "$status"
