//! The image side of tracking: frames, crops sampled into model tensors, SSD anchors, box
//! decoding and weighted non-maximum suppression. Plain Rust, no model, unit-tested.

use bevy::math::Vec2;

/// An RGB frame, 8 bits per channel, row-major.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, row by row from the top, 3 bytes (R, G, B) each: `width × height × 3`.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// A frame holding a copy of `img`'s pixels.
    pub fn from_image(img: &image::RgbImage) -> Self {
        Self {
            width: img.width(),
            height: img.height(),
            rgb: img.as_raw().clone(),
        }
    }

    /// Bilinear sample of channel `c` at `(x, y)` in pixel coordinates (pixel centres at
    /// `.5`); outside the image is black.
    fn sample(&self, x: f32, y: f32, out: &mut [f32; 3]) {
        let (w, h) = (self.width as i64, self.height as i64);
        let fx = x - 0.5;
        let fy = y - 0.5;
        let x0 = fx.floor();
        let y0 = fy.floor();
        let (ax, ay) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        *out = [0.0; 3];
        for (dy, wy) in [(0, 1.0 - ay), (1, ay)] {
            for (dx, wx) in [(0, 1.0 - ax), (1, ax)] {
                let (px, py) = (x0 + dx, y0 + dy);
                if px < 0 || py < 0 || px >= w || py >= h {
                    continue;
                }
                let i = ((py * w + px) * 3) as usize;
                let k = wx * wy;
                for (c, o) in out.iter_mut().enumerate() {
                    *o += k * self.rgb[i + c] as f32;
                }
            }
        }
    }
}

/// A square (possibly rotated) region of a frame: centre, side length and rotation, in pixels
/// and radians (positive turns the region's "up" clockwise on screen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    /// The region's centre in image pixels.
    pub center: Vec2,
    /// Its side length in image pixels.
    pub size: f32,
    /// Its turn in radians, positive clockwise on screen.
    pub rotation: f32,
}

impl Roi {
    /// The square turned by `rotation` that holds `points`, centred on their extent in the
    /// turned frame, its side `scale` × the longer extent.
    pub(crate) fn around(points: impl IntoIterator<Item = Vec2>, rotation: f32, scale: f32) -> Roi {
        let (s, c) = rotation.sin_cos();
        let (mut lo, mut hi) = (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN));
        for v in points {
            let local = Vec2::new(v.x * c + v.y * s, -v.x * s + v.y * c);
            lo = lo.min(local);
            hi = hi.max(local);
        }
        let centre = (lo + hi) / 2.0;
        Roi {
            center: Vec2::new(centre.x * c - centre.y * s, centre.x * s + centre.y * c),
            size: (hi - lo).max_element() * scale,
            rotation,
        }
    }

    /// The crop-pixel position (in an `n × n` crop) of an image point: the inverse of
    /// [`Roi::to_image`].
    pub(crate) fn to_crop(&self, p: Vec2, n: f32) -> Vec2 {
        let d = p - self.center;
        let (s, c) = self.rotation.sin_cos();
        let local = Vec2::new(d.x * c + d.y * s, -d.x * s + d.y * c);
        (local / self.size + Vec2::splat(0.5)) * n
    }

    /// Image position of a point given in the ROI's `n × n` crop pixels.
    pub(crate) fn to_image(&self, p: Vec2, n: f32) -> Vec2 {
        let local = (p / n - Vec2::splat(0.5)) * self.size;
        let (s, c) = self.rotation.sin_cos();
        self.center + Vec2::new(local.x * c - local.y * s, local.x * s + local.y * c)
    }
}

/// Tensor layout a model takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [1, 3, n, n]
    Nchw,
    /// [1, n, n, 3]
    Nhwc,
}

/// Samples `roi` of `frame` into an `n × n` RGB tensor, values mapped from 0..255 to
/// `range.0..range.1`. Bilinear, with the ROI's affine map stepped per pixel.
pub fn crop_tensor(
    frame: &Frame,
    roi: &Roi,
    n: usize,
    layout: Layout,
    range: (f32, f32),
) -> Vec<f32> {
    let mut out = vec![0.0f32; 3 * n * n];
    let scale = (range.1 - range.0) / 255.0;
    let nf = n as f32;
    // Image position of crop pixel centre (u, v) is origin + u·du + v·dv (then −0.5 for the
    // sampling grid, folded into the origin).
    let origin = roi.to_image(Vec2::splat(0.5), nf) - Vec2::splat(0.5);
    let du = roi.to_image(Vec2::new(1.5, 0.5), nf) - Vec2::splat(0.5) - origin;
    let dv = roi.to_image(Vec2::new(0.5, 1.5), nf) - Vec2::splat(0.5) - origin;
    // Pixel values scaled to the tensor's range, looked up instead of converted.
    let lut: [f32; 256] = std::array::from_fn(|i| i as f32 * scale);
    let mut row_px = vec![0.0f32; 3 * n];
    match layout {
        Layout::Nhwc => {
            for (v, row) in out.chunks_exact_mut(3 * n).enumerate() {
                sample_row(frame, origin + dv * v as f32, du, &lut, row);
            }
        }
        Layout::Nchw => {
            let (red, rest) = out.split_at_mut(n * n);
            let (green, blue) = rest.split_at_mut(n * n);
            let rows = red
                .chunks_exact_mut(n)
                .zip(green.chunks_exact_mut(n))
                .zip(blue.chunks_exact_mut(n));
            for (v, ((r, g), b)) in rows.enumerate() {
                sample_row(frame, origin + dv * v as f32, du, &lut, &mut row_px);
                for (((px, r), g), b) in row_px.chunks_exact(3).zip(r).zip(g).zip(b) {
                    (*r, *g, *b) = (px[0], px[1], px[2]);
                }
            }
        }
    }
    if range.0 != 0.0 {
        for value in &mut out {
            *value += range.0;
        }
    }
    out
}

/// One crop row: pixel centres `start + u·step` (in sampling-grid coordinates), bilinear,
/// as RGB triples scaled by `lut`. A row wholly inside the frame (both its ends are: the frame
/// is convex) takes the fast path; a row that crosses the border checks each pixel, and
/// outside is black.
fn sample_row(frame: &Frame, start: Vec2, step: Vec2, lut: &[f32; 256], out: &mut [f32]) {
    let (w, h) = (frame.width as f32, frame.height as f32);
    let stride = frame.width as usize * 3;
    let rgb = frame.rgb.as_slice();
    let n = out.len() / 3;
    let inside = |x: f32, y: f32| x >= 0.0 && y >= 0.0 && x < w - 1.0 && y < h - 1.0;
    let end = start + step * (n.max(1) - 1) as f32;
    let (mut x, mut y) = (start.x, start.y);
    if inside(start.x, start.y) && inside(end.x, end.y) {
        for o in out.chunks_exact_mut(3) {
            bilinear(rgb, stride, lut, x, y, o);
            x += step.x;
            y += step.y;
        }
    } else {
        let scale = lut[1];
        for o in out.chunks_exact_mut(3) {
            if inside(x, y) {
                bilinear(rgb, stride, lut, x, y, o);
            } else {
                // At the border: the slow path, black outside.
                let mut px = [0.0f32; 3];
                frame.sample(x + 0.5, y + 0.5, &mut px);
                for c in 0..3 {
                    o[c] = px[c] * scale;
                }
            }
            x += step.x;
            y += step.y;
        }
    }
}

/// The bilinear sample at `(x, y)`, inside the frame and less than a pixel from its right
/// and bottom edges (clamped there, against rounding). Truncation is the floor for these
/// points: `f32::floor` is a call on baseline x86_64, and twice a pixel it was half the crop.
#[inline(always)]
fn bilinear(rgb: &[u8], stride: usize, lut: &[f32; 256], x: f32, y: f32, o: &mut [f32]) {
    let rows = rgb.len() / stride.max(1);
    let x0 = (x as usize).min((stride / 3).saturating_sub(2));
    let y0 = (y as usize).min(rows.saturating_sub(2));
    let (ax, ay) = (x - x0 as f32, y - y0 as f32);
    let i = y0 * stride + x0 * 3;
    let (top, bottom) = (&rgb[i..i + 6], &rgb[i + stride..i + stride + 6]);
    for c in 0..3 {
        let t = lut[top[c] as usize];
        let t = t + ax * (lut[top[3 + c] as usize] - t);
        let b = lut[bottom[c] as usize];
        let b = b + ax * (lut[bottom[3 + c] as usize] - b);
        o[c] = t + ay * (b - t);
    }
}

/// SSD anchor centres (normalised 0..1) for a square input: for each `(stride, per_cell)`, a
/// grid of `input / stride` cells with `per_cell` anchors at each cell centre.
pub(crate) fn anchors(input: usize, layers: &[(usize, usize)]) -> Vec<Vec2> {
    let mut out = Vec::new();
    for &(stride, per_cell) in layers {
        let g = input / stride;
        for y in 0..g {
            for x in 0..g {
                for _ in 0..per_cell {
                    out.push(Vec2::new(
                        (x as f32 + 0.5) / g as f32,
                        (y as f32 + 0.5) / g as f32,
                    ));
                }
            }
        }
    }
    out
}

/// A detection in normalised input coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Detection {
    /// Probability the box holds the object, 0–1.
    pub(crate) score: f32,
    /// The box's centre, 0..1 across the input.
    pub(crate) center: Vec2,
    /// The box's width and height, as fractions of the input.
    pub(crate) size: Vec2,
    /// The detector's keypoints (eyes, nose... or palm points), 0..1 across the input.
    pub(crate) keypoints: Vec<Vec2>,
}

impl Detection {
    fn iou(&self, other: &Detection) -> f32 {
        let (a0, a1) = (self.center - self.size / 2.0, self.center + self.size / 2.0);
        let (b0, b1) = (
            other.center - other.size / 2.0,
            other.center + other.size / 2.0,
        );
        let i0 = a0.max(b0);
        let i1 = a1.min(b1);
        let inter = (i1 - i0).max(Vec2::ZERO);
        let inter = inter.x * inter.y;
        let union = self.size.x * self.size.y + other.size.x * other.size.y - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// The logistic function: a logit as a probability.
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-100.0, 100.0)).exp())
}

/// Decodes SSD regressors (`stride` floats per anchor: box cx, cy, w, h, then keypoint x, y
/// pairs, in `input`-pixel units relative to the anchor) and logits into detections scoring at
/// least `threshold`.
pub(crate) fn decode(
    regressors: &[f32],
    logits: &[f32],
    anchors: &[Vec2],
    stride: usize,
    keypoints: usize,
    input: f32,
    threshold: f32,
) -> Vec<Detection> {
    let mut out = Vec::new();
    for (i, anchor) in anchors.iter().enumerate() {
        let score = sigmoid(logits[i]);
        if score < threshold {
            continue;
        }
        let r = &regressors[i * stride..(i + 1) * stride];
        out.push(Detection {
            score,
            center: *anchor + Vec2::new(r[0], r[1]) / input,
            size: Vec2::new(r[2], r[3]) / input,
            keypoints: (0..keypoints)
                .map(|k| *anchor + Vec2::new(r[4 + 2 * k], r[5 + 2 * k]) / input)
                .collect(),
        });
    }
    out
}

/// MediaPipe's weighted non-maximum suppression: each cluster of boxes overlapping the best
/// remaining one by more than `iou` becomes their score-weighted average.
pub(crate) fn weighted_nms(mut detections: Vec<Detection>, iou: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !detections.is_empty() {
        let best = detections[0].clone();
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) =
            detections.into_iter().partition(|d| best.iou(d) > iou);
        detections = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = best.clone();
        merged.center = cluster.iter().map(|d| d.center * d.score).sum::<Vec2>() / total;
        merged.size = cluster.iter().map(|d| d.size * d.score).sum::<Vec2>() / total;
        for (k, kp) in merged.keypoints.iter_mut().enumerate() {
            *kp = cluster
                .iter()
                .map(|d| d.keypoints[k] * d.score)
                .sum::<Vec2>()
                / total;
        }
        out.push(merged);
    }
    out
}

/// Mean distance between two point sets, in their units (x and y only).
#[cfg(test)]
pub(crate) fn mean_error(a: &[bevy::math::Vec3], b: &[bevy::math::Vec3]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(p, q)| p.truncate().distance(q.truncate()))
        .sum::<f32>()
        / a.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_and_palm_anchor_counts_match_the_models() {
        assert_eq!(anchors(128, &[(8, 2), (16, 6)]).len(), 896);
        assert_eq!(anchors(192, &[(8, 2), (16, 6)]).len(), 2016);
        let a = anchors(128, &[(8, 2), (16, 6)]);
        assert_eq!(a[0], Vec2::new(0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[512], Vec2::new(0.5 / 8.0, 0.5 / 8.0));
    }

    #[test]
    fn a_crop_of_a_gradient_samples_the_right_pixels() {
        // Red grows with x, green with y.
        let (w, h) = (64u32, 32u32);
        let mut rgb = Vec::new();
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&[(x * 4) as u8, (y * 8) as u8, 100]);
            }
        }
        let frame = Frame {
            width: w,
            height: h,
            rgb,
        };
        let roi = Roi {
            center: Vec2::new(32.0, 16.0),
            size: 16.0,
            rotation: 0.0,
        };
        let t = crop_tensor(&frame, &roi, 16, Layout::Nhwc, (0.0, 255.0));
        // Crop pixel (0, 0) is image pixel (24, 8).
        assert!(
            (t[0] - 96.0).abs() < 1e-3 && (t[1] - 64.0).abs() < 1e-3,
            "{:?}",
            &t[..3]
        );
        let nchw = crop_tensor(&frame, &roi, 16, Layout::Nchw, (-1.0, 1.0));
        assert!(
            (nchw[2 * 256] - (-1.0 + 200.0 / 255.0)).abs() < 1e-4,
            "blue plane"
        );
        // A quarter turn: the crop's x runs down the image.
        let turned = Roi {
            rotation: std::f32::consts::FRAC_PI_2,
            ..roi
        };
        let p = turned.to_image(Vec2::new(16.0, 8.0), 16.0);
        assert!(p.distance(Vec2::new(32.0, 24.0)) < 1e-4, "{p}");
        // A crop hanging over the right edge: black beyond it, the gradient inside, and the
        // same values as the slow per-pixel sampler gives.
        let over = Roi {
            center: Vec2::new(64.0, 16.0),
            size: 16.0,
            rotation: 0.3,
        };
        let t = crop_tensor(&frame, &over, 16, Layout::Nhwc, (0.0, 255.0));
        for v in 0..16 {
            for u in 0..16 {
                let at = over.to_image(Vec2::new(u as f32 + 0.5, v as f32 + 0.5), 16.0);
                let mut px = [0.0; 3];
                frame.sample(at.x, at.y, &mut px);
                let k = (v * 16 + u) * 3;
                for c in 0..3 {
                    assert!(
                        (t[k + c] - px[c]).abs() < 0.05,
                        "({u}, {v}): {} vs {}",
                        t[k + c],
                        px[c]
                    );
                }
            }
        }
        assert_eq!(&t[15 * 3..15 * 3 + 3], &[0.0, 0.0, 0.0], "black outside");
    }

    #[test]
    fn overlapping_detections_merge_by_score() {
        let d = |score: f32, x: f32| Detection {
            score,
            center: Vec2::new(x, 0.5),
            size: Vec2::splat(0.2),
            keypoints: vec![Vec2::new(x, 0.4)],
        };
        let merged = weighted_nms(vec![d(0.9, 0.5), d(0.3, 0.52), d(0.8, 0.9)], 0.3);
        assert_eq!(merged.len(), 2);
        assert!((merged[0].center.x - (0.9 * 0.5 + 0.3 * 0.52) / 1.2).abs() < 1e-6);
        assert_eq!(merged[1].center.x, 0.9);
    }
}
