//! The moving averages of a REINFORCE update: the baseline subtracted from the
//! rewards and the mean square that scales the advantages (shared by the
//! `reinforce` / `marl` controllers and EAS's meta-controller).

/// An exponential moving average; its first value is taken as is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MovingAverage {
    value: Option<f64>,
}

impl MovingAverage {
    /// The current value, or `first` before any update.
    pub fn value_or(&self, first: f64) -> f64 {
        self.value.unwrap_or(first)
    }

    /// Folds `x` in with weight `1 − decay`; returns the new value.
    pub fn update(&mut self, x: f64, decay: f64) -> f64 {
        let v = match self.value {
            Some(v) => decay * v + (1.0 - decay) * x,
            None => x,
        };
        self.value = Some(v);
        v
    }
}

/// Folds the mean square of the advantages (every group's) into
/// `mean_square` and divides them by its square root, so the step size does not
/// depend on the reward's unit.
pub fn scale_advantages(groups: &mut [Vec<f64>], mean_square: &mut MovingAverage, decay: f64) {
    let n = groups.iter().map(Vec::len).sum::<usize>().max(1);
    let sum: f64 = groups.iter().flatten().map(|a| a * a).sum();
    let var = mean_square.update(sum / n as f64, decay);
    let scale = 1.0 / (var.sqrt() + 1e-8);
    for a in groups.iter_mut().flatten() {
        *a *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_and_scales_by_hand() {
        let mut m = MovingAverage::default();
        assert_eq!(m.value_or(3.0), 3.0);
        assert_eq!(m.update(2.0, 0.9), 2.0);
        assert!((m.update(4.0, 0.9) - 2.2).abs() < 1e-12);
        let mut sq = MovingAverage::default();
        let mut adv = vec![vec![3.0, -4.0], vec![0.0, 0.0]];
        // Mean square 25 / 4: the advantages are divided by 2.5.
        scale_advantages(&mut adv, &mut sq, 0.9);
        assert!((adv[0][0] - 1.2).abs() < 1e-6 && (adv[0][1] + 1.6).abs() < 1e-6);
    }
}
