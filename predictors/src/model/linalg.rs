//! Small dense linear algebra: Cholesky factorisation and triangular solves.

use crate::error::{PredictorError, Result};

/// Lower-triangular Cholesky factor of a symmetric positive-definite matrix
/// (row-major `n x n`). Adds a growing diagonal jitter (up to `1e-6` of the mean
/// diagonal) when the matrix is numerically semi-definite.
pub fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let mean_diag = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let mut jitter = 0.0;
    for attempt in 0..5 {
        if let Some(l) = try_cholesky(a, n, jitter) {
            return Ok(l);
        }
        jitter = mean_diag.abs().max(1e-300) * 1e-10 * 10f64.powi(attempt);
    }
    Err(PredictorError::NotPositiveDefinite { size: n, jitter })
}

fn try_cholesky(a: &[f64], n: usize, jitter: f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                s += jitter;
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L z = b` (forward substitution).
pub fn solve_lower(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    z
}

/// Solves `L^T x = z` (back substitution).
pub fn solve_upper_t(l: &[f64], n: usize, z: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = z[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    x
}

/// Solves `A x = b` given the Cholesky factor `L` of `A`.
pub fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    solve_upper_t(l, n, &solve_lower(l, n, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] -> x = [0.5, 0].
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).expect("spd");
        assert!((l[0] - 2.0).abs() < 1e-12 && (l[2] - 1.0).abs() < 1e-12);
        let x = cholesky_solve(&l, 2, &[2.0, 1.0]);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(cholesky(&[-1.0], 1).is_err());
    }
}
