#!/usr/bin/env bash
# The reader's benchmark: prints the figures of the README's "Speed and memory" table.
#
# Two generated worlds, cached under target/bench-worlds (gen writes them once; about 6 minutes
# and 12 GB of disk for both): `large` (40 tenants, 60 days, routine API calls x11: about 20 M
# events) and `small`, the same tenants, principals and days with a quarter of the routine calls
# (x2.7: about 5 M events), so that peak memory can be compared at 4x the events.
#
# For each world: the stage split on one thread (examples/stages.rs), `sweep` with 1 thread and
# with all of them (wall, CPU, peak RSS), and DuckDB (from PyPI, in target/bench-venv) computing
# the per-day aggregates over the same files (scripts/duckdb_aggregates.py).
#
# Usage: scripts/bench.sh [small|large|all] (all)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
cores=$(nproc)
worlds=${BENCH_WORLDS:-target/bench-worlds}
mkdir -p "$worlds"

cargo build --release --quiet
cargo build --release --quiet --example stages
bin=target/release/auditsweep
stages=target/release/examples/stages

world() { # name events-scale
  if [ ! -d "$worlds/$1" ]; then
    rm -rf "$worlds/$1.tmp"
    echo "generating the $1 world (once; cached in $worlds/$1)" >&2
    target/release/auditsweep-gen -q --out "$worlds/$1.tmp" --tenants 40 --days 60 --seed 8 --events-scale "$2"
    mv "$worlds/$1.tmp" "$worlds/$1"
  fi
}

if [ ! -x target/bench-venv/bin/python ] || ! target/bench-venv/bin/python -c 'import duckdb' 2>/dev/null; then
  python3 -m venv target/bench-venv
  target/bench-venv/bin/pip install --quiet duckdb
fi
duckdb_version=$(target/bench-venv/bin/python -c 'import duckdb; print(duckdb.__version__)')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $cores cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "auditsweep $(git rev-parse --short HEAD 2>/dev/null || echo '?'), DuckDB $duckdb_version"

run() { # name
  local name=$1 dir=$worlds/$1
  local paths=("$dir/aws" "$dir/azure" "$dir/gcp")
  "$stages" --ip-ranges fixtures/ip-ranges "${paths[@]}" > "$work/stages.json"
  # Each sweep runs three times and the fastest counts: this shared machine's speed varies by a
  # third from one minute to the next.
  for threads in 1 "$cores"; do
    for try in 1 2 3; do
      /usr/bin/time -f "%e %U %S %M" -o "$work/try.$try" \
        "$bin" -q sweep "${paths[@]}" --ip-ranges fixtures/ip-ranges --threads "$threads" --out "$work/report.$threads.json" || true
    done
    sort -n "$work"/try.* | head -1 > "$work/time.$threads"
  done
  target/bench-venv/bin/python scripts/duckdb_aggregates.py "$dir" > "$work/duckdb"
  python3 - "$name" "$cores" "$work" <<'EOF'
import json, sys
name, cores, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stages = json.load(open(f"{work}/stages.json"))
report = json.load(open(f"{work}/report.1.json"))
same = open(f"{work}/report.1.json").read().replace(report["generated_at"], "") == \
    open(f"{work}/report.{cores}.json").read().replace(json.load(open(f"{work}/report.{cores}.json"))["generated_at"], "")
events = report["inputs"]["events"]
mb = stages["json_bytes"] / 1e6
stored = stages["stored_bytes"] / 1e6
print(f"\n{name} world: {stages['files']} files, {events:,} events, {mb:,.0f} MB of JSON, "
      f"{stored:,.0f} MB stored (CloudTrail gzipped), {len(report['findings'])} findings")
split = stages["seconds"]
total = sum(split.values())
order = ["read_inflate", "parse_normalize", "aggregate", "detect", "report"]
print("  one thread, by stage: " + ", ".join(
    f"{stage.replace('_', '+')} {split[stage]:.2f} s ({100 * split[stage] / total:.0f}%)"
    for stage in order))
walls = {}
for threads in (1, cores):
    wall, user, system, kb = open(f"{work}/time.{threads}").read().split()
    wall, cpu = float(wall), float(user) + float(system)
    walls[threads] = wall
    print(f"  sweep --threads {threads} (best of 3): {wall:.2f} s wall, {cpu:.2f} s CPU, "
          f"{events / wall:,.0f} events/s, {mb / cpu:.0f} MB/s of JSON per CPU-second, "
          f"{mb / wall:.0f} MB/s wall, {stored / wall:.0f} MB/s stored, "
          f"peak RSS {int(kb) // 1024} MiB")
    if threads == cores:
        open(f"{work}/rss.{name}", "w").write(f"{int(kb)} {events}\n")
print(f"  reports with 1 and {cores} threads identical: {'yes' if same else 'NO'}")
seconds, rows, duck_events = open(f"{work}/duckdb").read().split()
print(f"  DuckDB, same per-day aggregates, {cores} threads: {float(seconds):.2f} s "
      f"({int(duck_events):,} events in {int(rows):,} rows); auditsweep is "
      f"{float(seconds) / walls[cores]:.1f}x faster in wall time")
EOF
}

if [ "$which" = all ] || [ "$which" = small ]; then world small 2.7; run small; fi
if [ "$which" = all ] || [ "$which" = large ]; then world large 11; run large; fi
if [ -f "$work/rss.small" ] && [ -f "$work/rss.large" ]; then
  read -r small_kb small_events < "$work/rss.small"
  read -r large_kb large_events < "$work/rss.large"
  python3 -c "import sys; s, se, l, le = map(int, sys.argv[1:]); print(f'\npeak RSS grows {l / s:.2f}x for {le / se:.1f}x the events')" \
    "$small_kb" "$small_events" "$large_kb" "$large_events"
fi
