#!/usr/bin/env bash
# End-to-end scoring benchmark: 1,000,000 transactions among 200,000 accounts (the txgen
# benchmark fixture with planted rings and partial labels), scored from the workspace. The
# workspace is built on the first run (generation + ingest) and reused afterwards.
# Usage: scripts/bench-score.sh [--folds N]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --example bench_score -q
mkdir -p "$CARGO_TARGET_DIR/bench-score"
/usr/bin/time -v "$CARGO_TARGET_DIR/release/examples/bench_score" \
  --workspace "$CARGO_TARGET_DIR/bench-score/benchmark.sqlite" "$@" 2> >(grep -E "Elapsed|Maximum resident|User time|System time" >&2)
