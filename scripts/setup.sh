#!/usr/bin/env bash
# Installs what Ling Stage needs on a Debian/Ubuntu machine. Idempotent: what is already
# there is left alone, so it is cheap to run before every build.
#   - Debian packages: build headers for Bevy, ALSA, udev, V4L (bindgen needs clang),
#     Mesa's Vulkan driver (software rendering works without a GPU), Xvfb, ffmpeg, and the
#     Noto CJK fonts (the console in Chinese, the door plaques 出将 / 入相), xdotool (the tests
#     click the console).
#   - ONNX Runtime: the shared library from PyPI's `onnxruntime` wheel, into the cache.
#   - Tracking models, converted from PyPI's mediapipe wheel when none are found.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${LING_CACHE:-$HOME/.cache/ling-stage}"
APT_PACKAGES=(
    pkg-config clang libclang-dev
    libasound2-dev libudev-dev libv4l-dev
    libx11-dev libxkbcommon-dev libwayland-dev libxcursor-dev libxrandr-dev libxi-dev
    mesa-vulkan-drivers libvulkan1 xvfb xauth
    ffmpeg espeak-ng python3 python3-pip
    fonts-noto-cjk xdotool
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found. Install Rust 1.95 or newer (https://rustup.rs) and run again." >&2
    exit 1
fi

# ONNX Runtime 1.31+ (loaded at run time by `ort` with load-dynamic).
ORT_DIR="$CACHE/onnxruntime"
if ! ls "$ORT_DIR"/onnxruntime/capi/libonnxruntime.so* >/dev/null 2>&1; then
    echo "setup: fetching ONNX Runtime from PyPI into $ORT_DIR"
    mkdir -p "$ORT_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --no-deps --target "$ORT_DIR" "onnxruntime>=1.31" \
        || echo "setup: WARNING: could not fetch onnxruntime; tracking will be off (see 'ling-stage doctor')" >&2
fi
# python-osc: the independent VMC peer the tests talk to (scripts/vmc_client.py).
PY_DIR="$CACHE/python"
if [ ! -d "$PY_DIR/pythonosc" ]; then
    echo "setup: fetching python-osc from PyPI into $PY_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --no-deps --target "$PY_DIR" "python-osc>=1.8" \
        || echo "setup: WARNING: could not fetch python-osc; the VMC interop tests will be skipped" >&2
fi
# Tracking models: made from PyPI's mediapipe wheel (scripts/models.sh) unless every one is
# found already in $LING_MODELS, assets/models/ or ../shared/data/models/ (the names are
# ling_tracking::MODEL_FILES in crates/tracking/src/lib.rs).
models_missing=0
for model in face_detection_short_range face_landmark palm_detection_full hand_landmark_full; do
    found=0
    for dir in ${LING_MODELS:+"$LING_MODELS"} assets/models ../shared/data/models; do
        [ -f "$dir/$model.onnx" ] && found=1 && break
    done
    [ "$found" -eq 1 ] || models_missing=1
done
if [ "$models_missing" -eq 1 ] && [ -n "${LING_SKIP_MODELS:-}" ]; then
    echo "setup: LING_SKIP_MODELS is set: no tracking models made (run scripts/models.sh later); tracking is off"
elif [ "$models_missing" -eq 1 ]; then
    echo "setup: making the tracking models (scripts/models.sh, about 2 minutes once; LING_SKIP_MODELS=1 skips)"
    bash scripts/models.sh || echo "setup: WARNING: tracking models were not made; tracking will be off" >&2
fi
# numpy and Pillow: the Python peer of the tracking benchmark (scripts/bench_tracking.py).
BENCH_DIR="$CACHE/python-bench"
if [ ! -d "$BENCH_DIR/numpy" ]; then
    echo "setup: fetching numpy and Pillow from PyPI into $BENCH_DIR"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        --target "$BENCH_DIR" numpy pillow \
        || echo "setup: WARNING: could not fetch numpy; the Python tracking benchmark will be skipped" >&2
fi
echo "setup: ready (cache: $CACHE)"
