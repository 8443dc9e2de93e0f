#!/usr/bin/env bash
# Smoke test of tests/bench/latest_holdout.py on generated data: a small
# MovieLens-like set (recserve-train generate, its ratings.csv rewritten as
# u.data's tab-separated lines), each user's latest rating held out, the rest
# trained on and served by a real recserve-server. Passes when the script
# succeeds (no RPC error, no fallback, no seen item returned, every user
# measured, the published snapshot holds exactly the training ratings) and the
# server's HR@10 beats popularity's. The data and the seed are fixed.
#   usage: latest_holdout_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: latest_holdout_test.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BUILD/recserve-train" generate --users 300 --items 200 --ratings 9000 \
  --seed 7 --out "$WORK/data/ratings.csv" >/dev/null
awk -F, 'NR > 1 { print $1 "\t" $2 "\t" $3 "\t" $4 }' \
  "$WORK/data/ratings.csv" >"$WORK/data/u.data"
RECSERVE_PYTHON_STUBS="$BUILD/python" /usr/bin/python3 \
  "$HERE/latest_holdout.py" --ratings "$WORK/data/u.data" \
  --items "$WORK/data/movies.csv" --build "$BUILD" --work "$WORK/run" \
  --json "$WORK/report.json" --train_timeout 240 --server_timeout 60 \
  --deadline 10

/usr/bin/python3 - "$WORK/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
failures = []
if r["users_measured"] != 300 or r["held_out"] != 300:
    failures.append(f"{r['users_measured']} users measured of "
                    f"{r['held_out']} held out, expected 300")
if r["training_ratings"] != 9000 - 300:
    failures.append(f"{r['training_ratings']} training ratings, expected 8700")
if any(r["problems"].values()):
    failures.append(f"problems: {r['problems']}")
if not r["recserve"]["hit_rate"] > r["popularity"]["hit_rate"]:
    failures.append(f"recserve HR@10 {r['recserve']['hit_rate']:.3f} is not "
                    f"above popularity {r['popularity']['hit_rate']:.3f}")
if failures:
    sys.exit("latest_holdout_test: " + "; ".join(failures))
print(f"latest_holdout_test: OK ({r['users_measured']} users, recserve "
      f"HR@10 {r['recserve']['hit_rate']:.3f} vs popularity "
      f"{r['popularity']['hit_rate']:.3f})")
PY
