#!/usr/bin/env bash
# Installs the Debian 12 packages recserve builds and tests with (and, with
# --sanitizers, what scripts/sanitizers.sh needs too). Safe to run again: it
# only calls apt-get when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake g++ make pkg-config
  libabsl-dev libeigen3-dev libhnswlib-dev nlohmann-json3-dev zlib1g-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numpy python3-grpcio python3-protobuf
  prometheus
)
# scripts/sanitizers.sh: clang for libFuzzer and its sanitizer runtimes.
if [ "${1:-}" = --sanitizers ]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Kubernetes manifests' offline checks (tests/deploy/k8s_manifests_test)
# render with kubectl kustomize and validate with Node packages from the npm
# registry, pinned by deploy/k8s/validate/package-lock.json.
command -v kubectl >/dev/null || {
  echo "setup: kubectl is missing (Kubernetes' apt repository or a release binary)" >&2
  exit 1
}
VALIDATE=deploy/k8s/validate
if ! cmp -s "$VALIDATE/package-lock.json" "$VALIDATE/node_modules/.package-lock.json.installed"; then
  command -v npm >/dev/null || {
    echo "setup: npm is missing (Debian package npm, or Node.js from NodeSource)" >&2
    exit 1
  }
  (cd "$VALIDATE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$VALIDATE/package-lock.json" "$VALIDATE/node_modules/.package-lock.json.installed"
fi
