//! Shared test data.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` rows of `d` uniform features in [-1, 1] and the smooth target
/// `sin(2 x0) + x1^2 + 0.5 x2` (missing terms dropped when `d` is small).
pub fn toy_data(n: usize, d: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| rng.random_range(-1.0..1.0)).collect()).collect();
    let y = x.iter().map(|r| toy_target(r)).collect();
    (x, y)
}

/// The target of [`toy_data`].
pub fn toy_target(r: &[f64]) -> f64 {
    (2.0 * r[0]).sin() + r.get(1).map_or(0.0, |v| v * v) + 0.5 * r.get(2).copied().unwrap_or(0.0)
}

/// Root mean squared error.
pub fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}
