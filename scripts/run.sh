#!/usr/bin/env bash
# The README's main command: installs what is needed, builds, generates the
# embedded demo data set and trains on it when there is no snapshot yet, then
# serves the latest snapshot on 0.0.0.0:50051 (gRPC) and 0.0.0.0:9464
# (/metrics) until Ctrl-C. Extra arguments go to recserve-server, e.g.
#   scripts/run.sh --listen 127.0.0.1:50051
# DEMO=events serves the same kind of demo trained on events instead of star
# ratings (views, carts, purchases, dislikes: implicit feedback), from
# data/demo-events into snapshots-events/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

BUILD_DIR=${BUILD_DIR:-build}
DEMO=${DEMO:-ratings}
TRAIN="$BUILD_DIR/recserve-train"
case "$DEMO" in
  ratings)
    DATA_DIR=${DATA_DIR:-data/demo}
    SNAPSHOT_DIR=${SNAPSHOT_DIR:-snapshots}
    DATA_FILE=ratings.csv
    GENERATE=()
    READ=()
    ;;
  events)
    DATA_DIR=${DATA_DIR:-data/demo-events}
    SNAPSHOT_DIR=${SNAPSHOT_DIR:-snapshots-events}
    DATA_FILE=events.csv
    GENERATE=(--events)
    READ=(--format generic
      --columns user=userId,item=movieId,event=event,count=count,timestamp=timestamp
      --event_weights view=1,cart=4,purchase=10 --negative_events dislike)
    ;;
  *)
    echo "DEMO must be ratings (the default) or events, got '$DEMO'" >&2
    exit 2
    ;;
esac

if [ ! -f "$SNAPSHOT_DIR/LATEST" ]; then
  if [ ! -f "$DATA_DIR/$DATA_FILE" ]; then
    mkdir -p "$DATA_DIR"
    # The demo data: MovieLens-1M-sized, from our synthetic generator
    # (MovieLens itself may not be redistributed).
    "$TRAIN" generate --users 6040 --items 3700 --ratings 1000000 --noise 0.5 \
      --seed 42 "${GENERATE[@]}" --out "$DATA_DIR/$DATA_FILE"
  fi
  "$TRAIN" --ratings "$DATA_DIR/$DATA_FILE" "${READ[@]}" \
    --items "$DATA_DIR/movies.csv" --out "$SNAPSHOT_DIR" \
    --report_json "$DATA_DIR/last_report.json" --build_index
else
  echo "Snapshot $(cat "$SNAPSHOT_DIR/LATEST") exists in $SNAPSHOT_DIR; remove it to retrain."
fi

echo "Serving $SNAPSHOT_DIR: try  $BUILD_DIR/recserve-cli recommend --user 1 -n 10"
exec "$BUILD_DIR/recserve-server" --snapshot_dir "$SNAPSHOT_DIR" "$@"
