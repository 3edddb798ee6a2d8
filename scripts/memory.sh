#!/usr/bin/env bash
# Prints the sweep's peak memory for one world's cast at two volumes of routine API calls
# (`gen --events-scale`): the same tenants, principals and days, about 4x the events. Memory that
# grows with entities, not events, stays nearly flat. Usage: scripts/memory.sh [SEED] (11).
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-11}
cargo build --release --quiet
bin=target/release/auditsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for scale in 0.25 1; do
  target/release/auditsweep-gen -q --out "$work/$scale" --tenants 30 --days 60 --seed "$seed" --events-scale "$scale"
  /usr/bin/time -f "%M %e" -o "$work/time" "$bin" -q sweep "$work/$scale/aws" "$work/$scale/azure" "$work/$scale/gcp" --ip-ranges fixtures/ip-ranges --out "$work/$scale.json"
  read -r kb seconds < "$work/time"
  records=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["inputs"]["records_read"])' "$work/$scale.json")
  echo "events scale $scale: $records records read, peak RSS $((kb / 1024)) MiB, $seconds s"
done
