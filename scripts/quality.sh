#!/usr/bin/env bash
# Prints the detection-quality figures the README reports: a 30-tenant, 60-day world with every
# attack variant and a benign-only world of the same size, at full API volume, swept and scored.
# Usage: scripts/quality.sh [SEED] (the benign world uses SEED+1). Needs a few GB of disk in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-11}
cargo build --release --quiet
bin=target/release/auditsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for kind in attacks benign; do
  s=$seed; flags=()
  if [ "$kind" = benign ]; then s=$((seed + 1)); flags=(--attacks none); fi
  "$bin" -q gen --out "$work/$kind" --tenants 30 --days 60 --seed "$s" "${flags[@]}"
  start=$(date +%s)
  "$bin" -q sweep "$work/$kind/aws" "$work/$kind/azure" "$work/$kind/gcp" --ip-ranges fixtures/ip-ranges --out "$work/$kind.json"
  echo "== $kind world (seed $s), swept in $(( $(date +%s) - start )) s"
  "$bin" eval --labels "$work/$kind/labels.json" "$work/$kind.json" | sed -n '1,8p'
done
