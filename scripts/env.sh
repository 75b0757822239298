# Shared environment for the scripts: one build cache outside the checkout, one profile.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ling-stage/target}"
export LING_CACHE="${LING_CACHE:-$HOME/.cache/ling-stage}"
# Incremental compilation only helps a developer's edit loop; it costs CI time and disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
