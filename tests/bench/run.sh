#!/usr/bin/env bash
# The benchmark suite: numbers, not pass/fail. Builds in Release, then writes
# $OUT/report.md and $OUT/report.json (OUT defaults to bench-results), with
# each part's raw output beside them:
#   1. training, every figure beside the release before the training-speed
#      work (the tag r17, built once into build-baseline/ by
#      tests/bench/baseline_build.sh) measured in the same run, old and new
#      runs alternating, medians of BENCH_REPETITIONS (3) rounds: seconds per
#      ALS iteration at 32/64/128 factors, per SGD epoch and BPMF sweep (64),
#      per implicit ALS sweep (32/64/128), on a generated MovieLens-20M-sized
#      set; the whole default pipeline (recserve-train --ratings FILE --out
#      DIR --build_index) timed as a process, wall and peak memory, with the
#      quality figures and phase timings of its report, for this build, the
#      baseline and the baseline with --algo als (the quality bar), checked
#      against the issue's target; and a complete default run on a generated
#      event log of about as many lines (implicit feedback), both builds.
#      BENCH_BASELINE=REV compares with another revision, =none leaves the
#      baseline out; BENCH_BASELINE_DEFAULT=0 skips the baseline's default
#      run (BPMF, ~18 min at full size); BENCH_PIPELINE_RUNS (1) repeats the
#      pipeline runs. Raw outputs in $OUT/training/; training.json and .md
#      by tests/bench/training_report.py;
#   2. serving in process (Google Benchmark, tests/bench/serving_bench.cc):
#      Recommend, SimilarItems and PredictRating latency (p50, p99) with
#      recall@10 against brute force and the brute-force latency beside it,
#      index build and snapshot load times, resident memory, on generated
#      catalogs of 3,700 (MovieLens scale), 100K and 1M items (64-d), on the
#      1M catalog with equal and with flat norms, and on a catalog trained by
#      recserve-train;
#      and recserve-server's time from exec to SERVING on the 1M snapshot;
#   3. through gRPC on loopback (tests/bench/grpc_loopback.py): each RPC's
#      highest throughput and its p50/p99 at 50% and 80% of it, beside the
#      health check's throughput in the same run, and a hot reload under load.
#   4. add-items (tests/bench/add_items_bench.cc): seconds to add 1,000 items
#      to a generated 1M-item snapshot, and of its HNSW index update;
#   5. the item-item model (tests/bench/item_item_bench.cc): its training
#      cost at 1,682 and 4,096 items, and Recommend's latency with it beside
#      the embeddings' exact and default retrieval on the same data
#      (medians of 3 repetitions; $OUT/item_item.json).
# Takes ~50 min on 2 cores (building the 1M-item indexes is ~4 min each time),
# plus ~1 h for part 1's baseline runs (and its build, the first time).
# Parts can be skipped: BENCH_TRAINING=0, BENCH_SERVING=0 (or only the trained
# catalog: BENCH_SERVING_TRAINED=0), BENCH_GRPC=0, BENCH_ADD_ITEMS=0,
# BENCH_ITEM_ITEM=0.
# Smaller sizes for a quick look: BENCH_USERS=20000 BENCH_ITEMS=5000
# BENCH_RATINGS=2000000 BENCH_SERVING_ITEMS=100000 tests/bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-bench-results}
mkdir -p "$OUT"
/usr/bin/python3 - "$OUT" <<'PY'
import datetime, json, os, subprocess, sys
def run(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
json.dump({"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "commit": run("git", "rev-parse", "--short", "HEAD"),
           "dirty": bool(run("git", "status", "--porcelain", "--untracked-files=no")),
           "cpus": os.cpu_count(), "cpu": cpu}, open(f"{sys.argv[1]}/context.json", "w"))
PY
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
USERS=${BENCH_USERS:-138000} ITEMS=${BENCH_ITEMS:-27000} RATINGS=${BENCH_RATINGS:-20000000}
FACTORS=${BENCH_FACTORS:-64} REPS=${BENCH_REPETITIONS:-3}
SERVING_ITEMS=${BENCH_SERVING_ITEMS:-1000000}

if [ "${BENCH_TRAINING:-1}" = 1 ]; then
# Every training figure beside the release before the training-speed work,
# measured in the same run: that release (BENCH_BASELINE, default the tag r17;
# "none" leaves it out) is built once per machine into build-baseline/ by
# tests/bench/baseline_build.sh, and its runs alternate with this build's so
# that the machine's noise hits both alike. Raw outputs go to $OUT/training/;
# tests/bench/training_report.py writes $OUT/training.json and .md.
RAW="$OUT/training"
rm -rf "$RAW"
mkdir -p "$RAW"
BASELINE=${BENCH_BASELINE:-r17}
TREES=(after)
OLD_DIR=
if [ "$BASELINE" != none ]; then
  OLD_DIR=$(tests/bench/baseline_build.sh "$BASELINE" "${BENCH_BASELINE_DIR:-build-baseline}" |
            tail -n 1)
  TREES=(before after)
fi
tree_bin() {  # TREE PROGRAM: the program of the baseline (before) or of this build (after)
  if [ "$1" = before ]; then echo "$OLD_DIR/$2"; else echo "$BUILD_DIR/$2"; fi
}
round_order() {  # ROUND: the trees in the order that round runs them (alternating)
  if [ ${#TREES[@]} = 2 ] && [ $(($1 % 2)) = 0 ]; then echo after before
  else echo "${TREES[@]}"; fi
}
export RECSERVE_BENCH_USERS=$USERS RECSERVE_BENCH_ITEMS=$ITEMS RECSERVE_BENCH_RATINGS=$RATINGS
# The benchmarks generate their data under the temporary directory: a
# private one, so that nothing else running a benchmark shares it.
BENCH_TMP="$DATA/bench-tmp"
mkdir -p "$BENCH_TMP"

# Per iteration: explicit ALS at each of ALS_FACTORS, SGD and BPMF at
# $FACTORS, implicit ALS sweeps at 32/64/128 (and, in the first round, one
# retrieval-tuning trial); each round runs every benchmark once per build.
ALS_FACTORS=${BENCH_ALS_FACTORS:-32 64 128}
echo "== per iteration, ${TREES[*]}: explicit ALS at $ALS_FACTORS factors, SGD epoch and" \
     "BPMF sweep at $FACTORS, implicit ALS sweeps; $USERS users × $ITEMS items ×" \
     "$RATINGS ratings, $REPS rounds"
runs=()
for f in $ALS_FACTORS; do
  if [ "$f" = "$FACTORS" ]; then runs+=("$f:BM_AlsIteration|BM_SgdEpoch|BM_BpmfSweep")
  else runs+=("$f:BM_AlsIteration"); fi
done
case " $ALS_FACTORS " in *" $FACTORS "*) ;; *) runs+=("$FACTORS:BM_SgdEpoch|BM_BpmfSweep") ;; esac
for round in $(seq "$REPS"); do
  for run in "${runs[@]}"; do
    f=${run%%:*}
    for tree in $(round_order "$round"); do
      TMPDIR=$BENCH_TMP RECSERVE_BENCH_FACTORS=$f "$(tree_bin "$tree" training_bench)" \
        --benchmark_filter="${run#*:}" --benchmark_out_format=json \
        --benchmark_out="$RAW/training_bench-$tree-f$f-r$round.json" \
        > "$RAW/training_bench-$tree-f$f-r$round.log" 2>&1 || {
        tail -n 20 "$RAW/training_bench-$tree-f$f-r$round.log"
        echo "training_bench of $tree failed at $f factors" >&2
        exit 1
      }
    done
  done
  filter=BM_ImplicitAlsSweep
  [ "$round" = 1 ] && filter='BM_ImplicitAlsSweep|BM_RetrievalTuningTrial'
  for tree in $(round_order "$round"); do
    TMPDIR=$BENCH_TMP "$(tree_bin "$tree" implicit_als_bench)" --benchmark_filter="$filter" \
      --benchmark_out_format=json --benchmark_out="$RAW/implicit_als_bench-$tree-r$round.json" \
      > "$RAW/implicit_als_bench-$tree-r$round.log" 2>&1 || {
      tail -n 20 "$RAW/implicit_als_bench-$tree-r$round.log"
      echo "implicit_als_bench of $tree failed" >&2
      exit 1
    }
  done
  echo "   round $round of $REPS done"
done

# A complete training run timed as a whole process (wall, peak memory), its
# report JSON beside it: NAME TREE RUN INPUT [flags...].
train_run() {
  local name=$1 tree=$2 run=$3 input=$4
  shift 4
  echo "   $name (run $run): recserve-train --ratings $(basename "$input") $*"
  rm -rf "$DATA/snapshots"
  /usr/bin/time -v -o "$RAW/$name-r$run.time" "$(tree_bin "$tree" recserve-train)" \
    --ratings "$input" "$@" --report_json "$RAW/$name-r$run.report.json" \
    > "$RAW/$name-r$run.log" 2>&1 || {
    tail -n 20 "$RAW/$name-r$run.log"
    echo "$name failed" >&2
    exit 1
  }
  rm -rf "$DATA/snapshots"
}

# The whole default pipeline exactly as a user runs it, for this build and
# the baseline, and the baseline with --algo als (the quality bar).
PIPELINE_RUNS=${BENCH_PIPELINE_RUNS:-1}
names=()
[ "$BASELINE" != none ] && names+=("before-als:before:${BENCH_BASELINE_ALS_FLAGS:---algo als}")
names+=("after-default:after:")
[ "$BASELINE" != none ] && [ "${BENCH_BASELINE_DEFAULT:-1}" = 1 ] &&
  names+=("before-default:before:")
echo "== the default pipeline (recserve-train --ratings FILE --out DIR --build_index)," \
     "$PIPELINE_RUNS run(s) each: ${names[*]%%:*}"
"$BUILD_DIR/recserve-train" generate --users "$USERS" --items "$ITEMS" --ratings "$RATINGS" \
  --seed 7 --out "$DATA/ratings.csv" >/dev/null
for run in $(seq "$PIPELINE_RUNS"); do
  order=("${names[@]}")
  if [ $((run % 2)) = 0 ]; then
    order=()
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[$i]}"); done
  fi
  for entry in "${order[@]}"; do
    IFS=: read -r name tree flags <<< "$entry"
    # shellcheck disable=SC2086  # flags is a list of flags
    train_run "$name" "$tree" "$run" "$DATA/ratings.csv" --out "$DATA/snapshots" --build_index \
      $flags
  done
done

echo "== complete training run on events (implicit feedback, default flags), ${TREES[*]}"
# About 1.45 event lines per (user, item) pair: RATINGS * 0.69 pairs make a
# log of about RATINGS lines.
"$BUILD_DIR/recserve-train" generate --events --users "$USERS" --items "$ITEMS" \
  --ratings $((RATINGS * 69 / 100)) --seed 7 --out "$DATA/events.csv" >/dev/null
for tree in $(round_order 1); do
  train_run "events-$tree" "$tree" 1 "$DATA/events.csv" --format generic \
    --columns user=userId,item=movieId,event=event,count=count,timestamp=timestamp \
    --event_weights view=1,cart=4,purchase=10 --negative_events dislike --eval_max_users 5000
done
cp "$DATA/ratings.csv.truth.json" "$RAW/ratings.truth.json"
cp "$DATA/events.csv.truth.json" "$RAW/events.truth.json"

baseline_commit=
[ -n "$OLD_DIR" ] && baseline_commit=$(cat "$OLD_DIR/../src/.baseline-commit")
/usr/bin/python3 tests/bench/training_report.py --out "$OUT" --raw "$RAW" \
  --users "$USERS" --items "$ITEMS" --ratings "$RATINGS" --factors "$FACTORS" \
  --baseline "$BASELINE" --baseline_commit "$baseline_commit" \
  --commit "$(git rev-parse --short HEAD)"
fi

serving() {  # NAME, then environment assignments for serving_bench
  local name=$1
  shift
  echo "== serving in process: $name"
  env "$@" "$BUILD_DIR/serving_bench" --benchmark_out="$OUT/serving_$name.json" \
    --benchmark_out_format=json
}
if [ "${BENCH_SERVING:-1}" = 1 ]; then
  serving movielens RECSERVE_BENCH_SERVING_ITEMS=3700 RECSERVE_BENCH_SERVING_USERS=6040
  serving 100k RECSERVE_BENCH_SERVING_ITEMS=100000
  serving 1m RECSERVE_BENCH_SERVING_ITEMS="$SERVING_ITEMS" RECSERVE_BENCH_SERVING_KEEP="$DATA/1m"
  echo "== server start to SERVING on that snapshot, its indexes saved"
  /usr/bin/python3 tests/bench/server_start.py "$BUILD_DIR" "$DATA/1m" "$OUT/server_start.json"
  rm -rf "$DATA/1m"
  serving 1m_equal RECSERVE_BENCH_SERVING_ITEMS="$SERVING_ITEMS" RECSERVE_BENCH_SERVING_NORM_SIGMA=0
  serving 1m_flat RECSERVE_BENCH_SERVING_ITEMS="$SERVING_ITEMS" RECSERVE_BENCH_SERVING_NORM_SIGMA=500
fi
if [ "${BENCH_SERVING:-1}" = 1 ] && [ "${BENCH_SERVING_TRAINED:-1}" = 1 ]; then
  echo "== training a catalog for serving: 4M generated ratings over 1M items"
  "$BUILD_DIR/recserve-train" generate --users 60000 --items 1000000 --ratings 4000000 \
    --seed 11 --out "$DATA/serving.csv" >/dev/null
  "$BUILD_DIR/recserve-train" --ratings "$DATA/serving.csv" --algo als --factors 16 \
    --reg 0.05 --epochs 10 --implicit_factors 64 --eval_max_users 2000 \
    --out "$DATA/serving-snapshots" > "$DATA/serving-train.log" 2>&1
  serving trained \
    RECSERVE_BENCH_SERVING_SNAPSHOT="$DATA/serving-snapshots/$(cat "$DATA/serving-snapshots/LATEST")"
fi

if [ "${BENCH_GRPC:-1}" = 1 ]; then
  echo "== gRPC on loopback: the demo data set (6,040 users x 3,700 items x 1M ratings)"
  "$BUILD_DIR/recserve-train" generate --users 6040 --items 3700 --ratings 1000000 \
    --noise 0.5 --seed 42 --out "$DATA/demo.csv" >/dev/null
  "$BUILD_DIR/recserve-train" --ratings "$DATA/demo.csv" --items "$DATA/movies.csv" \
    --out "$DATA/grpc-snapshots" --build_index > "$DATA/grpc-train.log" 2>&1
  /usr/bin/python3 tests/bench/grpc_loopback.py "$BUILD_DIR" "$DATA/grpc-snapshots" \
    "$OUT/grpc.json" --seconds "${BENCH_GRPC_SECONDS:-5}"
fi

if [ "${BENCH_ADD_ITEMS:-1}" = 1 ]; then
  echo "== add-items: 1,000 new items into a generated 1M-item snapshot, its indexes extended"
  RECSERVE_BENCH_ADD_BASE_ITEMS="$SERVING_ITEMS" "$BUILD_DIR/add_items_bench" \
    --benchmark_out="$OUT/add_items.json" --benchmark_out_format=json
fi

if [ "${BENCH_ITEM_ITEM:-1}" = 1 ]; then
  echo "== item-item model: training cost, and Recommend beside the embeddings' retrieval"
  "$BUILD_DIR/item_item_bench" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT/item_item.json" --benchmark_out_format=json
fi

/usr/bin/python3 tests/bench/report.py "$OUT"
