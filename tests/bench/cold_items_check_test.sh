#!/usr/bin/env bash
# Smoke test of tests/bench/cold_items_check.py on generated data: a small
# MovieLens-like set (ratings.csv and movies.csv from recserve-train
# generate), 10% of its items held out and served as cold items by a real
# recserve-server. Passes when the script succeeds (its checks: every answer
# holds only held-out items, flagged cold; no RPC error; users measured) and
# the mapped ranking beats random order's expected hit rate. The data and the
# seed are fixed, so the figures are deterministic.
#   usage: cold_items_check_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: cold_items_check_test.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BUILD/recserve-train" generate --users 300 --items 200 --ratings 9000 \
  --seed 7 --out "$WORK/data/ratings.csv" >/dev/null
RECSERVE_PYTHON_STUBS="$BUILD/python" /usr/bin/python3 \
  "$HERE/cold_items_check.py" --ratings "$WORK/data/ratings.csv" \
  --items "$WORK/data/movies.csv" --build "$BUILD" --seed 3 \
  --work "$WORK/run" --report_json "$WORK/report.json" \
  --train_timeout 240 --server_timeout 60 --deadline 10

/usr/bin/python3 - "$WORK/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
failures = []
if r["held_out_items"] != 20:
    failures.append(f"held out {r['held_out_items']} items, expected 20")
if r["users_measured"] < 50:
    failures.append(f"only {r['users_measured']} users measured")
if not r["cold_flag_checked"]:
    failures.append("the cold flag was not checked (stale stubs, no protoc)")
if any(r["problems"].values()):
    failures.append(f"problems: {r['problems']}")
if not r["mapped"]["hit_rate"] > r["random"]["hit_rate"]:
    failures.append(f"mapped HR@10 {r['mapped']['hit_rate']:.3f} is not "
                    f"above random {r['random']['hit_rate']:.3f}")
if failures:
    sys.exit("cold_items_check_test: " + "; ".join(failures))
print(f"cold_items_check_test: OK ({r['users_measured']} users, mapped "
      f"HR@10 {r['mapped']['hit_rate']:.3f} vs random "
      f"{r['random']['hit_rate']:.3f})")
PY
