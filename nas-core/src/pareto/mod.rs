//! Pareto tools: dominance, non-dominated sorting, crowding distance and
//! hypervolume.
//!
//! Every point is a slice of objective values in **minimisation form**
//! (smaller is better in every objective). The functions are generic over
//! `P: AsRef<[f64]>`, so `&[Vec<f64>]`, `&[&[f64]]` and `&[[f64; M]]` all work.
//!
//! # Dominance
//!
//! * [`dominates`]: Pareto dominance (no worse in every objective, strictly
//!   better in at least one).
//! * [`constrained_dominates`]: constraint domination of Deb, Pratap, Agarwal
//!   and Meyarivan, *A fast and elitist multiobjective genetic algorithm:
//!   NSGA-II*, IEEE TEC 6(2), 2002: a feasible solution beats an infeasible
//!   one, the smaller total violation wins between infeasible ones, and
//!   Pareto dominance decides between feasible ones.
//!
//! # Non-dominated sorting
//!
//! * [`fast_non_dominated_sort`]: fronts of indices, front 0 first, as in Deb
//!   et al. 2002, but computed faster than their O(M N²) bookkeeping: two
//!   objectives use an O(N log N) sweep (lexicographic sort, then a binary
//!   search over the fronts' last second-objective values, after Jensen,
//!   *Reducing the run-time complexity of multiobjective EAs: the NSGA-II
//!   and other algorithms*, IEEE TEC 7(5), 2003); three or more objectives use
//!   efficient non-dominated sort with binary search (ENS-BS; Zhang, Tian,
//!   Cheng and Jin, *An efficient approach to nondominated sorting for
//!   evolutionary multiobjective optimization*, IEEE TEC 19(2), 2015), worst
//!   case O(M N²) comparisons and O(N) extra memory.
//! * [`non_dominated_sort_constrained`]: Deb's constrained ranking (feasible
//!   points by dominance, then infeasible points by increasing violation).
//! * [`pareto_front_indices`] (front 0 only) and [`ranks`] (front of each
//!   point).
//!
//! Identical points never dominate each other, so they share a front.
//!
//! # Diversity
//!
//! * [`crowding_distance`]: NSGA-II crowding distance of the members of one
//!   front (Deb et al. 2002).
//!
//! # Hypervolume
//!
//! * [`hypervolume`]: exact hypervolume dominated by a point set and bounded
//!   by a reference point. It dispatches on the number of objectives: a
//!   trivial 1-D case, an O(N log N) 2-D sweep, the O(N log N) 3-D sweep of
//!   Beume, Fonseca, López-Ibáñez, Paquete and Vahrenhold, *On the complexity
//!   of computing the hypervolume indicator*, IEEE TEC 13(5), 2009, and for
//!   four or more objectives the WFG algorithm of While, Bradstreet and
//!   Barone, *A fast way of calculating exact hypervolumes*, IEEE TEC 16(1),
//!   2012 (with the 3-D sweep as its base case).
//! * [`hypervolume_wfg`]: the WFG algorithm on its own, sliced all the way
//!   down to one objective, for any number of objectives (useful to
//!   cross-check the specialised versions).
//! * [`NormalizedHv`]: hypervolume after normalising each objective so that a
//!   given ideal maps to 0 and a given nadir to 1, with reference point 1.1 in
//!   every objective by default. This defines the project's *HV ratio*:
//!   HV(non-dominated set of evaluated architectures) / HV(true Pareto
//!   front), both normalised with the true front's ideal and nadir.
//!
//! Hypervolume functions validate their input and return [`ParetoError`] on
//! a dimension mismatch or a NaN; the sorting functions assume points of
//! equal dimension (checked by `debug_assert!`) and never panic on NaN, though
//! their ranking of NaN points is unspecified.
//!
//! # Example
//!
//! ```
//! use nas_core::pareto::{NormalizedHv, crowding_distance, fast_non_dominated_sort, hypervolume};
//!
//! let pts = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0], vec![3.0, 3.0]];
//! let fronts = fast_non_dominated_sort(&pts);
//! assert_eq!(fronts, vec![vec![0, 1, 2], vec![3]]);
//! let crowding = crowding_distance(&pts, &fronts[0]);
//! assert_eq!(crowding, vec![f64::INFINITY, 2.0, f64::INFINITY]);
//! assert_eq!(hypervolume(&pts, &[4.0, 4.0])?, 6.0);
//!
//! // HV ratio of a subset against the true front {0, 1, 2}.
//! let true_front: Vec<_> = fronts[0].iter().map(|&i| pts[i].clone()).collect();
//! let norm = NormalizedHv::from_front(&true_front)?;
//! let true_hv = norm.hypervolume(&true_front)?;
//! let ratio = norm.ratio(&[pts[1].clone(), pts[3].clone()], true_hv)?;
//! assert!(ratio > 0.0 && ratio < 1.0);
//! # Ok::<(), nas_core::pareto::ParetoError>(())
//! ```

use std::cmp::Ordering;

mod crowding;
mod error;
mod hypervolume;
mod sort;

pub use crowding::crowding_distance;
pub use error::ParetoError;
pub use hypervolume::{DEFAULT_NORMALIZED_REFERENCE, NormalizedHv, hypervolume, hypervolume_wfg};
pub use sort::{fast_non_dominated_sort, non_dominated_sort_constrained, pareto_front_indices, ranks};

/// Pareto dominance in minimisation form: `a` dominates `b` when `a` is no
/// worse than `b` in every objective and strictly better in at least one.
///
/// Identical points do not dominate each other. Any comparison involving a
/// NaN is false, so a point with a NaN neither dominates nor is dominated
/// through that objective. The two slices must have the same length (checked
/// by `debug_assert!`; in release builds the extra objectives of the longer
/// one are ignored).
#[must_use]
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    debug_assert_eq!(a.len(), b.len(), "points of different dimension");
    let mut strictly_better = false;
    for (&x, &y) in a.iter().zip(b) {
        match x.partial_cmp(&y) {
            Some(Ordering::Less) => strictly_better = true,
            Some(Ordering::Equal) => {}
            // x > y, or a NaN is involved.
            Some(Ordering::Greater) | None => return false,
        }
    }
    strictly_better
}

/// Constraint domination of Deb et al. (2002), in minimisation form.
///
/// `viol_a` and `viol_b` are total constraint violations; a value `<= 0` means
/// feasible. Then `a` constraint-dominates `b` when
///
/// 1. `a` is feasible and `b` is not, or
/// 2. both are infeasible and `a` has the smaller violation, or
/// 3. both are feasible and `a` Pareto-dominates `b` ([`dominates`]).
///
/// Two infeasible points with equal violation do not dominate each other.
#[must_use]
pub fn constrained_dominates(a: &[f64], viol_a: f64, b: &[f64], viol_b: f64) -> bool {
    let feasible_a = viol_a <= 0.0;
    let feasible_b = viol_b <= 0.0;
    match (feasible_a, feasible_b) {
        (true, true) => dominates(a, b),
        (true, false) => true,
        (false, true) => false,
        (false, false) => viol_a < viol_b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_basic() {
        assert!(dominates(&[1.0, 2.0], &[2.0, 2.0]));
        assert!(dominates(&[1.0, 1.0], &[2.0, 2.0]));
        assert!(!dominates(&[2.0, 2.0], &[1.0, 2.0]));
        // Incomparable.
        assert!(!dominates(&[1.0, 3.0], &[2.0, 2.0]));
        assert!(!dominates(&[2.0, 2.0], &[1.0, 3.0]));
        // Identical points are mutually non-dominating.
        assert!(!dominates(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]));
        // Signed zeros compare equal.
        assert!(!dominates(&[-0.0, 1.0], &[0.0, 1.0]));
        assert!(!dominates(&[0.0, 1.0], &[-0.0, 1.0]));
        // NaN never helps dominance.
        assert!(!dominates(&[f64::NAN, 0.0], &[1.0, 1.0]));
        assert!(!dominates(&[0.0, 0.0], &[f64::NAN, 1.0]));
        // Zero objectives: nothing dominates.
        assert!(!dominates(&[], &[]));
    }

    #[test]
    fn constrained_domination_cases() {
        let a = [1.0, 1.0];
        let b = [2.0, 2.0];
        let c = [0.0, 3.0];
        // Both feasible: plain Pareto dominance.
        assert!(constrained_dominates(&a, 0.0, &b, 0.0));
        assert!(!constrained_dominates(&b, 0.0, &a, 0.0));
        assert!(!constrained_dominates(&a, 0.0, &c, 0.0));
        assert!(!constrained_dominates(&c, 0.0, &a, 0.0));
        // Negative violation counts as feasible.
        assert!(constrained_dominates(&a, -1.0, &b, 0.0));
        // Feasible beats infeasible, whatever the objectives.
        assert!(constrained_dominates(&b, 0.0, &a, 0.5));
        assert!(!constrained_dominates(&a, 0.5, &b, 0.0));
        // Both infeasible: smaller violation wins, whatever the objectives.
        assert!(constrained_dominates(&b, 0.1, &a, 0.2));
        assert!(!constrained_dominates(&a, 0.2, &b, 0.1));
        // Equal violation: neither dominates, even if Pareto-dominating.
        assert!(!constrained_dominates(&a, 0.3, &b, 0.3));
        assert!(!constrained_dominates(&b, 0.3, &a, 0.3));
        // Identical feasible points: neither dominates.
        assert!(!constrained_dominates(&a, 0.0, &a, 0.0));
    }
}
