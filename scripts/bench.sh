#!/usr/bin/env bash
# The benchmark suite lives in tests/bench/run.sh (see there).
exec "$(dirname "$0")/../tests/bench/run.sh" "$@"
