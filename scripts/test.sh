#!/usr/bin/env bash
# Every test: unit and headless app tests, CLI tests, the render test on the software
# renderer, and the live window under Xvfb. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
cargo test --workspace "$@"
