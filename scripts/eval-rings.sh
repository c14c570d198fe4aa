#!/usr/bin/env bash
# Ring-detection quality on held-out labels (see examples/eval_rings.rs): for each seed, reveal
# a stratified 30% of accounts' labels through `labels import` into a workspace ingested with
# --no-labels, score, and measure on the hidden 70%: average precision, ROC-AUC, R-precision
# (precision in the top k, k = hidden positives) and ring recall (share of planted rings with at
# least half their hidden members in the top k; fixtures only). Prints one markdown table per
# dataset, supervised and unsupervised (no labels at all), each the mean of the seeds.
#
# Datasets: fixtures (the demo generator's planted rings), amlsim (the shared AMLSim sample) and
# amlsim-like (an AMLSim-format run generated here with all eight AMLSim typologies and decoys,
# src/fixtures/amlsim_like.rs; it also prints ring recall per typology).
#
# Usage: scripts/eval-rings.sh [fixtures|amlsim|amlsim-like|all] [SEEDS]   (default: all 1,2,3)
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
seeds="${2:-1,2,3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --example eval_rings -q
bin="$CARGO_TARGET_DIR/release/examples/eval_rings"
aml="${AMLSIM_DIR:-../shared/data/amlsim-20k-fanin-cycle}"
if [[ "$which" == fixtures || "$which" == all ]]; then
  "$bin" --generate demo --seeds "$seeds"
fi
if [[ "$which" == amlsim-like || "$which" == all ]]; then
  "$bin" --generate amlsim --seeds "$seeds" --typologies
fi
if [[ "$which" == amlsim || "$which" == all ]]; then
  if [[ -f "$aml/nodes.csv.gz" ]]; then
    "$bin" --name amlsim-20k --preset amlsim-sample --truth-nodes "$aml/nodes.csv.gz" --seeds "$seeds" \
      "$aml/transactions.csv.gz" "$aml/nodes.csv.gz"
  else
    echo "AMLSim sample not found in $aml (set AMLSIM_DIR)" >&2
  fi
fi
