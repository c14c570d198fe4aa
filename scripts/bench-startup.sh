#!/usr/bin/env bash
# Measures (1) cold start to first frame of the GUI on an existing workspace and (2) building
# the demo workspace headless, with the release binary. Needs a display (runs under xvfb-run
# when DISPLAY is unset). Usage: scripts/bench-startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=target/release/sightline
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -z "${DISPLAY:-}" ]; then exec xvfb-run -a -s "-screen 0 1920x1080x24" "$0" "$@"; fi

echo "== demo build (headless, release), $runs runs"
for i in $(seq "$runs"); do
  rm -rf "$tmp/d"; mkdir -p "$tmp/d"
  s=$(date +%s.%N); "$bin" demo --workspace "$tmp/d/demo.sqlite" 2>/dev/null; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" -v i="$i" 'BEGIN{printf "run %d: %.2f s\n", i, e - s}'
done

echo "== cold start to first frame (workspace exists), $runs runs"
for i in $(seq "$runs"); do
  RUST_LOG=sightline=info SIGHTLINE_EPHEMERAL=1 "$bin" --workspace "$tmp/d/demo.sqlite" \
    --view fraud --screenshot "$tmp/shot.png" 2>&1 | grep -o 'first_frame_ms=[0-9]*' | sed "s/^/run $i: /"
done

echo "== first start with no workspace: first frame, the demo building behind it, $runs runs"
for i in $(seq "$runs"); do
  rm -rf "$tmp/f"; mkdir -p "$tmp/f"
  RUST_LOG=sightline=info SIGHTLINE_EPHEMERAL=1 "$bin" --workspace "$tmp/f/demo.sqlite" \
    --view fraud --screenshot "$tmp/shot.png" 2>&1 |
    grep -oE 'first_frame_ms=[0-9]+|job=Building demo workspace elapsed_ms=[0-9]+' |
    tr '\n' ' ' | sed "s/^/run $i: /"; echo
done
