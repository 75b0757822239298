#!/usr/bin/env python3
"""The Python peer of the tracking benchmark (`ling-stage bench`, src/bench.rs tracking_costs).

Runs the same face and hand pipelines as crates/tracking/src/{vision,face,hand}.rs, in Python with
ONNX Runtime and numpy, on the same images and models, and times them the same way: one
warm-up call, then the mean of N calls, in milliseconds per frame.

  face_new            FaceTracker.lose() then track(): detector + crop + mesh + solver
  face_track          track() with the ROI from the previous frame: crop + mesh + solver
  hand_new            HandTracker.lose() then track(): palm + landmarks twice (palm crop, then
                      the crop turned to the landmarks) + curls and wrist pose
  raw_face_detector, raw_face_mesh, raw_palm, raw_hand_landmarks
                      each model's inference alone on a tensor prepared once (raw_face_mesh
                      is face_landmark.onnx, as in bench.rs; raw_face_mesh_v2 and
                      raw_blendshapes are added when the face pipeline runs those)

Every step the Rust pipeline does per frame is done here too, in numpy: the rotated square
crop with bilinear sampling (black outside the image), SSD decoding against the anchors,
MediaPipe's weighted NMS, mapping the landmarks back to image pixels, the next frame's crop
(turned to the eye line / to the hand), head pose, the blendshape model or the geometric
solver with gaze, finger curls and wrist pose. The face mesh is chosen as FaceTracker::new()
does (the 478-point v2 mesh, with face_blendshapes.onnx when present, when its file is
found; else the 468-point one) unless --face-mesh says.

It also checks that it computes the same thing as the reference pipeline
(../shared/data/reference/, JSON key "check"): the 468-point mesh's landmarks on the reference
crop and the hand's 21 landmarks from the reference crop box, as mean distances in pixels
(0.14 and 0.66 px here; the reference resized its crops with Pillow's antialiasing bilinear
filter, which the Rust sampling, and so this one, does not do: on the 360 → 224 px hand crop
that is the whole 0.66 px).

Usage: python3 scripts/bench_tracking.py [--runs N] [--json] [--face-mesh auto|v1|v2]
Needs onnxruntime and numpy on PYTHONPATH (scripts/setup.sh puts them in
~/.cache/ling-stage/onnxruntime and ~/.cache/ling-stage/python-bench); Pillow if it is there,
else ffmpeg, to read the PNG images.
"""

import argparse
import json
import math
import os
import platform
import shutil
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))

FACE_DETECTOR = "face_detection_short_range.onnx"
FACE_MESH = "face_landmark.onnx"
FACE_MESH_V2 = "face_landmarks_detector.onnx"
BLENDSHAPES = "face_blendshapes.onnx"
PALM = "palm_detection_full.onnx"
HAND_LANDMARKS = "hand_landmark_full.onnx"

# Crop side as a multiple of the face box (face.rs CROP_SCALE).
CROP_SCALE = 1.5
# Palm box to hand crop (hand.rs PALM_TO_HAND).
PALM_TO_HAND = 2.6


def fail(message):
    print(f"bench_tracking.py: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
except ImportError as e:
    fail(
        f"numpy is missing ({e}); install it with `python3 -m pip install --target "
        "~/.cache/ling-stage/python-bench numpy pillow` and put that folder on PYTHONPATH"
    )

try:
    import onnxruntime as ort
except ImportError as e:
    fail(
        f"onnxruntime is missing ({e}); run `bash scripts/setup.sh` and put "
        "~/.cache/ling-stage/onnxruntime on PYTHONPATH"
    )

F32 = np.float32


# --- images -----------------------------------------------------------------------------------


def load_rgb(path):
    """An image as an H × W × 3 uint8 array (alpha dropped, as Rust's `to_rgb8`)."""
    if not os.path.isfile(path):
        fail(f"image {path} not found (the shared test data: ../shared/data/images/)")
    try:
        from PIL import Image

        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except ImportError:
        pass
    # No Pillow: let ffmpeg decode it; the size comes from the PNG header.
    if shutil.which("ffmpeg") is None:
        fail(f"cannot read {path}: neither Pillow nor ffmpeg is installed")
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"cannot read {path} without Pillow: not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=False,
    )
    if raw.returncode != 0 or len(raw.stdout) != width * height * 3:
        fail(f"ffmpeg could not decode {path}: {raw.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(raw.stdout, dtype=np.uint8).reshape(height, width, 3).copy()


# --- models -----------------------------------------------------------------------------------


def model_dirs():
    """Search order of ling_tracking::model_dirs() (crates/tracking/src/lib.rs), relative to the repo root."""
    dirs = []
    if os.environ.get("LING_MODELS"):
        dirs.append(os.environ["LING_MODELS"])
    dirs.append(os.path.join(ROOT, "assets", "models"))
    dirs.append(os.path.join(SHARED, "models"))
    return dirs


def find_model(name):
    return next(
        (os.path.join(d, name) for d in model_dirs() if os.path.isfile(os.path.join(d, name))),
        None,
    )


class Model:
    """One model on one intra-op thread (engine.rs Model): run() returns every output
    flattened, in the model's output order."""

    def __init__(self, name):
        self.path = find_model(name)
        if self.path is None:
            fail(
                f"model {name} not found in {', '.join(model_dirs())}; run `bash scripts/setup.sh` "
                "or set $LING_MODELS to a folder holding it"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            self.path, sess_options=options, providers=["CPUExecutionProvider"]
        )
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        self.input_shape = list(inp.shape)
        self.outputs = [o.name for o in self.session.get_outputs()]
        # Layout as the Rust trackers decide it: NCHW when dimension 1 is 3.
        self.nchw = len(self.input_shape) > 1 and self.input_shape[1] == 3

    def run(self, tensor):
        return [o.reshape(-1) for o in self.session.run(self.outputs, {self.input: tensor})]


# --- vision.rs --------------------------------------------------------------------------------


class Roi:
    """A square, possibly rotated region: centre (px), side (px), rotation (radians)."""

    __slots__ = ("cx", "cy", "size", "rotation")

    def __init__(self, cx, cy, size, rotation=0.0):
        self.cx, self.cy = float(cx), float(cy)
        self.size, self.rotation = float(size), float(rotation)

    def to_image(self, x, y, n):
        """Image position of crop pixel (x, y) of an n × n crop (scalars or arrays)."""
        lx = (x / n - 0.5) * self.size
        ly = (y / n - 0.5) * self.size
        s, c = math.sin(self.rotation), math.cos(self.rotation)
        return self.cx + (lx * c - ly * s), self.cy + (lx * s + ly * c)

    def to_crop(self, x, y, n):
        """Crop-pixel position of image point (x, y): the inverse of to_image."""
        dx, dy = x - self.cx, y - self.cy
        s, c = math.sin(self.rotation), math.cos(self.rotation)
        return ((dx * c + dy * s) / self.size + 0.5) * n, ((-dx * s + dy * c) / self.size + 0.5) * n

    @staticmethod
    def around(points, rotation, scale):
        """vision.rs Roi::around: the square turned by `rotation` holding `points` (an N × 2+
        array), centred on their extent in the turned frame, side `scale` × the longer extent."""
        s, c = math.sin(rotation), math.cos(rotation)
        x = points[:, 0].astype(np.float64)
        y = points[:, 1].astype(np.float64)
        lx = x * c + y * s
        ly = -x * s + y * c
        lo_x, hi_x, lo_y, hi_y = lx.min(), lx.max(), ly.min(), ly.max()
        cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
        size = max(hi_x - lo_x, hi_y - lo_y) * scale
        return Roi(cx * c - cy * s, cx * s + cy * c, size, rotation)

    def as_tuple(self):
        return ([self.cx, self.cy], self.size, self.rotation)


def crop_tensor(img, roi, n, nchw, lo, hi):
    """vision.rs crop_tensor: samples `roi` of `img` into an n × n RGB tensor [1,3,n,n] or
    [1,n,n,3], 0..255 mapped to lo..hi; bilinear, pixel centres at .5, black outside."""
    h, w = img.shape[0], img.shape[1]
    ox, oy = roi.to_image(0.5, 0.5, n)
    ux, uy = roi.to_image(1.5, 0.5, n)
    vx, vy = roi.to_image(0.5, 1.5, n)
    ox, oy = ox - 0.5, oy - 0.5
    du = (F32(ux - 0.5 - ox), F32(uy - 0.5 - oy))
    dv = (F32(vx - 0.5 - ox), F32(vy - 0.5 - oy))
    steps = np.arange(n, dtype=F32)
    # Crop pixel (u, v) sits at origin + v·dv + u·du (rows are v).
    px = (F32(ox) + dv[0] * steps)[:, None] + du[0] * steps[None, :]
    py = (F32(oy) + dv[1] * steps)[:, None] + du[1] * steps[None, :]
    fx = np.floor(px)
    fy = np.floor(py)
    ax = (px - fx)[:, :, None]
    ay = (py - fy)[:, :, None]
    x0 = fx.astype(np.intp)
    y0 = fy.astype(np.intp)
    flat = img.reshape(-1, 3)
    taps = (
        (0, 0, (1.0 - ax) * (1.0 - ay)),
        (1, 0, ax * (1.0 - ay)),
        (0, 1, (1.0 - ax) * ay),
        (1, 1, ax * ay),
    )
    out = np.zeros((n, n, 3), dtype=F32)
    if x0.min() >= 0 and y0.min() >= 0 and x0.max() + 1 < w and y0.max() + 1 < h:
        # The whole crop inside the image: no tap needs a bounds check.
        base = y0 * w + x0
        for dx, dy, k in taps:
            out += k * np.take(flat, base + (dy * w + dx), axis=0)
    else:
        # At the border: taps outside the image are black.
        for dx, dy, k in taps:
            xx = x0 + dx
            yy = y0 + dy
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            index = np.where(inside, yy * w + xx, 0)
            out += np.where(inside[:, :, None], k, F32(0.0)) * np.take(flat, index, axis=0)
    out *= F32((hi - lo) / 255.0)
    out += F32(lo)
    if nchw:
        return np.ascontiguousarray(out.transpose(2, 0, 1))[None]
    return out[None]


def anchors(size, layers):
    """SSD anchor centres (normalised) for a square input, as vision.rs anchors()."""
    out = []
    for stride, per_cell in layers:
        g = size // stride
        ys, xs = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        centres = np.stack([(xs + 0.5) / g, (ys + 0.5) / g], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(F32)


def sigmoid(x):
    # As vision.rs: the logit clamped to ±100 (exp may overflow to inf: the score is then 0).
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.clip(x, -100.0, 100.0)))


def decode(regressors, logits, anchor, stride, keypoints, size, threshold):
    """vision.rs decode: detections scoring at least `threshold`, as (scores [K],
    centres [K,2], sizes [K,2], keypoints [K,P,2]) in normalised input coordinates."""
    scores = sigmoid(logits[: len(anchor)].astype(F32))
    keep = np.nonzero(scores >= threshold)[0]
    r = regressors.reshape(-1, stride)[keep]
    a = anchor[keep]
    centres = a + r[:, 0:2] / F32(size)
    sizes = r[:, 2:4] / F32(size)
    kps = a[:, None, :] + r[:, 4 : 4 + 2 * keypoints].reshape(-1, keypoints, 2) / F32(size)
    return scores[keep], centres, sizes, kps


def weighted_nms(detections, iou):
    """vision.rs weighted_nms: each cluster of boxes overlapping the best remaining one by
    more than `iou` becomes their score-weighted average. Returns a list of
    (score, centre, size, keypoints), best first."""
    scores, centres, sizes, kps = detections
    order = np.argsort(-scores, kind="stable")
    lo_all = centres - sizes / 2
    hi_all = centres + sizes / 2
    area_all = sizes[:, 0] * sizes[:, 1]
    out = []
    while len(order):
        best = order[0]
        i0 = np.maximum(lo_all[best], lo_all[order])
        i1 = np.minimum(hi_all[best], hi_all[order])
        inter = np.maximum(i1 - i0, 0.0)
        inter = inter[:, 0] * inter[:, 1]
        union = area_all[best] + area_all[order] - inter
        overlap = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        in_cluster = overlap > iou
        in_cluster[0] = True
        cluster = order[in_cluster]
        order = order[~in_cluster]
        wts = scores[cluster]
        total = wts.sum()
        out.append(
            (
                float(scores[best]),
                (centres[cluster] * wts[:, None]).sum(axis=0) / total,
                (sizes[cluster] * wts[:, None]).sum(axis=0) / total,
                (kps[cluster] * wts[:, None, None]).sum(axis=0) / total,
            )
        )
    return out


def to_image_points(roi, points, n):
    """Crop-pixel landmarks (x, y, z) to image pixels (z scaled like x and y)."""
    p = points.reshape(-1, 3)
    x, y = roi.to_image(p[:, 0], p[:, 1], n)
    return np.stack([x, y, p[:, 2] * F32(roi.size / n)], axis=1).astype(F32)


def mean_error(a, b):
    a = np.asarray(a, dtype=np.float64)[:, :2]
    b = np.asarray(b, dtype=np.float64)[:, :2]
    return float(np.linalg.norm(a - b, axis=1).mean())


# --- face.rs ----------------------------------------------------------------------------------

EYE_R_OUTER, EYE_R_INNER, EYE_R_TOP, EYE_R_BOTTOM = 33, 133, 159, 145
EYE_L_OUTER, EYE_L_INNER, EYE_L_TOP, EYE_L_BOTTOM = 263, 362, 386, 374
BROW_R, BROW_L = 105, 334
MOUTH_R, MOUTH_L, LIP_TOP, LIP_BOTTOM = 61, 291, 13, 14
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1


def _normalize(v):
    n = float(np.linalg.norm(v))
    return v / n if n > 0 and math.isfinite(n) else np.zeros(3)


def head_pose(p):
    """face.rs head_pose: yaw, pitch, roll (degrees) from the mesh's own frame."""
    flip = np.array([1.0, -1.0, -1.0])
    x = _normalize((p[EYE_L_OUTER] - p[EYE_R_OUTER]).astype(np.float64) * flip)
    up = (p[FOREHEAD] - p[CHIN]).astype(np.float64) * flip
    z = _normalize(np.cross(x, up))
    y = np.cross(z, x)
    # The rotation with columns x, y, z, as Euler angles YXZ (glam's to_euler(YXZ)).
    yaw, pitch, roll = euler_yxz(x, y, z)
    scale = float(np.linalg.norm(p[EYE_R_OUTER, :2] - p[EYE_L_OUTER, :2]))
    return {
        "yaw": math.degrees(yaw),
        "pitch": math.degrees(pitch),
        "roll": -math.degrees(roll),
        "position": p[NOSE_TIP].tolist(),
        "scale": scale,
    }


def expressions(p):
    """face.rs expressions: ARKit weights from the mesh geometry."""
    q = p[:, :2].astype(np.float64)

    def d2(a, b):
        return math.hypot(q[a, 0] - q[b, 0], q[a, 1] - q[b, 1])

    def ramp(x, lo, hi):
        return min(1.0, max(0.0, (x - lo) / (hi - lo)))

    eyes = max(d2(EYE_R_OUTER, EYE_L_OUTER), 1e-3)
    open_r = d2(EYE_R_TOP, EYE_R_BOTTOM) / max(d2(EYE_R_OUTER, EYE_R_INNER), 1e-3)
    open_l = d2(EYE_L_TOP, EYE_L_BOTTOM) / max(d2(EYE_L_OUTER, EYE_L_INNER), 1e-3)
    centre_y = (q[LIP_TOP, 1] + q[LIP_BOTTOM, 1]) / 2.0
    lift_r = (centre_y - q[MOUTH_R, 1]) / eyes
    lift_l = (centre_y - q[MOUTH_L, 1]) / eyes
    width = d2(MOUTH_R, MOUTH_L) / eyes
    opening = d2(LIP_TOP, LIP_BOTTOM) / eyes

    def smile(lift):
        return 0.5 * ramp(lift, -0.01, 0.07) + 0.5 * ramp(width, 0.58, 0.7)

    brow_r = (q[EYE_R_TOP, 1] - q[BROW_R, 1]) / eyes
    brow_l = (q[EYE_L_TOP, 1] - q[BROW_L, 1]) / eyes
    jaw = ramp(opening, 0.04, 0.45)
    return [
        ("eyeBlinkRight", 1.0 - ramp(open_r, 0.1, 0.28)),
        ("eyeBlinkLeft", 1.0 - ramp(open_l, 0.1, 0.28)),
        ("eyeWideRight", ramp(open_r, 0.38, 0.5)),
        ("eyeWideLeft", ramp(open_l, 0.38, 0.5)),
        ("browInnerUp", ramp((brow_r + brow_l) / 2.0, 0.2, 0.3)),
        ("browDownRight", 1.0 - ramp(brow_r, 0.1, 0.16)),
        ("browDownLeft", 1.0 - ramp(brow_l, 0.1, 0.16)),
        ("jawOpen", jaw),
        ("mouthSmileRight", smile(lift_r)),
        ("mouthSmileLeft", smile(lift_l)),
        ("mouthFrownRight", ramp(-lift_r, 0.02, 0.08)),
        ("mouthFrownLeft", ramp(-lift_l, 0.02, 0.08)),
        ("mouthStretchRight", ramp(width, 0.7, 0.85)),
        ("mouthStretchLeft", ramp(width, 0.7, 0.85)),
        (
            "mouthFunnel",
            ramp(opening / max(width, 1e-3), 0.5, 0.9) * (1.0 - ramp(width, 0.5, 0.6)),
        ),
        ("mouthPucker", 1.0 - ramp(width, 0.42, 0.52)),
        ("mouthClose", 1.0 - ramp(opening, 0.01, 0.05)),
    ]


# The 146 of the 478 landmarks the blendshape model reads (face.rs BLENDSHAPE_SUBSET).
BLENDSHAPE_SUBSET = [
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
]  # fmt: skip

BLENDSHAPE_NAMES = (
    "_neutral browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff "
    "cheekSquintLeft cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight "
    "eyeLookInLeft eyeLookInRight eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight "
    "eyeSquintLeft eyeSquintRight eyeWideLeft eyeWideRight jawForward jawLeft jawOpen jawRight "
    "mouthClose mouthDimpleLeft mouthDimpleRight mouthFrownLeft mouthFrownRight mouthFunnel "
    "mouthLeft mouthLowerDownLeft mouthLowerDownRight mouthPressLeft mouthPressRight mouthPucker "
    "mouthRight mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft "
    "mouthSmileRight mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight "
    "noseSneerLeft noseSneerRight"
).split()


def iris_offsets(p):
    """face.rs iris_offsets: each iris centre's offset from the middle of its eye (subject's
    right eye, then left) in half eye widths, x towards the subject's left, y up."""
    if len(p) < 478:
        return None
    q = p[:, :2].astype(np.float64)
    across = _normalize2(q[EYE_L_OUTER] - q[EYE_R_OUTER])
    up = np.array([across[1], -across[0]])

    def eye(outer, inner):
        half = float(np.linalg.norm(q[outer] - q[inner])) / 2.0
        return (q[outer] + q[inner]) / 2.0, max(half, 1e-3)

    eyes = [eye(EYE_R_OUTER, EYE_R_INNER), eye(EYE_L_OUTER, EYE_L_INNER)]
    irises = [q[468], q[473]]
    first_is_right = np.linalg.norm(irises[0] - eyes[0][0]) <= np.linalg.norm(
        irises[0] - eyes[1][0]
    )
    right, left = (irises[0], irises[1]) if first_is_right else (irises[1], irises[0])

    def offset(iris, centre_half):
        centre, half = centre_half
        d = iris - centre
        return float(d @ across) / half, float(d @ up) / half

    return offset(right, eyes[0]), offset(left, eyes[1])


def _normalize2(v):
    n = float(np.linalg.norm(v))
    return v / n if n > 0 and math.isfinite(n) else np.zeros(2)


def offset_angle(x):
    return math.degrees(math.asin(max(-1.0, min(1.0, x / 0.8))))


def gaze(p):
    offsets = iris_offsets(p)
    if offsets is None:
        return None
    (rx, ry), (lx, ly) = offsets
    return {"yaw": offset_angle((rx + lx) / 2), "pitch": offset_angle((ry + ly) / 2)}


def eye_look(p):
    offsets = iris_offsets(p)
    if offsets is None:
        return None
    (rx, ry), (lx, ly) = offsets

    def across(x):
        return max(-1.0, min(1.0, offset_angle(x) / 30.0))

    def vertical(y):
        return max(-1.0, min(1.0, offset_angle(y) / 25.0))

    rx, lx, ry, ly = across(rx), across(lx), vertical(ry), vertical(ly)
    return [
        ("eyeLookOutLeft", max(lx, 0.0)),
        ("eyeLookInLeft", max(-lx, 0.0)),
        ("eyeLookInRight", max(rx, 0.0)),
        ("eyeLookOutRight", max(-rx, 0.0)),
        ("eyeLookUpLeft", max(ly, 0.0)),
        ("eyeLookDownLeft", max(-ly, 0.0)),
        ("eyeLookUpRight", max(ry, 0.0)),
        ("eyeLookDownRight", max(-ry, 0.0)),
    ]


def eye_line_rotation(right, left):
    return math.atan2(float(left[1] - right[1]), float(left[0] - right[0]))


class FaceTracker:
    """face.rs FaceTracker: BlazeFace when the face is lost, then the face mesh: the 478-point
    v2 mesh (256 px crop, with the blendshape model when it is there) or the 468-point v1 mesh
    (192 px crop, geometric solver). `mesh="auto"` chooses as FaceTracker::new() does."""

    def __init__(self, mesh="auto"):
        if mesh == "auto":
            mesh = "v2" if find_model(FACE_MESH_V2) else "v1"
        self.mesh_name = mesh
        self.n = 256 if mesh == "v2" else 192
        self.count = 478 if mesh == "v2" else 468
        self.mesh_model = Model(FACE_MESH_V2 if mesh == "v2" else FACE_MESH)
        self.blendshapes = Model(BLENDSHAPES) if mesh == "v2" and find_model(BLENDSHAPES) else None
        self.detector = Model(FACE_DETECTOR)
        self.anchors = anchors(128, [(8, 2), (16, 6)])
        self.roi = None

    def describe(self):
        return "BlazeFace + {} mesh, {}".format(
            "478-point (irises)" if self.mesh_name == "v2" else "468-point",
            "blendshape model" if self.blendshapes else "geometric solver",
        )

    def lose(self):
        self.roi = None

    def detect(self, img):
        """The most likely face: centre (px), size (px), score; or None."""
        side = float(max(img.shape[0], img.shape[1]))
        roi = Roi(side / 2, side / 2, side)
        out = self.detector.run(crop_tensor(img, roi, 128, True, -1.0, 1.0))
        regressors, logits = (out[0], out[1]) if out[0].size > out[1].size else (out[1], out[0])
        found = weighted_nms(decode(regressors, logits, self.anchors, 16, 6, 128, 0.5), 0.3)
        if not found:
            return None
        score, centre, size, _ = found[0]
        return centre * side, size * side, score

    def mesh(self, img, roi):
        """468 (478) points in image pixels, and the presence probability."""
        m = self.mesh_model
        out = m.run(crop_tensor(img, roi, self.n, m.nchw, 0.0, 1.0))
        points = next((o for o in out if o.size == self.count * 3), None)
        if points is None:
            fail(f"model {m.path}: no {self.count} × 3 landmark output")
        presence = next((float(sigmoid(o[0])) for o in out if o.size == 1), 1.0)
        return to_image_points(roi, points, float(self.n)), presence

    def model_weights(self, landmarks, roi):
        """The 52 ARKit weights from the blendshape model (the 146-point subset in the crop's
        pixels), without `_neutral`; None without the model."""
        if self.blendshapes is None:
            return None
        sub = landmarks[BLENDSHAPE_SUBSET]
        sub = sub.astype(np.float64)
        x, y = roi.to_crop(sub[:, 0], sub[:, 1], float(self.n))
        points = np.stack([x, y], axis=1).astype(F32)[None]
        out = self.blendshapes.run(points)
        scores = next((o for o in out if o.size == 52), None)
        if scores is None:
            fail(f"model {self.blendshapes.path}: no 52 blendshape output")
        return [
            (name, min(1.0, max(0.0, float(w))))
            for name, w in zip(BLENDSHAPE_NAMES[1:], scores[1:])
        ]

    def track(self, img):
        detection = None
        roi = self.roi
        if roi is None:
            detection = self.detect(img)
            if detection is None:
                return None
            centre, size, _ = detection
            roi = Roi(centre[0], centre[1], float(size.max()) * CROP_SCALE)
        landmarks, presence = self.mesh(img, roi)
        if presence < 0.5:
            self.roi = None
            if detection is None:
                return self.track(img)
            return None
        # The next crop is turned to the eye line.
        rotation = eye_line_rotation(landmarks[EYE_R_OUTER], landmarks[EYE_L_OUTER])
        self.roi = Roi.around(landmarks[:468], rotation, CROP_SCALE)
        lo = landmarks[:468, :2].min(axis=0)
        hi = landmarks[:468, :2].max(axis=0)
        centre, size = (detection[0], detection[1]) if detection else ((lo + hi) / 2, hi - lo)
        weights = self.model_weights(landmarks, roi)
        if weights is not None:
            solver = "blendshape model"
        else:
            weights = expressions(landmarks)
            weights.extend(eye_look(landmarks) or [])
            solver = "geometric"
        return {
            "detection_score": detection[2] if detection else None,
            "center": centre.tolist(),
            "size": size.tolist(),
            "presence": presence,
            "head": head_pose(landmarks),
            "gaze": gaze(landmarks),
            "expressions": weights,
            "solver": solver,
            "iris": landmarks[468:],
            "landmarks": landmarks[:468],
        }


# --- hand.rs ----------------------------------------------------------------------------------


def upright(wx, wy, mx, my):
    """Rotation that turns the wrist → middle-finger direction to point up the crop."""
    a = math.pi / 2 - math.atan2(-(my - wy), mx - wx)
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def roi_from_palm(centre, size, kps):
    rotation = upright(kps[0, 0], kps[0, 1], kps[2, 0], kps[2, 1])
    side = float(size.max())
    s, c = math.sin(rotation), math.cos(rotation)
    # Half a palm towards the fingers: (0, -side/2) turned by the rotation.
    sx, sy = 0.0, -0.5 * side
    return Roi(
        centre[0] + (sx * c - sy * s), centre[1] + (sx * s + sy * c), side * PALM_TO_HAND, rotation
    )


def roi_from_landmarks(points):
    """The next frame's crop: turned to the hand, 1.3 × its extent."""
    rotation = upright(points[0, 0], points[0, 1], points[9, 0], points[9, 1])
    return Roi.around(points, rotation, 1.3)


def curls(p):
    """Bend at each finger joint, degrees (thumb … little × 3 joints)."""
    p = p.astype(np.float64)
    out = []
    for f in range(5):
        base = 1 + 4 * f
        chain = [0, base, base + 1, base + 2, base + 3]
        a = p[chain[1:4]] - p[chain[0:3]]
        b = p[chain[2:5]] - p[chain[1:4]]
        den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        cos = np.clip((a * b).sum(axis=1) / np.where(den > 0, den, 1), -1.0, 1.0)
        out.append(np.degrees(np.arccos(cos)).tolist())
    return out


def quat_from_axes(x_axis, y_axis, z_axis):
    """glam Quat::from_mat3 of the rotation with these columns, as (x, y, z, w)."""
    # glam's names: m0j are the x axis' components, m1j the y axis', m2j the z axis'.
    (m00, m01, m02), (m10, m11, m12), (m20, m21, m22) = x_axis, y_axis, z_axis
    if m22 <= 0.0:
        dif10 = m11 - m00
        omm22 = 1.0 - m22
        if dif10 <= 0.0:
            four_xsq = omm22 - dif10
            inv4x = 0.5 / math.sqrt(four_xsq)
            q = (four_xsq * inv4x, (m01 + m10) * inv4x, (m02 + m20) * inv4x, (m12 - m21) * inv4x)
        else:
            four_ysq = omm22 + dif10
            inv4y = 0.5 / math.sqrt(four_ysq)
            q = ((m01 + m10) * inv4y, four_ysq * inv4y, (m12 + m21) * inv4y, (m20 - m02) * inv4y)
    else:
        sum10 = m11 + m00
        opm22 = 1.0 + m22
        if sum10 <= 0.0:
            four_zsq = opm22 - sum10
            inv4z = 0.5 / math.sqrt(four_zsq)
            q = ((m02 + m20) * inv4z, (m12 + m21) * inv4z, four_zsq * inv4z, (m01 - m10) * inv4z)
        else:
            four_wsq = opm22 + sum10
            inv4w = 0.5 / math.sqrt(four_wsq)
            q = ((m12 - m21) * inv4w, (m20 - m02) * inv4w, (m01 - m10) * inv4w, four_wsq * inv4w)
    return [float(v) for v in q]


def euler_yxz(x, y, z):
    """Yaw, pitch, roll (radians) of the rotation with columns x, y, z: R = Ry Rx Rz."""
    return math.atan2(z[0], z[2]), math.asin(max(-1.0, min(1.0, -z[1]))), math.atan2(x[1], y[1])


def wrist_pose(p, model_right):
    """hand.rs wrist_pose: the palm's orientation from the wrist and the index, middle and
    little finger bases, degrees, and as a quaternion."""
    q = p.astype(np.float64)
    flip = np.array([1.0, -1.0, -1.0])
    up = (q[9] - q[0]) * flip
    n = float(np.linalg.norm(up))
    up = up / n if n > 0 else np.array([0.0, 1.0, 0.0])
    thumb_side = (q[5] - q[17]) * flip
    across = thumb_side if model_right else -thumb_side
    x = across - up * float(across @ up)
    n = float(np.linalg.norm(x))
    x = x / n if n > 0 else np.array([1.0, 0.0, 0.0])
    z = np.cross(x, up)
    yaw, pitch, roll = euler_yxz(x, up, z)
    return {
        "yaw": math.degrees(yaw),
        "pitch": math.degrees(pitch),
        "roll": -math.degrees(roll),
        "rotation": quat_from_axes(x, up, z),
    }


class HandTracker:
    """hand.rs HandTracker: palm detection when the hand is lost, then 21 landmarks."""

    def __init__(self):
        self.landmark_model = Model(HAND_LANDMARKS)
        self.palm = Model(PALM)
        self.anchors = anchors(192, [(8, 2), (16, 6)])
        self.roi = None

    def lose(self):
        self.roi = None

    def detect(self, img):
        """The most likely palm: (score, centre px, size px, 7 keypoints px) or None."""
        side = float(max(img.shape[0], img.shape[1]))
        roi = Roi(side / 2, side / 2, side)
        out = self.palm.run(crop_tensor(img, roi, 192, False, 0.0, 1.0))
        regressors, logits = (out[0], out[1]) if out[0].size > out[1].size else (out[1], out[0])
        found = weighted_nms(decode(regressors, logits, self.anchors, 18, 7, 192, 0.5), 0.3)
        if not found:
            return None
        score, centre, size, kps = found[0]
        return score, centre * side, size * side, kps * side

    def landmarks(self, img, roi):
        """21 points in image pixels, presence and right-hand probability."""
        m = self.landmark_model
        out = m.run(crop_tensor(img, roi, 224, m.nchw, 0.0, 1.0))
        points = next((o for o in out if o.size == 63), None)
        if points is None:
            fail(f"model {m.path}: no 21 × 3 landmark output")
        scalars = [min(1.0, max(0.0, float(o[0]))) for o in out if o.size == 1]
        presence = scalars[0] if scalars else 1.0
        right = scalars[1] if len(scalars) > 1 else 0.5
        return to_image_points(roi, points, 224.0), presence, right

    def track(self, img):
        palm_score = None
        roi = self.roi
        if roi is None:
            palm = self.detect(img)
            if palm is None:
                return None
            palm_score = palm[0]
            roi = roi_from_palm(palm[1], palm[2], palm[3])
        landmarks, presence, right = self.landmarks(img, roi)
        if palm_score is not None and presence >= 0.5:
            # Crop again around the landmarks just found, as the next video frame would.
            roi = roi_from_landmarks(landmarks)
            landmarks, presence, right = self.landmarks(img, roi)
        if presence < 0.5:
            self.roi = None
            if palm_score is None:
                return self.track(img)
            return None
        self.roi = roi_from_landmarks(landmarks)
        return {
            "palm_score": palm_score,
            "crop": roi.as_tuple(),
            "presence": presence,
            "right": right,
            "curls": curls(landmarks),
            "wrist": wrist_pose(landmarks, right > 0.5),
            "landmarks": landmarks,
        }


# --- the benchmark ----------------------------------------------------------------------------


def timed(runs, f):
    """One warm-up call, then the mean of `runs` calls, in ms (bench.rs `time`)."""
    f()
    start = time.perf_counter()
    for _ in range(runs):
        f()
    return (time.perf_counter() - start) * 1000.0 / runs


def load_reference(name):
    path = os.path.join(SHARED, "reference", name)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def check(astronaut, palm_img, faces, hands):
    """The Python pipelines against ../shared/data/reference/ (keys left out where a reference
    file is missing). The reference landmarks are the 468-point (v1) mesh's on the reference
    crop: the same model here must land on them (`face_mesh_ref_crop_err_px`, well under 1 px
    when the sampling matches); the benchmarked pipeline, whichever mesh it runs, is compared
    loosely (`face_pipeline_err_px`)."""
    out = {}
    face_ref = load_reference("astronaut.face.json")
    if face_ref is not None:
        expected = np.array(face_ref["landmarks_468_px"], dtype=np.float64)
        det = faces.detect(astronaut)
        c = np.array(face_ref["detection"]["center"])
        s = np.array(face_ref["detection"]["size"])
        if det is not None:
            out["face_detection_center_err_px"] = float(np.linalg.norm(det[0] - c))
            out["face_detection_size_err_px"] = float(np.abs(det[1] - s).max())
            out["face_detection_score"] = float(det[2])
        # The mesh on the reference's crop (detection box × 1.5, square).
        ref_roi = Roi(c[0], c[1], float(s.max()) * 1.5)
        v1 = faces if faces.mesh_name == "v1" else FaceTracker(mesh="v1")
        landmarks, presence = v1.mesh(astronaut, ref_roi)
        out["face_mesh_ref_crop_err_px"] = mean_error(landmarks, expected)
        out["face_presence"] = presence
        if faces.mesh_name != "v1":
            landmarks, _ = faces.mesh(astronaut, ref_roi)
            key = f"face_{faces.mesh_name}_mesh_ref_crop_err_px"
            out[key] = mean_error(landmarks[:468], expected)
        # The whole benchmarked pipeline, detector included.
        faces.lose()
        face = faces.track(astronaut)
        out["face_pipeline_err_px"] = (
            mean_error(face["landmarks"], expected) if face is not None else None
        )
        if face is not None:
            w = dict(face["expressions"])
            out["face_smile_left_right"] = [w["mouthSmileLeft"], w["mouthSmileRight"]]
            out["face_blink_left_right"] = [w["eyeBlinkLeft"], w["eyeBlinkRight"]]
            out["face_yaw_pitch_roll"] = [face["head"][k] for k in ("yaw", "pitch", "roll")]
    hand_ref = load_reference("hand.hand.json")
    if hand_ref is not None:
        expected = np.array(hand_ref["landmarks_21_px"], dtype=np.float64)
        det = hands.detect(palm_img)
        if det is not None:
            out["palm_center_err_px"] = float(
                np.linalg.norm(det[1] - np.array(hand_ref["palm"]["center"]))
            )
            out["palm_size_err_px"] = float(abs(det[2].max() - hand_ref["palm"]["size"]))
            out["palm_score"] = float(det[0])
        # The landmark stage on the reference's crop box, then the whole pipeline (its crop is
        # turned to the hand, so it is compared loosely, as the Rust reference test does).
        b = hand_ref["crop_box_px"]
        roi = Roi((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0])
        landmarks, presence, right = hands.landmarks(palm_img, roi)
        out["hand_ref_crop_err_px"] = mean_error(landmarks, expected)
        out["hand_presence"] = presence
        out["hand_presence_ref"] = hand_ref["presence"]
        out["hand_right"] = right
        out["hand_right_ref"] = hand_ref["handedness_right_prob"]
        hands.lose()
        hand = hands.track(palm_img)
        out["hand_pipeline_err_px"] = (
            mean_error(hand["landmarks"], expected) if hand is not None else None
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed calls per measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--face-mesh",
        choices=["auto", "v1", "v2"],
        default="auto",
        help="face mesh model: auto (as FaceTracker::new(): v2 when its file is found), v1, v2",
    )
    args = parser.parse_args()
    runs = max(1, args.runs)

    images = os.path.join(SHARED, "images")
    astronaut = load_rgb(os.path.join(images, "astronaut.png"))
    palm_img = load_rgb(os.path.join(images, "hand.png"))
    faces = FaceTracker(mesh=args.face_mesh)
    hands = HandTracker()

    first_face = faces.track(astronaut)
    if first_face is None:
        fail("the face pipeline found no face in astronaut.png")
    faces.lose()
    if hands.track(palm_img) is None:
        fail("the hand pipeline found no hand in hand.png")
    hands.lose()

    def face_new():
        faces.lose()
        faces.track(astronaut)

    result = {}
    result["face_new"] = timed(runs, face_new)
    # Tracking: the ROI carried from the previous frame (the last face_new call's).
    result["face_track"] = timed(runs, lambda: faces.track(astronaut))

    def hand_new():
        hands.lose()
        hands.track(palm_img)

    result["hand_new"] = timed(runs, hand_new)

    # Raw inference, as bench.rs: separate sessions of the same models on tensors made once
    # from the whole frame (the face mesh is face_landmark.onnx there, whichever mesh the
    # pipeline runs; the v2 mesh and the blendshape model get keys of their own).
    def whole(img):
        side = float(max(img.shape[0], img.shape[1]))
        return Roi(side / 2, side / 2, side)

    detector, mesh = Model(FACE_DETECTOR), Model(FACE_MESH)
    palm_model, landmarks = Model(PALM), Model(HAND_LANDMARKS)
    face_in = crop_tensor(astronaut, whole(astronaut), 128, True, -1.0, 1.0)
    mesh_in = crop_tensor(astronaut, whole(astronaut), 192, mesh.nchw, 0.0, 1.0)
    palm_in = crop_tensor(palm_img, whole(palm_img), 192, palm_model.nchw, 0.0, 1.0)
    hand_in = crop_tensor(palm_img, whole(palm_img), 224, landmarks.nchw, 0.0, 1.0)
    result["raw_face_detector"] = timed(runs, lambda: detector.run(face_in))
    result["raw_face_mesh"] = timed(runs, lambda: mesh.run(mesh_in))
    result["raw_palm"] = timed(runs, lambda: palm_model.run(palm_in))
    result["raw_hand_landmarks"] = timed(runs, lambda: landmarks.run(hand_in))
    if faces.mesh_name == "v2":
        mesh2 = Model(FACE_MESH_V2)
        mesh2_in = crop_tensor(astronaut, whole(astronaut), 256, mesh2.nchw, 0.0, 1.0)
        result["raw_face_mesh_v2"] = timed(runs, lambda: mesh2.run(mesh2_in))
    if faces.blendshapes is not None:
        shapes = Model(BLENDSHAPES)
        points_in = np.zeros((1, 146, 2), dtype=F32) + F32(128.0)
        result["raw_blendshapes"] = timed(runs, lambda: shapes.run(points_in))

    checks = check(astronaut, palm_img, faces, hands)
    result["face_mesh"] = faces.mesh_name
    result["face_models"] = faces.describe()
    result["face_solver"] = first_face["solver"]
    result["onnxruntime"] = ort.__version__
    result["python"] = platform.python_version()
    result["numpy"] = np.__version__
    result["runs"] = runs
    result["check"] = checks

    if args.json:
        print(json.dumps(result))
        return
    print(
        f"Python tracking peer: Python {result['python']}, ONNX Runtime {result['onnxruntime']}, "
        f"numpy {result['numpy']}, one intra-op thread, mean of {runs} runs after one warm-up"
    )
    print(f"Face pipeline: {result['face_models']}")
    labels = [
        ("face_new", "face, detection + mesh (a new face)"),
        ("face_track", "face, mesh only (tracking)"),
        ("hand_new", "hand, palm + landmarks (a new hand)"),
        ("raw_face_detector", "raw inference, face detector"),
        ("raw_face_mesh", "raw inference, face mesh (468-point)"),
        ("raw_face_mesh_v2", "raw inference, face mesh v2 (478-point)"),
        ("raw_blendshapes", "raw inference, blendshape model"),
        ("raw_palm", "raw inference, palm detector"),
        ("raw_hand_landmarks", "raw inference, hand landmarks"),
    ]
    for key, label in labels:
        if key in result:
            print(f"  {label:<42} {result[key]:8.2f} ms")
    print("Check against ../shared/data/reference/:")
    if not checks:
        print("  SKIPPED: no reference files")
    for key, value in checks.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, list):
            value = " / ".join(f"{v:.3f}" for v in value)
        print(f"  {key:<42} {value}")


if __name__ == "__main__":
    main()
