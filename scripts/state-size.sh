#!/usr/bin/env bash
# Prints the size of the scheduled run's state for one tenant over a year: `auditsweep-gen` writes
# one company's logs and billing for DAYS days (365), and `auditsweep run` (default config: the
# 153-day retention, the 24 h overlap) reads them a week at a time, as the files would have
# arrived. Every four weeks it prints the state file's size, its size compacted (VACUUM INTO),
# the stored aggregates and the rows of each table; the last line is the figure per
# tenant-year. Usage: scripts/state-size.sh [SEED] (3; one tenant on AWS).
# DAYS and CHUNK_DAYS (7) override the span and the days per run; PRUNE_DAYS=N deletes input
# files N days older than the newest delivered (a bucket's lifecycle rule) before each run. A
# debug build: the sizes do not depend on the profile, and it spares a release build on a
# shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-3}
days=${DAYS:-365}
chunk=${CHUNK_DAYS:-7}
prune=${PRUNE_DAYS:-}
cargo build --quiet
bin=$PWD/target/debug/auditsweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PWD/target/debug/auditsweep-gen" -q --out "$work/world" --tenants 1 --days "$days" --seed "$seed"
mkdir -p "$work/tree"
cat > "$work/auditsweep.toml" <<EOF
[run]
state = "$work/state.db"
inputs = ["$work/tree"]
EOF
# The world's files by the day in their path (monthly billing files by their month's first day),
# one list of files per run.
python3 - "$work/world" "$chunk" "$work/days" > "$work/plan" <<'EOF'
import os, re, sys
root, chunk, days_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
by_day = {}
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        relative = os.path.relpath(path, root)
        if relative == "labels.json":
            continue
        m = re.search(r"(\d{4})[/-](\d{2})[/-](\d{2})(?!\d)", relative) or re.search(r"(\d{4})[/-](\d{2})(?![\d/-])", relative)
        day = "-".join(m.groups()) if len(m.groups()) == 3 else "-".join(m.groups()) + "-01"
        by_day.setdefault(day, []).append(relative)
days = sorted(by_day)
with open(days_file, "w") as out:
    for day in days:
        for relative in by_day[day]:
            print(day, relative, file=out)
for i in range(0, len(days), chunk):
    print(f"{days[min(i + chunk, len(days)) - 1]} " + " ".join(f for d in days[i:i + chunk] for f in by_day[d]))
EOF
measure() {
  python3 - "$work/state.db" "$1" "$2" <<'EOF'
import os, sqlite3, sys
path, day, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
compact = path + ".compact"
if os.path.exists(compact):
    os.remove(compact)
db.execute(f"VACUUM INTO '{compact}'")
blob = db.execute("SELECT length(aggregates) FROM baseline").fetchone()[0]
rows = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ["checkpoints", "event_ids", "incidents", "outbox", "runs"]}
print(f"{day} after {runs:3d} runs: state {size / 1e6:6.2f} MB, compacted {os.path.getsize(compact) / 1e6:6.2f} MB, "
      f"aggregates {blob / 1e6:5.2f} MB gzip; rows: " + ", ".join(f"{t} {n}" for t, n in rows.items()))
EOF
}
runs=0
while read -r last files; do
  # shellcheck disable=SC2086 # one word per file: generated names have no spaces
  (cd "$work/world" && cp --parents $files "$work/tree/")
  if [ -n "$prune" ]; then
    python3 - "$work/days" "$work/tree" "$last" "$prune" <<'EOF'
import datetime, os, sys
days_file, tree, last, keep = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
before = (datetime.date.fromisoformat(last) - datetime.timedelta(days=keep)).isoformat()
for line in open(days_file):
    day, relative = line.rstrip("\n").split(" ", 1)
    path = os.path.join(tree, relative)
    if day < before and os.path.exists(path):
        os.remove(path)
EOF
  fi
  "$bin" -q run --config "$work/auditsweep.toml" --ip-ranges fixtures/ip-ranges >/dev/null
  runs=$((runs + 1))
  through=$last
  if [ $((runs % 4)) -eq 0 ]; then measure "$through" "$runs"; fi
done < "$work/plan"
measure "$through" "$runs"
python3 - "$work/state.db" "$days" "$seed" "$runs" "$chunk" <<'EOF'
import json, os, sqlite3, sys
path, days, seed, runs, chunk = sys.argv[1:]
db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
spans = json.loads(db.execute("SELECT spans FROM baseline").fetchone()[0])
events = sum(c["events"] for c in spans.values())
rows = sum(c["billing_rows"] for c in spans.values())
compact = sqlite3.connect(f"file:{path}.compact?mode=ro", uri=True)
pages = dict(compact.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
files = compact.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
parts = {"baseline": ["baseline"], "checkpoints": ["checkpoints"],
         "event ids": ["event_ids", "event_ids_by_source_time", "event_sources"],
         "incidents and outbox": ["incidents", "sqlite_autoindex_incidents_1", "outbox", "sqlite_autoindex_outbox_1"]}
print("compacted, by part: " + ", ".join(f"{part} {sum(pages.get(t, 0) for t in tables) / 1e6:.2f} MB" for part, tables in parts.items())
      + f"; {pages.get('checkpoints', 0) / max(files, 1):.0f} bytes per checkpoint ({files:,} files)")
prune = os.environ.get("PRUNE_DAYS")
pruned = f", inputs deleted {prune} days after their day" if prune else ""
print(f"per tenant-year ({days} days, seed {seed}, {runs} runs of {chunk} days{pruned}, {events:,} events and {rows:,} billing rows read): "
      f"state {os.path.getsize(path + '.compact') / 1e6:.2f} MB compacted")
EOF
