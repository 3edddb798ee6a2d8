#!/usr/bin/env bash
# How long CI takes from nothing: the test suite's clean build (a fresh target directory, the
# crates already downloaded) and then the suite itself, as .ci/run runs it. Prints wall and CPU
# seconds of each and the build's peak memory. CI's budget is 90 minutes on 2 cores.
#
# Usage: scripts/ci-time.sh   (about 15 minutes on 2 cores; needs python3 for moto)
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
export CARGO_TARGET_DIR=$target
cargo fetch --locked --quiet
echo "machine: $(nproc) cores; auditsweep $(git rev-parse --short HEAD)"
/usr/bin/time -f "clean build of the test suite: %e s wall, %U s user, %S s system, peak %M KB" \
  -o "$target/build.time" cargo test --locked --no-run > "$target/build.log" 2>&1 ||
  { tail -30 "$target/build.log"; exit 1; }
cat "$target/build.time"
# .ci/run puts its moto venv under the target directory: its install is timed with the tests.
/usr/bin/time -f "the test suite (.ci/run, moto installed): %e s wall, %U s user, %S s system" \
  -o "$target/ci.time" .ci/run > "$target/ci.log" 2>&1 ||
  { grep -E "FAILED|panicked|^error" "$target/ci.log" | head -30; exit 1; }
cat "$target/ci.time"
grep -E "^test result" "$target/ci.log" | awk '{passed += $4; failed += $6} END {print "tests: " passed " passed, " failed " failed"}'
