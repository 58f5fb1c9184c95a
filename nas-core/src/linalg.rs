//! Small dense linear algebra, one copy for the project: Cholesky factorisation,
//! triangular solves and ridge regression (predictors, few-shot transfer, LUT
//! validation). Matrices are row-major `n x n` slices.

use crate::error::{NasError, Result};

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
    Err(NasError::NotPositiveDefinite { size: n, jitter })
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

/// Ridge regression with an unpenalised intercept: minimises
/// `|y - intercept - X coef|^2 + alpha |coef|^2` with the columns of `X` centred
/// on the given rows. Returns `(coef, intercept)`; `alpha = 0` is ordinary least
/// squares (which needs full column rank).
pub fn ridge(x: &[Vec<f64>], y: &[f64], alpha: f64) -> Result<(Vec<f64>, f64)> {
    let n = y.len().max(1) as f64;
    let d = x.first().map_or(0, Vec::len);
    let mx: Vec<f64> = (0..d).map(|c| x.iter().map(|r| r[c]).sum::<f64>() / n).collect();
    let my = y.iter().sum::<f64>() / n;
    let mut a = vec![0.0; d * d];
    let mut b = vec![0.0; d];
    for (r, t) in x.iter().zip(y) {
        let rc: Vec<f64> = r.iter().zip(&mx).map(|(v, m)| v - m).collect();
        for i in 0..d {
            b[i] += rc[i] * (t - my);
            for j in 0..=i {
                a[i * d + j] += rc[i] * rc[j];
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            a[j * d + i] = a[i * d + j];
        }
        a[i * d + i] += alpha;
    }
    let coef = if d == 0 { Vec::new() } else { cholesky_solve(&cholesky(&a, d)?, d, &b) };
    let intercept = my - coef.iter().zip(&mx).map(|(c, m)| c * m).sum::<f64>();
    Ok((coef, intercept))
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

    #[test]
    fn ridge_recovers_a_line_and_shrinks_with_alpha() {
        // y = 3 + 2 x exactly: OLS gives the line back.
        let x: Vec<Vec<f64>> = (0..5).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<f64> = (0..5).map(|i| 3.0 + 2.0 * f64::from(i)).collect();
        let (c, b) = ridge(&x, &y, 0.0).expect("full rank");
        assert!((c[0] - 2.0).abs() < 1e-9 && (b - 3.0).abs() < 1e-9);
        // Centred x has sum of squares 10, so alpha = 10 halves the slope
        // (20 / (10 + 10)) and the intercept keeps the mean: 7 - 1 * 2 = 5.
        let (c, b) = ridge(&x, &y, 10.0).expect("spd");
        assert!((c[0] - 1.0).abs() < 1e-9 && (b - 5.0).abs() < 1e-9);
    }
}

/// `ln |det A|` of a square matrix (row-major `n x n`) by LU factorisation with
/// partial pivoting; `-inf` for a singular matrix. (The sign is not returned:
/// the callers score Gram-like matrices.)
pub fn log_abs_det(a: &[f64], n: usize) -> f64 {
    let mut m = a.to_vec();
    let mut log_det = 0.0;
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs())).unwrap_or(col);
        let p = m[pivot * n + col];
        if p == 0.0 || !p.is_finite() {
            return f64::NEG_INFINITY;
        }
        if pivot != col {
            for k in 0..n {
                m.swap(pivot * n + k, col * n + k);
            }
        }
        log_det += p.abs().ln();
        for row in col + 1..n {
            let f = m[row * n + col] / p;
            if f != 0.0 {
                for k in col..n {
                    m[row * n + k] -= f * m[col * n + k];
                }
            }
        }
    }
    log_det
}

#[cfg(test)]
mod log_det_tests {
    use super::log_abs_det;

    #[test]
    fn log_abs_det_matches_hand_computed_determinants() {
        // det [[4, 3], [6, 3]] = 12 - 18 = -6.
        assert!((log_abs_det(&[4.0, 3.0, 6.0, 3.0], 2) - 6f64.ln()).abs() < 1e-12);
        // A permutation of diag(2, 3, 5) needs pivoting: |det| = 30.
        let a = [0.0, 3.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 5.0];
        assert!((log_abs_det(&a, 3) - 30f64.ln()).abs() < 1e-12);
        assert_eq!(log_abs_det(&[1.0, 2.0, 2.0, 4.0], 2), f64::NEG_INFINITY);
    }
}
