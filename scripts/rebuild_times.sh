#!/usr/bin/env bash
# Rebuild times of the binary after an edit in each given file (a private function appended,
# timed, then the file restored and rebuilt untimed). INCR=0 measures as CI builds.
# Usage: bash scripts/rebuild_times.sh crates/core/src/show/mod.rs crates/mocap/src/bvh.rs ...
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ling-stage/target}"
unset CI; export CARGO_INCREMENTAL=${INCR:-1}
cargo build --bin ling-stage -q 2>/dev/null
n=0
for f in "$@"; do
  n=$((n+1))
  cp "$f" /tmp/incr_backup.rs
  printf '\n#[allow(dead_code)]\nfn incremental_probe_%d() -> u32 {\n    %d\n}\n' $n $RANDOM >> "$f"
  s=$(date +%s.%N)
  cargo build --bin ling-stage -q 2>&1 | grep -E '^error'
  e=$(date +%s.%N)
  cp /tmp/incr_backup.rs "$f"; cargo build --bin ling-stage -q 2>/dev/null
  printf "%-45s %6.1f s\n" "$f" "$(echo "$e - $s" | bc)"
done
cargo build --bin ling-stage -q 2>/dev/null
