#!/usr/bin/env bash
# The README's main command: installs what is needed, builds, generates the
# embedded demo data set and trains on it when there is no snapshot yet, then
# shows the model. (Once the server lands, it serves the snapshot.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

BUILD_DIR=${BUILD_DIR:-build}
DATA_DIR=${DATA_DIR:-data/demo}
SNAPSHOT_DIR=${SNAPSHOT_DIR:-snapshots}
TRAIN="$BUILD_DIR/recserve-train"

if [ ! -f "$SNAPSHOT_DIR/LATEST" ]; then
  if [ ! -f "$DATA_DIR/ratings.csv" ]; then
    mkdir -p "$DATA_DIR"
    # The demo data: MovieLens-1M-sized, from our synthetic generator
    # (MovieLens itself may not be redistributed).
    "$TRAIN" generate --users 6040 --items 3700 --ratings 1000000 --noise 0.5 \
      --seed 42 --out "$DATA_DIR/ratings.csv"
  fi
  "$TRAIN" --ratings "$DATA_DIR/ratings.csv" --items "$DATA_DIR/movies.csv" \
    --out "$SNAPSHOT_DIR" --report_json "$DATA_DIR/last_report.json"
else
  echo "Snapshot $(cat "$SNAPSHOT_DIR/LATEST") exists in $SNAPSHOT_DIR; remove it to retrain."
  /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(json.dumps({k: m[k] for k in ("version","algo","factors","num_users","num_items","num_ratings","metrics")}, indent=2))' \
    "$SNAPSHOT_DIR/$(cat "$SNAPSHOT_DIR/LATEST")/manifest.json"
fi
