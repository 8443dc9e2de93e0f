#!/usr/bin/env bash
# Builds the release the training benchmarks compare against (tests/bench/run.sh,
# part 1): the sources of REV, taken from git with `git archive`, configured as
# scripts/build.sh configures (Release, $CMAKE_ARGS; ccache when
# CMAKE_CXX_COMPILER_LAUNCHER is set in the environment), and only the three
# programs the comparison runs: recserve-train, training_bench and
# implicit_als_bench.
#
# usage: tests/bench/baseline_build.sh [REV [DIR]]
#   REV  a tag or commit (default: $BENCH_BASELINE, else r17, the release
#        before the training-speed work; when the tag is missing, e.g. in a
#        shallow clone, its commit 303e33b)
#   DIR  where to put it (default: build-baseline, at the repository root,
#        git-ignored): DIR/src holds the sources, DIR/build the build.
# A build of the same commit already in DIR is reused (only brought up to
# date), so the baseline is built once per machine. Prints DIR/build, the
# programs' directory, as its last line of output.
set -euo pipefail
cd "$(dirname "$0")/../.."

REV=${1:-${BENCH_BASELINE:-r17}}
DIR=${2:-build-baseline}
# The commit the r17 tag points at, for clones that lack the tag.
R17_COMMIT=303e33b

commit=$(git rev-parse --verify -q "$REV^{commit}" || true)
if [ -z "$commit" ] && [ "$REV" = r17 ]; then
  commit=$(git rev-parse --verify -q "$R17_COMMIT^{commit}" || true)
fi
if [ -z "$commit" ]; then
  echo "baseline_build: no commit '$REV' in this clone (a shallow clone? git fetch --tags" \
       "--unshallow, or set BENCH_BASELINE to a commit it has)" >&2
  exit 1
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
stamp="$DIR/src/.baseline-commit"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$commit" ]; then
  echo "baseline_build: extracting $REV ($commit) into $DIR/src" >&2
  rm -rf "$DIR/src" "$DIR/build"
  mkdir -p "$DIR/src"
  git archive "$commit" | tar -x -C "$DIR/src"
  echo "$commit" > "$stamp"
fi

args=(-DCMAKE_BUILD_TYPE=Release -DRECSERVE_BENCHMARKS=ON)
if [ -n "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]; then
  args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$CMAKE_CXX_COMPILER_LAUNCHER")
fi
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of arguments, as in scripts/build.sh
cmake -S "$DIR/src" -B "$DIR/build" "${args[@]}" ${CMAKE_ARGS:-} > "$DIR/configure.log" 2>&1 || {
  tail -n 30 "$DIR/configure.log" >&2
  echo "baseline_build: configuring $REV failed (log: $DIR/configure.log)" >&2
  exit 1
}
echo "baseline_build: building recserve-train, training_bench, implicit_als_bench of $REV" \
     "in $DIR/build" >&2
cmake --build "$DIR/build" -j "$(nproc)" \
  --target recserve-train training_bench implicit_als_bench > "$DIR/build.log" 2>&1 || {
  tail -n 30 "$DIR/build.log" >&2
  echo "baseline_build: building $REV failed (log: $DIR/build.log)" >&2
  exit 1
}
echo "$DIR/build"
