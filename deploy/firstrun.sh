#!/usr/bin/env bash
# Times what a newcomer's first command costs: a fresh clone of this
# checkout's HEAD, empty Go module and build caches, then
# `go run ./cmd/cadenza demo`. It prints the whole run's wall time, the
# demo's own time (from its summary) and the rest (module download and
# compile). Needs Go and the module proxy; removes everything it made.
# Usage: deploy/firstrun.sh [extra demo flags]
set -euo pipefail

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
tmp=$(mktemp -d -t cadenza-firstrun-XXXXXX)
cleanup() {
  # The module cache is read-only by design; go clean knows how to remove it.
  GOMODCACHE="$tmp/mod" go clean -modcache >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

git clone -q "$repo" "$tmp/cadenza"
cd "$tmp/cadenza"
echo "firstrun: $(git log -1 --format='%h %s' | cut -c1-72)"
echo "firstrun: $(nproc) cores, $(go version | cut -d' ' -f3-)"

start=$(date +%s.%N)
set +e
GOMODCACHE="$tmp/mod" GOCACHE="$tmp/cache" GOFLAGS= go run ./cmd/cadenza demo "$@" >"$tmp/demo.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)

total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
demo=$(sed -n 's/^Cadenza demo summary: .* in \([0-9.]*\) s real$/\1/p' "$tmp/demo.log")
if [ "$rc" -ne 0 ] || [ -z "$demo" ]; then
  tail -n 20 "$tmp/demo.log" >&2
  echo "firstrun: the demo failed (exit $rc)" >&2
  exit 1
fi
rest=$(awk -v t="$total" -v d="$demo" 'BEGIN { printf "%.1f", t - d }')
echo "firstrun: whole first run $total s = demo $demo s + download and compile $rest s"
