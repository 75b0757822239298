#!/usr/bin/env bash
# The demo show: the live stage when there is a display, otherwise an offline render to
# out/demo.mp4 (1280x720, 30 fps). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo build --bin ling-stage
BIN="$CARGO_TARGET_DIR/debug/ling-stage"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec "$BIN" live scenes/demo.ron "$@"
else
    echo "demo: no display found, rendering the show offline instead"
    mkdir -p out
    "$BIN" render scenes/demo.ron --out out/demo.mp4 --width 1280 --height 720 --fps 30 "$@"
    echo "demo: the show is in $(pwd)/out/demo.mp4"
fi
