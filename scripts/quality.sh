#!/usr/bin/env bash
# Prints the detection-quality figures the README reports: a 30-tenant, 60-day world with every
# attack variant and a benign-only world of the same size, at full API volume, swept and scored;
# then the attack world with every tenant-cloud swept alone (its own files only) and scored
# together; then the bundled demo.
# Usage: scripts/quality.sh [SEED] (the benign world uses SEED+1). Needs a few GB of disk in $TMPDIR.
# QUALITY_SCALE=F sets gen's --events-scale (default 1, full volume; tests/quality.rs uses 0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-11}
scale=${QUALITY_SCALE:-1}
cargo build --release --quiet
bin=target/release/auditsweep
ranges=fixtures/ip-ranges
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for kind in attacks benign; do
  s=$seed; flags=()
  if [ "$kind" = benign ]; then s=$((seed + 1)); flags=(--attacks none); fi
  target/release/auditsweep-gen -q --out "$work/$kind" --tenants 30 --days 60 --seed "$s" --events-scale "$scale" "${flags[@]}"
  start=$(date +%s)
  "$bin" -q sweep "$work/$kind/aws" "$work/$kind/azure" "$work/$kind/gcp" --ip-ranges "$ranges" --out "$work/$kind.json"
  echo "== $kind world (seed $s, events scale $scale), swept in $(( $(date +%s) - start )) s"
  "$bin" eval --labels "$work/$kind/labels.json" "$work/$kind.json"
done

# Each tenant-cloud of the attack world swept alone, with only its own files (the layout of
# docs/world-model.md), the reports scored together.
world=$work/attacks
mkdir -p "$work/single"
n=0
while read -r provider tenant accounts; do
  paths=()
  for account in ${accounts//,/ }; do
    case $provider in
      aws) paths+=("$world/aws/AWSLogs/$account" "$world/aws/cur/$account") ;;
      gcp) paths+=("$world/gcp/$account") ;;
    esac
  done
  case $provider in
    azure) paths+=("$world/azure/$tenant") ;;
    gcp) paths+=("$world/gcp/workspace/$tenant") ;;
  esac
  existing=()
  for p in "${paths[@]}"; do [ -e "$p" ] && existing+=("$p"); done
  n=$((n + 1))
  "$bin" -q sweep "${existing[@]}" --ip-ranges "$ranges" --out "$work/single/$n.json"
done < <(python3 -c '
import json, sys
for t in json.load(open(sys.argv[1]))["tenants"]:
    print(t["provider"], t["tenant"], ",".join(t["accounts"]))
' "$world/labels.json")
echo "== attack world (seed $seed), each of its $n tenant-clouds swept alone"
"$bin" eval --labels "$world/labels.json" "$work"/single/*.json

echo "== demo (fixtures/demo)"
"$bin" -q sweep fixtures/demo/aws fixtures/demo/azure fixtures/demo/gcp --ip-ranges "$ranges" --out "$work/demo.json"
"$bin" eval --labels fixtures/demo/labels.json "$work/demo.json"
