#!/usr/bin/env bash
# Every test: unit and headless app tests in each crate, CLI tests, the render test on the
# software renderer, and the live window under Xvfb. Installs what is missing first. The docs
# are checked too: every public item documented and every link resolved (`missing_docs` is on
# in every crate), or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
echo "test: checking the docs (cargo doc --workspace --no-deps, warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo test --workspace "$@"
