//! Smoothing: a One Euro filter per tracked signal, retuned together when the tuning changes.

use ling_core::settings::TrackingTuning;

/// The One Euro filter (Casiez et al. 2012): smooth when still, responsive when moving.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OneEuro {
    /// The cutoff frequency when the signal is still, Hz: lower smooths more.
    min_cutoff: f32,
    /// How fast the cutoff rises with the signal's speed: higher lags less on fast moves.
    beta: f32,
    /// The cutoff frequency of the speed estimate, Hz.
    d_cutoff: f32,
    /// The last output and its speed (units a second).
    last: Option<(f32, f32)>,
}

impl Default for OneEuro {
    fn default() -> Self {
        let t = TrackingTuning::default();
        Self::new(t.min_cutoff, t.beta)
    }
}

impl OneEuro {
    /// A filter with the given still cutoff (Hz) and speed coefficient.
    pub(crate) fn new(min_cutoff: f32, beta: f32) -> Self {
        Self {
            min_cutoff,
            beta,
            d_cutoff: 1.0,
            last: None,
        }
    }

    fn alpha(cutoff: f32, dt: f32) -> f32 {
        let tau = 1.0 / (std::f32::consts::TAU * cutoff.max(1e-3));
        1.0 / (1.0 + tau / dt)
    }

    /// Filters `x` arriving `dt` seconds after the previous sample.
    pub(crate) fn filter(&mut self, x: f32, dt: f32) -> f32 {
        let Some((prev, prev_d)) = self.last else {
            self.last = Some((x, 0.0));
            return x;
        };
        let dt = dt.max(1e-4);
        let d = (x - prev) / dt;
        let d_hat = prev_d + Self::alpha(self.d_cutoff, dt) * (d - prev_d);
        let cutoff = self.min_cutoff + self.beta * d_hat.abs();
        let x_hat = prev + Self::alpha(cutoff, dt) * (x - prev);
        self.last = Some((x_hat, d_hat));
        x_hat
    }
}

/// One Euro filter per signal.
#[derive(Debug, Clone, Default)]
pub(super) struct Filters {
    /// Expression weights by name, added as names first arrive.
    weights: Vec<(&'static str, OneEuro)>,
    /// The head angles read off the mesh (yaw, pitch, roll).
    pub(super) head: [OneEuro; 3],
    /// The head angles fitted against the neutral face.
    pub(super) fitted_head: [OneEuro; 3],
    /// Per hand (indexed by [`side`](super::pose::side)): 5 fingers × 3 joints, and the
    /// wrist's 3 angles.
    pub(super) fingers: [[[OneEuro; 3]; 5]; 2],
    pub(super) wrist: [[OneEuro; 3]; 2],
}

impl Filters {
    /// Gives every filter the tuning's cutoff and speed coefficient.
    pub(super) fn tune(&mut self, t: &TrackingTuning) {
        let all = self
            .weights
            .iter_mut()
            .map(|(_, f)| f)
            .chain(self.head.iter_mut())
            .chain(self.fitted_head.iter_mut())
            .chain(self.fingers.iter_mut().flatten().flatten())
            .chain(self.wrist.iter_mut().flatten());
        for f in all {
            f.min_cutoff = t.min_cutoff;
            f.beta = t.beta;
        }
    }

    /// Filters the expression weight `name`, starting a filter for it the first time.
    pub(super) fn weight(
        &mut self,
        name: &'static str,
        x: f32,
        dt: f32,
        t: &TrackingTuning,
    ) -> f32 {
        let index = match self.weights.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.weights
                    .push((name, OneEuro::new(t.min_cutoff, t.beta)));
                self.weights.len() - 1
            }
        };
        self.weights[index].1.filter(x, dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_euro_smooths_jitter_and_follows_a_step() {
        let mut f = OneEuro::new(1.0, 0.3);
        let dt = 1.0 / 30.0;
        // Jitter of ±0.05 around 0.5: the output moves much less.
        let mut spread = (f32::MAX, f32::MIN);
        for i in 0..120 {
            let x = 0.5 + if i % 2 == 0 { 0.05 } else { -0.05 };
            let y = f.filter(x, dt);
            if i > 30 {
                spread = (spread.0.min(y), spread.1.max(y));
            }
        }
        assert!(spread.1 - spread.0 < 0.03, "jitter smoothed: {spread:?}");
        // A step to 1.0 is followed within a third of a second.
        let mut y = 0.0;
        for _ in 0..10 {
            y = f.filter(1.0, dt);
        }
        assert!(y > 0.85, "follows the step: {y}");
    }
}
