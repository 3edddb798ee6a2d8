#!/usr/bin/env bash
# Regenerates data/ip-ranges-snapshot.txt.gz, the hosting ranges built into the binary, from a
# directory of published lists in their native formats (docs/ip-ranges.md, "The built-in
# snapshot"). Then run `cargo test --test ranges`: a test checks the snapshot against the lists.
# Usage: scripts/ip-ranges-snapshot.sh [DIR] (default ../shared/data/ip-ranges)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-../shared/data/ip-ranges}
cargo run --quiet --example ip_ranges_snapshot -- "$dir" data/ip-ranges-snapshot.txt.gz
