#!/usr/bin/env bash
# Prints how often the detectors' priors' signals and counts occur in benign generated worlds
# (30 companies, 60 days, no attacks), the figures docs/detectors.md sets the defaults against.
# Usage: scripts/priors.sh [SEED...] (default 2 12). QUALITY_SCALE=F sets --events-scale (0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(2 12)
scale=${QUALITY_SCALE:-0.1}
cargo build --release --quiet --example priors
cargo build --release --quiet -p auditsweep-gen
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
worlds=()
for s in "${seeds[@]}"; do
  target/release/auditsweep-gen -q --out "$work/$s" --tenants 30 --days 60 --seed "$s" --attacks none --events-scale "$scale"
  worlds+=("$work/$s")
done
echo "== benign worlds, seeds ${seeds[*]}, events scale $scale"
target/release/examples/priors --ip-ranges fixtures/ip-ranges "${worlds[@]}"
