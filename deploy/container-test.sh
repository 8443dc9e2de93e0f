#!/usr/bin/env bash
# Builds the recserve image and checks it runs, with no Docker engine and no
# registry: buildah builds (--isolation chroot), podman runs it with runc.
# The Debian base images are made locally with debootstrap (minbase) from
# the configured Debian mirror and imported under the names the Dockerfile
# uses. Then, on 127.0.0.1 only:
#   1. the container trains the demo data set (no snapshot mounted) and
#      serves: health SERVING, a Recommend call, /metrics; SIGTERM stops it
#      with exit code 0 within the grace period;
#   2. a container with a snapshot volume mounted read-only serves it
#      without training.
# Also reports the image size. Takes ~9 min on 2 cores (the image build
# compiles and runs the test suite), ~5 without the tests; CI runs it that
# way after scripts/test.sh, which ran them.
# Run as root on Debian 12.
#   deploy/container-test.sh            build, then check
#   SKIP_BUILD=1 deploy/container-test.sh   check an image built before
#   RUN_TESTS=0 deploy/container-test.sh    build without the test suite
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/recserve:test}
WORK=$(mktemp -d /tmp/recserve-container-test.XXXXXX)
CONTAINERS=()
cleanup() {
  for c in "${CONTAINERS[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "container-test: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "tools"
need=()
for p in buildah podman runc debootstrap uidmap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
scripts/setup.sh
scripts/build.sh >/dev/null  # the host's recserve-cli talks to the container
CLI=${BUILD_DIR:-build}/recserve-cli

# Sandboxes refuse podman's default ulimits (above their hard limits) and have no
# systemd: plain runc, cgroupfs, file-based events, lower limits.
export CONTAINERS_CONF="$WORK/containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

step "base images"
for name in debian:bookworm debian:bookworm-slim; do
  if ! podman image exists "docker.io/library/$name"; then
    if [ ! -f "$WORK/rootfs.tar" ]; then
      mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      debootstrap --variant=minbase bookworm "$WORK/rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
      # Trimmed the way Debian's official images are: no package lists or
      # caches, and dpkg leaves documentation and translations out.
      rm -rf "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/cache/apt/* \
        "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/* \
        "$WORK"/rootfs/usr/share/info/* "$WORK"/rootfs/usr/share/locale/*
      printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/locale/*' > "$WORK/rootfs/etc/dpkg/dpkg.cfg.d/excludes"
      # Security and point-release updates, as in the official images.
      printf '%s\n' "deb ${mirror:-http://deb.debian.org/debian} bookworm main" \
        "deb ${mirror:-http://deb.debian.org/debian} bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" \
        > "$WORK/rootfs/etc/apt/sources.list"
      tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
      rm -rf "$WORK/rootfs"
    fi
    podman import "$WORK/rootfs.tar" "docker.io/library/$name" >/dev/null 2>&1
  fi
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  step "build $IMAGE"
  start=$(date +%s)
  buildah build --isolation chroot --pull=never --ulimit nofile=16384:16384 --ulimit nproc=4096:4096 \
    --build-arg RUN_TESTS="${RUN_TESTS:-1}" \
    -t "$IMAGE" . > "$WORK/build.log" 2>&1 || { tail -50 "$WORK/build.log"; fail "image build"; }
  grep -E "tests passed|tests failed" "$WORK/build.log" || true
  echo "built in $(( $(date +%s) - start )) s"
fi
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "image size: $(( size / 1000000 )) MB"

step "runtime image contents"
podman run --rm --entrypoint /bin/sh "$IMAGE" -c '
  set -e
  [ "$(id -u)" = 10001 ] || { echo "runs as $(id -u)"; exit 1; }
  for b in recserve-server recserve-train recserve-cli recserve-bench; do
    if ldd /usr/local/bin/$b | grep "not found"; then exit 1; fi
  done
  for c in gcc g++ cc c++ cmake make; do
    if command -v $c; then echo "compiler $c in the runtime image"; exit 1; fi
  done' || fail "runtime image contents"

# Starts a container (extra podman flags in $@) listening on free loopback
# ports; sets NAME, GRPC and METRICS.
start_container() {
  NAME="recserve-test-$RANDOM"
  CONTAINERS+=("$NAME")
  podman run -d --name "$NAME" "$@" "$IMAGE" \
    --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 --drain_delay=1s \
    --shutdown_grace=5s >/dev/null
  local deadline=$(( $(date +%s) + 600 ))
  GRPC=""
  while [ -z "$GRPC" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" != true ]; then
      podman logs "$NAME" 2>&1 | tail -20
      fail "$NAME exited before listening"
    fi
    line=$(podman logs "$NAME" 2>&1 | grep -m1 "listening on" || true)
    GRPC=$(sed -n 's/.*listening on [^ ]* (port \([0-9]*\)).*/\1/p' <<<"$line")
    METRICS=$(sed -n 's/.*metrics on [^ ]* (port \([0-9]*\)).*/\1/p' <<<"$line")
    [ -n "$GRPC" ] || sleep 2
  done
  [ -n "$GRPC" ] || { podman logs "$NAME" | tail -20; fail "$NAME never listened"; }
  until "$CLI" --server "127.0.0.1:$GRPC" health >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { podman logs "$NAME" | tail -20; fail "$NAME never SERVING"; }
    sleep 1
  done
}

check_serving() {
  "$CLI" --server "127.0.0.1:$GRPC" health >/dev/null || fail "health not SERVING"
  "$CLI" --server "127.0.0.1:$GRPC" --json recommend --user 1 -n 5 > "$WORK/recommend.json" \
    || fail "Recommend"
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r["items"]) == 5, r' \
    "$WORK/recommend.json" || fail "Recommend returned: $(cat "$WORK/recommend.json")"
  /usr/bin/python3 - "$METRICS" <<'PY' || fail "/metrics"
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
assert "recserve_requests_total" in body and "recserve_snapshot_version" in body, body[:500]
PY
}

stop_and_check() {
  local start end code
  start=$(date +%s)
  podman stop --time 30 "$NAME" >/dev/null  # SIGTERM, SIGKILL after 30 s
  end=$(date +%s)
  code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
  echo "stopped in $(( end - start )) s, exit code $code"
  [ "$code" = 0 ] || { podman logs "$NAME" | tail -20; fail "exit code $code after SIGTERM"; }
  [ $(( end - start )) -lt 20 ] || fail "SIGTERM took $(( end - start )) s"
  # (grep reads a file: with pipefail, grep -q closing a pipe early fails it)
  podman logs "$NAME" > "$WORK/$NAME.log" 2>&1
  grep -q "shut down in" "$WORK/$NAME.log" || fail "no shutdown in the log"
}

step "1. no snapshot: trains the demo data set, then serves"
start=$(date +%s)
mkdir -p "$WORK/empty-snapshots"
chown 10001:10001 "$WORK/empty-snapshots"
start_container --read-only --tmpfs /tmp -v "$WORK/empty-snapshots:/snapshots"
echo "SERVING after $(( $(date +%s) - start )) s (training included)"
check_serving
stop_and_check

step "2. a snapshot volume mounted read-only: serves it, no training"
mkdir -p "$WORK/snapshots"
SNAP_SRC=${SNAPSHOT_DIR:-snapshots}
if [ ! -f "$SNAP_SRC/LATEST" ]; then
  "${BUILD_DIR:-build}/recserve-train" generate --users 500 --items 300 --ratings 20000 \
    --seed 3 --out "$WORK/ratings.csv" >/dev/null
  "${BUILD_DIR:-build}/recserve-train" --ratings "$WORK/ratings.csv" --out "$WORK/snapshots" \
    --build_index >/dev/null 2>&1
else
  cp -r "$SNAP_SRC/." "$WORK/snapshots/"
fi
chmod -R a+rX "$WORK/snapshots"
start=$(date +%s)
start_container --read-only --tmpfs /tmp -v "$WORK/snapshots:/snapshots:ro"
echo "SERVING after $(( $(date +%s) - start )) s"
podman logs "$NAME" > "$WORK/$NAME.log" 2>&1
grep -q "generating the demo" "$WORK/$NAME.log" && fail "trained despite a snapshot"
check_serving
stop_and_check

echo "container-test: OK ($IMAGE, $(( size / 1000000 )) MB)"
