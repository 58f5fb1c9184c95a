//! Expected hypervolume improvement (EHVI) of a candidate over a front.
//!
//! Everything is in minimisation form, in a normalised objective space with a
//! fixed reference point. Two cases:
//!
//! - **Two objectives, one of them uncertain** (the common hardware-aware case:
//!   accuracy predicted, latency read from a table or LUT): exact. With the known
//!   coordinate `x` fixed, the improvement is piecewise linear in the uncertain one,
//!   `HVI(y) = sum_j w_j max(0, c_j - y)` over the segments `[a_j, a_j + w_j)` of
//!   `[x, ref_x)` on which the front's attained level is `c_j`; for
//!   `y ~ N(mu, sigma)` each term has the closed form
//!   `(c - mu) Phi(z) + sigma phi(z)`, `z = (c - mu) / sigma` (Emmerich et al.,
//!   *Single- and multiobjective evolutionary optimization assisted by Gaussian
//!   random field metamodels*, IEEE TEVC 2006, specialised to one random axis).
//! - **Anything else**: Monte Carlo over independent normal draws of the uncertain
//!   coordinates, with the caller's common random numbers, using the exact
//!   hypervolume of [`nas_core::pareto::hypervolume`].

use nas_core::pareto::hypervolume;

/// Standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function (complementary error function after
/// W. J. Cody's rational Chebyshev form as in Numerical Recipes `erfcc`, relative
/// error below 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// `E[max(0, c - Y)]` for `Y ~ N(mean, std)`.
pub fn expected_shortfall_below(c: f64, mean: f64, std: f64) -> f64 {
    if std <= 0.0 {
        return (c - mean).max(0.0);
    }
    let z = (c - mean) / std;
    (c - mean) * normal_cdf(z) + std * normal_pdf(z)
}

/// A two-objective front prepared for improvement queries: non-dominated points
/// sorted by the first coordinate (ascending; the second then descends), clipped
/// to the reference box.
#[derive(Clone, Debug)]
pub struct Front2 {
    points: Vec<[f64; 2]>,
    reference: [f64; 2],
}

impl Front2 {
    /// Prepares `points` (any order, dominated ones allowed) against `reference`.
    pub fn new(points: &[Vec<f64>], reference: [f64; 2]) -> Self {
        let mut p: Vec<[f64; 2]> = points
            .iter()
            .filter(|v| v.len() == 2 && v[0] < reference[0] && v[1] < reference[1])
            .map(|v| [v[0], v[1]])
            .collect();
        p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        let mut front: Vec<[f64; 2]> = Vec::new();
        for q in p {
            if front.last().is_none_or(|l| q[1] < l[1]) {
                front.push(q);
            }
        }
        Front2 { points: front, reference }
    }

    /// The segments `(width, level)` of `[x, ref_x)` with the front's attained
    /// second coordinate on each (the reference where nothing attains).
    fn segments(&self, x: f64) -> Vec<(f64, f64)> {
        let [rx, ry] = self.reference;
        if x >= rx {
            return Vec::new();
        }
        let mut out = Vec::new();
        // Level at x: the last point with first coordinate <= x.
        let k = self.points.partition_point(|p| p[0] <= x);
        let mut level = if k > 0 { self.points[k - 1][1] } else { ry };
        let mut start = x;
        for p in &self.points[k..] {
            out.push((p[0] - start, level));
            start = p[0];
            level = p[1];
        }
        out.push((rx - start, level));
        out
    }

    /// Exact hypervolume improvement of the point `(x, y)`.
    pub fn improvement(&self, x: f64, y: f64) -> f64 {
        self.segments(x).into_iter().map(|(w, c)| w * (c - y).max(0.0)).sum()
    }

    /// Exact expected improvement of `(x, Y)`, `Y ~ N(mean, std)`.
    pub fn expected_improvement(&self, x: f64, mean: f64, std: f64) -> f64 {
        self.segments(x).into_iter().map(|(w, c)| w * expected_shortfall_below(c, mean, std)).sum()
    }
}

/// Monte Carlo expected improvement of a point with independent normal
/// coordinates (`std` 0 for known ones), over `front`, using the standard normal
/// draws `draws` (one vector of `mean.len()` per sample; common random numbers
/// across candidates make their comparison less noisy).
pub fn expected_improvement_mc(
    front: &[Vec<f64>],
    reference: &[f64],
    mean: &[f64],
    std: &[f64],
    draws: &[Vec<f64>],
) -> f64 {
    let base = hypervolume(front, reference).unwrap_or(0.0);
    let mut with: Vec<Vec<f64>> = front.to_vec();
    with.push(mean.to_vec());
    let last = with.len() - 1;
    let mut total = 0.0;
    for z in draws {
        for d in 0..mean.len() {
            with[last][d] = mean[d] + std[d] * z.get(d).copied().unwrap_or(0.0);
        }
        total += (hypervolume(&with, reference).unwrap_or(base) - base).max(0.0);
    }
    total / draws.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_tabulated_values() {
        for (z, p) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.96, 0.024_997_895), (2.5, 0.993_790_335)] {
            assert!((normal_cdf(z) - p).abs() < 1e-6, "Phi({z}) = {} vs {p}", normal_cdf(z));
        }
    }

    #[test]
    fn improvement_by_hand() {
        // Front (0.2, 0.6), (0.5, 0.3); reference (1, 1).
        let f = Front2::new(&[vec![0.5, 0.3], vec![0.2, 0.6], vec![0.6, 0.7]], [1.0, 1.0]);
        // (0.1, 0.5): [0.1,0.2) level 1 -> 0.1*0.5; [0.2,0.5) level 0.6 -> 0.3*0.1; rest 0.
        assert!((f.improvement(0.1, 0.5) - (0.05 + 0.03)).abs() < 1e-12);
        // Dominated point: nothing.
        assert_eq!(f.improvement(0.6, 0.4), 0.0);
        // Agrees with the generic hypervolume difference.
        let pts = vec![vec![0.5, 0.3], vec![0.2, 0.6]];
        for (x, y) in [(0.1, 0.5), (0.3, 0.2), (0.9, 0.1), (0.05, 0.95)] {
            let mut with = pts.clone();
            with.push(vec![x, y]);
            let d = hypervolume(&with, &[1.0, 1.0]).expect("hv") - hypervolume(&pts, &[1.0, 1.0]).expect("hv");
            assert!((f.improvement(x, y) - d).abs() < 1e-12, "({x},{y})");
        }
    }

    #[test]
    fn exact_expectation_agrees_with_monte_carlo() {
        let pts = vec![vec![0.5, 0.3], vec![0.2, 0.6], vec![0.8, 0.1]];
        let f = Front2::new(&pts, [1.1, 1.1]);
        // Deterministic quasi-draws: inverse CDF by bisection on a uniform grid.
        let n = 4000;
        let draws: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let u = (i as f64 + 0.5) / n as f64;
                let (mut lo, mut hi) = (-10.0, 10.0);
                for _ in 0..80 {
                    let mid = 0.5 * (lo + hi);
                    if normal_cdf(mid) < u { lo = mid } else { hi = mid }
                }
                vec![0.0, 0.5 * (lo + hi)]
            })
            .collect();
        for (x, mu, s) in [(0.1, 0.5, 0.2), (0.35, 0.4, 0.05), (0.9, 0.3, 0.3)] {
            let exact = f.expected_improvement(x, mu, s);
            let mc = expected_improvement_mc(&pts, &[1.1, 1.1], &[x, mu], &[0.0, s], &draws);
            assert!((exact - mc).abs() < 2e-3 * exact.max(1e-3), "{exact} vs {mc}");
        }
        // Zero spread: the plain improvement.
        assert_eq!(f.expected_improvement(0.1, 0.5, 0.0), f.improvement(0.1, 0.5));
    }
}
