//! Non-dominated sorting.
//!
//! Two objectives: O(N log N) sweep (Jensen 2003). Three or more: ENS-BS
//! (Zhang et al. 2015). Both rely on the same fact: after sorting the points
//! lexicographically, no point can dominate a point that comes before it, so
//! each point's front is decided by the points already placed, and the
//! predicate "front k contains a point dominating p" is monotone in k (if a
//! point of front k+1 dominates p, the point of front k dominating it also
//! dominates p), which allows a binary search over the fronts.

use std::cmp::Ordering;

use super::dominates;
use super::error::ParetoError;

/// Total order on objective values that agrees with `<` on non-NaN values
/// (unlike `f64::total_cmp`, it treats `-0.0` and `0.0` as equal).
#[inline]
pub(crate) fn cmp_value(a: f64, b: f64) -> Ordering {
    (a + 0.0).total_cmp(&(b + 0.0))
}

/// Lexicographic order of two points under [`cmp_value`].
#[inline]
fn cmp_lex(a: &[f64], b: &[f64]) -> Ordering {
    for (&x, &y) in a.iter().zip(b) {
        match cmp_value(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

/// Indices of `points` in lexicographic order.
fn lex_order<P: AsRef<[f64]>>(points: &[P]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_unstable_by(|&i, &j| cmp_lex(points[i].as_ref(), points[j].as_ref()));
    order
}

fn debug_check_dims<P: AsRef<[f64]>>(points: &[P]) {
    if cfg!(debug_assertions)
        && let Some(first) = points.first()
    {
        let m = first.as_ref().len();
        debug_assert!(points.iter().all(|p| p.as_ref().len() == m), "points of different dimension");
    }
}

/// Sorts `points` into non-dominated fronts (Deb et al. 2002).
///
/// Returns the fronts as lists of indices into `points`, front 0 (the Pareto
/// front) first; each front lists its indices in increasing order. Every
/// point of front `k > 0` is dominated by at least one point of front
/// `k - 1`, and no point dominates another point of its own front.
/// Identical points share a front.
///
/// Two objectives take O(N log N) time; three or more use ENS-BS, O(M N²)
/// comparisons in the worst case but much less on typical populations.
///
/// All points must have the same number of objectives (checked by
/// `debug_assert!`). NaN values do not cause a panic, but the ranking of a
/// point with a NaN is unspecified.
#[must_use]
pub fn fast_non_dominated_sort<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<usize>> {
    debug_check_dims(points);
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let mut fronts = if first.as_ref().len() == 2 { sort_2d(points) } else { sort_ens_bs(points) };
    for front in &mut fronts {
        front.sort_unstable();
    }
    fronts
}

/// Two-objective sweep. Points are visited in lexicographic order; within a
/// front they then have non-increasing second objectives, so the last point
/// added to a front is the one with the smallest `(f2, f1)`, and it dominates
/// `p` exactly when its key `(f2, f1)` is smaller than that of `p`. The keys
/// of the fronts' last points increase strictly with the front index, so the
/// front of `p` is found by binary search.
fn sort_2d<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<usize>> {
    let order = lex_order(points);
    let key_of = |i: usize| {
        let p = points[i].as_ref();
        (p[1], p[0])
    };
    let cmp_key = |a: (f64, f64), b: (f64, f64)| cmp_value(a.0, b.0).then(cmp_value(a.1, b.1));

    let mut fronts: Vec<Vec<usize>> = Vec::new();
    let mut last_keys: Vec<(f64, f64)> = Vec::new();
    for i in order {
        let key = key_of(i);
        let k = last_keys.partition_point(|&last| cmp_key(last, key) == Ordering::Less);
        if k == fronts.len() {
            fronts.push(vec![i]);
            last_keys.push(key);
        } else {
            fronts[k].push(i);
            last_keys[k] = key;
        }
    }
    fronts
}

/// Efficient non-dominated sort with binary search (Zhang et al. 2015).
fn sort_ens_bs<P: AsRef<[f64]>>(points: &[P]) -> Vec<Vec<usize>> {
    let order = lex_order(points);
    let mut fronts: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let p = points[i].as_ref();
        // Recently added members are the most likely dominators: scan backwards.
        let dominated_by = |front: &Vec<usize>| front.iter().rev().any(|&j| dominates(points[j].as_ref(), p));
        let (mut lo, mut hi) = (0, fronts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if dominated_by(&fronts[mid]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == fronts.len() {
            fronts.push(vec![i]);
        } else {
            fronts[lo].push(i);
        }
    }
    fronts
}

/// Indices of the non-dominated points (front 0), in increasing order.
///
/// Equivalent to the first front of [`fast_non_dominated_sort`] but cheaper:
/// O(N log N) for two objectives, O(M N F) for more (F = size of the front).
/// Same assumptions as [`fast_non_dominated_sort`].
#[must_use]
pub fn pareto_front_indices<P: AsRef<[f64]>>(points: &[P]) -> Vec<usize> {
    debug_check_dims(points);
    let Some(first) = points.first() else {
        return Vec::new();
    };
    let two_d = first.as_ref().len() == 2;
    let mut kept: Vec<usize> = Vec::new();
    for i in lex_order(points) {
        let p = points[i].as_ref();
        let is_dominated = if two_d {
            // In lexicographic order the last kept point has the smallest
            // second objective among the kept ones.
            kept.last().is_some_and(|&j| dominates(points[j].as_ref(), p))
        } else {
            kept.iter().rev().any(|&j| dominates(points[j].as_ref(), p))
        };
        if !is_dominated {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept
}

/// Front index (rank, 0 = non-dominated) of every point, as computed by
/// [`fast_non_dominated_sort`].
#[must_use]
pub fn ranks<P: AsRef<[f64]>>(points: &[P]) -> Vec<usize> {
    let mut rank = vec![0; points.len()];
    for (k, front) in fast_non_dominated_sort(points).iter().enumerate() {
        for &i in front {
            rank[i] = k;
        }
    }
    rank
}

/// Non-dominated sorting under Deb's constraint domination
/// ([`super::constrained_dominates`]).
///
/// `violations[i]` is the total constraint violation of `points[i]` (`0` when
/// feasible). Feasible points come first, sorted into fronts by Pareto
/// dominance as in [`fast_non_dominated_sort`]; the infeasible points follow,
/// one front per distinct violation value, in increasing order of violation
/// (infeasible points with equal violation do not constraint-dominate each
/// other, so they share a front). Each front lists its indices in increasing
/// order.
///
/// # Errors
///
/// [`ParetoError::LengthMismatch`] if `violations` and `points` differ in
/// length, [`ParetoError::InvalidViolation`] if a violation is NaN or
/// negative.
pub fn non_dominated_sort_constrained<P: AsRef<[f64]>>(
    points: &[P],
    violations: &[f64],
) -> Result<Vec<Vec<usize>>, ParetoError> {
    if points.len() != violations.len() {
        return Err(ParetoError::LengthMismatch { points: points.len(), violations: violations.len() });
    }
    if let Some((index, &value)) = violations.iter().enumerate().find(|&(_, &v)| v.is_nan() || v < 0.0) {
        return Err(ParetoError::InvalidViolation { index, value });
    }

    let (feasible, mut infeasible): (Vec<usize>, Vec<usize>) = (0..points.len()).partition(|&i| violations[i] == 0.0);

    let feasible_points: Vec<&[f64]> = feasible.iter().map(|&i| points[i].as_ref()).collect();
    let mut fronts: Vec<Vec<usize>> = fast_non_dominated_sort(&feasible_points)
        .into_iter()
        .map(|front| {
            let mut front: Vec<usize> = front.into_iter().map(|k| feasible[k]).collect();
            front.sort_unstable();
            front
        })
        .collect();

    infeasible.sort_by(|&i, &j| cmp_value(violations[i], violations[j]).then(i.cmp(&j)));
    for group in infeasible.chunk_by(|&i, &j| violations[i] == violations[j]) {
        fronts.push(group.to_vec());
    }
    Ok(fronts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// O(N²) per front: repeatedly peel off the points that no other
    /// remaining point dominates.
    fn brute_force_fronts(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
        let mut remaining: Vec<usize> = (0..points.len()).collect();
        let mut fronts = Vec::new();
        while !remaining.is_empty() {
            let (front, rest): (Vec<usize>, Vec<usize>) =
                remaining.iter().partition(|&&i| !remaining.iter().any(|&j| dominates(&points[j], &points[i])));
            fronts.push(front);
            remaining = rest;
        }
        fronts
    }

    fn random_int_points(rng: &mut ChaCha8Rng, n: usize, m: usize, max: u32) -> Vec<Vec<f64>> {
        (0..n).map(|_| (0..m).map(|_| f64::from(rng.random_range(0..=max))).collect()).collect()
    }

    fn check_against_brute_force(m: usize, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for trial in 0..60 {
            let n = rng.random_range(0..80);
            // Small integer ranges force ties and duplicates.
            let max = [2, 4, 9][trial % 3];
            let mut points = random_int_points(&mut rng, n, m, max);
            // Guarantee some exact duplicates.
            if n > 3 {
                points[n - 1] = points[0].clone();
                points[n - 2] = points[1].clone();
            }
            let expected = brute_force_fronts(&points);
            let got = fast_non_dominated_sort(&points);
            assert_eq!(got, expected, "m={m} trial={trial} points={points:?}");
            let front0 = pareto_front_indices(&points);
            assert_eq!(front0, expected.first().cloned().unwrap_or_default());
            let r = ranks(&points);
            for (k, front) in expected.iter().enumerate() {
                for &i in front {
                    assert_eq!(r[i], k);
                }
            }
        }
    }

    #[test]
    fn sort_matches_brute_force_2d() {
        check_against_brute_force(2, 1);
    }

    #[test]
    fn sort_matches_brute_force_3d() {
        check_against_brute_force(3, 2);
    }

    #[test]
    fn sort_matches_brute_force_5d() {
        check_against_brute_force(5, 3);
    }

    #[test]
    fn sort_matches_brute_force_1d() {
        check_against_brute_force(1, 4);
    }

    #[test]
    fn sort_matches_brute_force_continuous() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for m in [2, 3, 4] {
            for _ in 0..10 {
                let points: Vec<Vec<f64>> = (0..300).map(|_| (0..m).map(|_| rng.random::<f64>()).collect()).collect();
                assert_eq!(fast_non_dominated_sort(&points), brute_force_fronts(&points));
            }
        }
    }

    #[test]
    fn sort_hand_example() {
        let points = vec![
            vec![1.0, 4.0], // 0: front 0
            vec![2.0, 2.0], // 1: front 0
            vec![4.0, 1.0], // 2: front 0
            vec![3.0, 3.0], // 3: front 1 (dominated by 1)
            vec![2.0, 2.0], // 4: duplicate of 1, front 0
            vec![4.0, 4.0], // 5: front 2 (dominated by 3)
            vec![2.0, 5.0], // 6: front 2 (dominated by 7)
            vec![1.0, 5.0], // 7: front 1 (dominated by 0 only)
        ];
        assert_eq!(fast_non_dominated_sort(&points), vec![vec![0, 1, 2, 4], vec![3, 7], vec![5, 6]]);
        assert_eq!(pareto_front_indices(&points), vec![0, 1, 2, 4]);
        assert_eq!(ranks(&points), vec![0, 0, 0, 1, 0, 2, 2, 1]);
    }

    #[test]
    fn sort_accepts_slices_and_arrays() {
        let arrays = [[1.0, 2.0, 3.0], [0.0, 2.0, 3.0], [2.0, 0.0, 0.0]];
        assert_eq!(fast_non_dominated_sort(&arrays), vec![vec![1, 2], vec![0]]);
        let slices: Vec<&[f64]> = arrays.iter().map(|a| a.as_slice()).collect();
        assert_eq!(fast_non_dominated_sort(&slices), vec![vec![1, 2], vec![0]]);
    }

    #[test]
    fn sort_edge_cases() {
        let empty: Vec<Vec<f64>> = Vec::new();
        assert!(fast_non_dominated_sort(&empty).is_empty());
        assert!(pareto_front_indices(&empty).is_empty());
        assert!(ranks(&empty).is_empty());
        // All identical: one front.
        let same = vec![vec![1.0, 1.0]; 5];
        assert_eq!(fast_non_dominated_sort(&same), vec![vec![0, 1, 2, 3, 4]]);
        let same3 = vec![vec![1.0, 1.0, 1.0]; 4];
        assert_eq!(fast_non_dominated_sort(&same3), vec![vec![0, 1, 2, 3]]);
        // Signed zeros are equal.
        let zeros = vec![vec![0.0, -0.0], vec![-0.0, 0.0]];
        assert_eq!(fast_non_dominated_sort(&zeros), vec![vec![0, 1]]);
        // Zero objectives: everything is one front.
        let none = vec![Vec::<f64>::new(); 3];
        assert_eq!(fast_non_dominated_sort(&none), vec![vec![0, 1, 2]]);
        // A chain: each point its own front.
        let chain: Vec<Vec<f64>> = (0..6).map(|i| vec![f64::from(i); 3]).collect();
        assert_eq!(ranks(&chain), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn sort_with_nan_does_not_panic() {
        let points = vec![vec![f64::NAN, 1.0], vec![1.0, 1.0], vec![2.0, f64::NAN], vec![0.5, 2.0]];
        let fronts = fast_non_dominated_sort(&points);
        assert_eq!(fronts.iter().map(Vec::len).sum::<usize>(), 4);
        let points3: Vec<Vec<f64>> = points.iter().map(|p| vec![p[0], p[1], 0.0]).collect();
        let fronts = fast_non_dominated_sort(&points3);
        assert_eq!(fronts.iter().map(Vec::len).sum::<usize>(), 4);
    }

    #[test]
    fn constrained_sort_hand_example() {
        let points = vec![
            vec![1.0, 1.0], // 0: infeasible 0.5
            vec![2.0, 2.0], // 1: feasible, front 0
            vec![3.0, 3.0], // 2: feasible, front 1
            vec![0.0, 0.0], // 3: infeasible 0.2
            vec![1.0, 3.0], // 4: feasible, front 0
            vec![5.0, 5.0], // 5: infeasible 0.2
            vec![9.0, 9.0], // 6: infeasible 1.0
        ];
        let viol = [0.5, 0.0, 0.0, 0.2, 0.0, 0.2, 1.0];
        let fronts = non_dominated_sort_constrained(&points, &viol).expect("valid input");
        assert_eq!(fronts, vec![vec![1, 4], vec![2], vec![3, 5], vec![0], vec![6]]);
    }

    #[test]
    fn constrained_sort_matches_brute_force() {
        use super::super::constrained_dominates;
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for _ in 0..40 {
            let n = rng.random_range(0..50);
            let m = rng.random_range(2..=4);
            let points = random_int_points(&mut rng, n, m, 4);
            let viol: Vec<f64> = (0..n)
                .map(|_| if rng.random_bool(0.5) { 0.0 } else { f64::from(rng.random_range(1..4_u32)) / 4.0 })
                .collect();
            let mut remaining: Vec<usize> = (0..n).collect();
            let mut expected = Vec::new();
            while !remaining.is_empty() {
                let (front, rest): (Vec<usize>, Vec<usize>) = remaining.iter().partition(|&&i| {
                    !remaining.iter().any(|&j| constrained_dominates(&points[j], viol[j], &points[i], viol[i]))
                });
                expected.push(front);
                remaining = rest;
            }
            assert_eq!(non_dominated_sort_constrained(&points, &viol).expect("valid input"), expected);
        }
    }

    #[test]
    fn constrained_sort_errors() {
        let points = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert_eq!(
            non_dominated_sort_constrained(&points, &[0.0]),
            Err(ParetoError::LengthMismatch { points: 2, violations: 1 })
        );
        assert_eq!(
            non_dominated_sort_constrained(&points, &[0.0, -1.0]),
            Err(ParetoError::InvalidViolation { index: 1, value: -1.0 })
        );
        assert!(matches!(
            non_dominated_sort_constrained(&points, &[f64::NAN, 0.0]),
            Err(ParetoError::InvalidViolation { index: 0, .. })
        ));
    }
}
