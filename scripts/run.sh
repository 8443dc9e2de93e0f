#!/usr/bin/env bash
# The README's main command: installs what is needed, builds, generates the
# embedded demo data set and trains on it when there is no snapshot yet, then
# serves the latest snapshot on 0.0.0.0:50051 (gRPC) and 0.0.0.0:9464
# (/metrics) until Ctrl-C. Extra arguments go to recserve-server, e.g.
#   scripts/run.sh --listen 127.0.0.1:50051
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
    --out "$SNAPSHOT_DIR" --report_json "$DATA_DIR/last_report.json" --build_index
else
  echo "Snapshot $(cat "$SNAPSHOT_DIR/LATEST") exists in $SNAPSHOT_DIR; remove it to retrain."
fi

echo "Serving $SNAPSHOT_DIR: try  $BUILD_DIR/recserve-cli recommend --user 1 -n 10"
exec "$BUILD_DIR/recserve-server" --snapshot_dir "$SNAPSHOT_DIR" "$@"
