#!/usr/bin/env bash
# The benchmark suite: numbers, not pass/fail. Builds in Release, then writes
# $OUT/report.md and $OUT/report.json (OUT defaults to bench-results), with
# each part's raw output beside them:
#   1. training throughput on a generated MovieLens-20M-sized set (64 factors):
#      seconds per ALS iteration, SGD epoch and BPMF sweep, and one complete
#      default training run timed as a whole process; implicit ALS sweeps
#      (32/64/128 factors) and one complete default run on a generated event
#      log of about as many lines (implicit feedback);
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
#      to a generated 1M-item snapshot, and of its HNSW index update.
# Takes ~50 min on 2 cores (building the 1M-item indexes is ~4 min each time).
# Parts can be skipped: BENCH_TRAINING=0, BENCH_SERVING=0 (or only the trained
# catalog: BENCH_SERVING_TRAINED=0), BENCH_GRPC=0, BENCH_ADD_ITEMS=0.
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
echo "== per-epoch throughput ($USERS users × $ITEMS items × $RATINGS ratings, $FACTORS factors)"
RECSERVE_BENCH_USERS=$USERS RECSERVE_BENCH_ITEMS=$ITEMS RECSERVE_BENCH_RATINGS=$RATINGS \
RECSERVE_BENCH_FACTORS=$FACTORS "$BUILD_DIR/training_bench" \
  --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/training_bench.json" --benchmark_out_format=json

echo "== implicit ALS on $RATINGS play counts: one sweep at 32/64/128 factors, one tuning trial"
RECSERVE_BENCH_USERS=$USERS RECSERVE_BENCH_ITEMS=$ITEMS RECSERVE_BENCH_RATINGS=$RATINGS \
  "$BUILD_DIR/implicit_als_bench" --benchmark_out="$OUT/implicit_als_bench.json" \
  --benchmark_out_format=json

echo "== complete training run on events (implicit feedback, default flags)"
# About 1.45 event lines per (user, item) pair: RATINGS * 0.69 pairs make a
# log of about RATINGS lines.
"$BUILD_DIR/recserve-train" generate --events --users "$USERS" --items "$ITEMS" \
  --ratings $((RATINGS * 69 / 100)) --seed 7 --out "$DATA/events.csv" >/dev/null
/usr/bin/time -v -o "$DATA/time-events.txt" "$BUILD_DIR/recserve-train" \
  --ratings "$DATA/events.csv" --format generic \
  --columns user=userId,item=movieId,event=event,count=count,timestamp=timestamp \
  --event_weights view=1,cart=4,purchase=10 --negative_events dislike \
  --eval_max_users 5000 --report_json "$DATA/report-events.json" \
  > "$DATA/train-events.log" 2>&1
grep -E "^Read|chosen:|^  (popularity|retrieval) " "$DATA/train-events.log" || true

echo "== complete training run (recserve-train --algo als --factors $FACTORS, default flags)"
"$BUILD_DIR/recserve-train" generate --users "$USERS" --items "$ITEMS" --ratings "$RATINGS" \
  --seed 7 --out "$DATA/ratings.csv" >/dev/null
/usr/bin/time -v -o "$DATA/time.txt" "$BUILD_DIR/recserve-train" --ratings "$DATA/ratings.csv" \
  --algo als --factors "$FACTORS" --eval_max_users 5000 --report_json "$DATA/report.json" \
  > "$DATA/train.log" 2>&1
grep -E "Trained|chosen|RMSE [0-9]" "$DATA/train.log" || true

/usr/bin/python3 - "$OUT" "$DATA" "$USERS" "$ITEMS" "$RATINGS" "$FACTORS" <<'PY'
import json, re, sys
out, data, users, items, ratings, factors = sys.argv[1:]
bench = json.load(open(f"{out}/training_bench.json"))
rows = {}
for b in bench["benchmarks"]:
    if b.get("aggregate_name") == "median":
        name = b["run_name"].split("/")[0].replace("BM_", "")
        rows[name] = {"seconds": b["real_time"], "ratings_per_second": b["items_per_second"],
                      "peak_rss_mb": b["peak_rss_mb"]}
times = open(f"{data}/time.txt").read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", times)
wall_s = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3)))
rss_mb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", times).group(1)) / 1024
report = json.load(open(f"{data}/report.json"))
truth = json.load(open(f"{data}/ratings.csv.truth.json"))
result = {"data": {"users": int(users), "items": int(items), "ratings": int(ratings),
                   "factors": int(factors)},
          "context": bench["context"], "per_epoch_median": rows,
          "full_training_als": {"wall_seconds": wall_s, "peak_rss_mb": rss_mb,
                                "train_seconds": report["train_seconds"],
                                "rating_train_seconds": report["rating_train_seconds"],
                                "retrieval_train_seconds": report["retrieval_train_seconds"],
                                "refit_seconds": report.get("refit_seconds", 0),
                                "two_stage_hr@10": report.get("two_stage/hr@10"),
                                "popularity_hr@10": report.get("popularity/hr@10"),
                                "epochs": report["params"]["epochs_run"],
                                "reg": report["params"]["reg"], "test_rmse": report["rmse"],
                                "noise_floor_rmse": truth["noise_floor_rmse"]}}
def process(path):
    times = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", times)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", times).group(1))
    return (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3)),
            rss / 1024)
ev_wall, ev_rss = process(f"{data}/time-events.txt")
ev = json.load(open(f"{data}/report-events.json"))
ev_truth = json.load(open(f"{data}/events.csv.truth.json"))
result["full_training_events"] = {
    "wall_seconds": ev_wall, "peak_rss_mb": ev_rss,
    "lines": ev_truth["counts"]["lines"], "pairs": ev_truth["counts"]["pairs"],
    "train_seconds": ev["train_seconds"],
    "retrieval_params": ev["params"]["retrieval"],
    "recall@10": ev.get("retrieval/recall@10"),
    "popularity_recall@10": ev.get("popularity/recall@10")}
implicit = {}
for b in json.load(open(f"{out}/implicit_als_bench.json"))["benchmarks"]:
    implicit[b["name"]] = {"seconds": b["real_time"], "peak_rss_mb": b.get("peak_rss_mb")}
result["implicit_als"] = implicit
json.dump(result, open(f"{out}/training.json", "w"), indent=2)
md = [f"# Training throughput", "",
      f"{int(users):,} users × {int(items):,} items × {int(ratings):,} generated ratings, "
      f"{factors} factors, {bench['context']['num_cpus']} CPUs, median of repetitions.", "",
      "| step | seconds | ratings/s | peak memory (MB) |", "|---|---|---|---|"]
for name, r in rows.items():
    md.append(f"| {name} | {r['seconds']:.2f} | {r['ratings_per_second']:,.0f} | {r['peak_rss_mb']:.0f} |")
f = result["full_training_als"]
md += ["", "Complete default training with ALS: the rating model (λ tuning on a user sample, "
       "early stopping, refit), the blend validation run and the retrieval embeddings, "
       "timed as a whole process including reading the CSV and evaluation:", "",
       f"- wall time {f['wall_seconds']:.1f} s: training {f['train_seconds']:.1f} s, of which "
       f"the rating model {f['rating_train_seconds']:.1f} s ({f['epochs']} epochs, "
       f"λ {f['reg']:.3g}) and the retrieval embeddings {f['retrieval_train_seconds']:.1f} s; "
       f"peak memory {f['peak_rss_mb']:.0f} MB",
       f"- test RMSE {f['test_rmse']:.4f} (noise floor {f['noise_floor_rmse']:.4f}); "
       f"LOO HR@10 two-stage {f['two_stage_hr@10']} vs popularity {f['popularity_hr@10']}"]
e = result["full_training_events"]
md += ["", f"Implicit ALS on {int(ratings):,} play counts (seconds, one run each):", "",
       "| benchmark | seconds |", "|---|---|"]
md += [f"| {name} | {r['seconds']:.2f} |" for name, r in implicit.items()]
md += ["", f"Complete default training on events ({e['lines']:,} generated event lines, "
       f"{e['pairs']:,} (user, item) pairs; the retrieval model alone, its settings "
       "searched on validation within the time budget), timed as a whole process:", "",
       f"- wall time {e['wall_seconds']:.1f} s (training {e['train_seconds']:.1f} s), "
       f"peak memory {e['peak_rss_mb']:.0f} MB",
       f"- Recall@10 {e['recall@10']} vs popularity {e['popularity_recall@10']}"]
open(f"{out}/training.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
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

/usr/bin/python3 tests/bench/report.py "$OUT"
