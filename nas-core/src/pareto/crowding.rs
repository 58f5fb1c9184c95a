//! NSGA-II crowding distance (Deb et al. 2002).

use super::sort::cmp_value;

/// Crowding distance of the members of one front.
///
/// `front` lists indices into `points` (typically one front returned by
/// [`super::fast_non_dominated_sort`]); the result has one distance per entry
/// of `front`, in the same order. For each objective the members are sorted
/// by that objective; the two boundary members (smallest and largest value)
/// get `f64::INFINITY`, and every other member adds the gap between its two
/// neighbours divided by the objective's range (max - min) over the front.
/// An objective whose range over the front is zero is skipped: it adds
/// nothing, not even infinite boundary values. Fronts of one or two members
/// get infinite distances; an empty front gives an empty vector. Ties are
/// broken by position in `front`, so the result is deterministic.
///
/// # Panics
///
/// Panics if an index of `front` is out of bounds of `points`. All points
/// must have the same number of objectives (checked by `debug_assert!`).
#[must_use]
pub fn crowding_distance<P: AsRef<[f64]>>(points: &[P], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let m = points[front[0]].as_ref().len();
    debug_assert!(front.iter().all(|&i| points[i].as_ref().len() == m), "points of different dimension");

    let mut distance = vec![0.0; n];
    // Positions into `front`, re-sorted for each objective.
    let mut order: Vec<usize> = (0..n).collect();
    for obj in 0..m {
        let value = |pos: usize| points[front[pos]].as_ref()[obj];
        order.sort_by(|&a, &b| cmp_value(value(a), value(b)).then(a.cmp(&b)));
        let lo = value(order[0]);
        let hi = value(order[n - 1]);
        let range = hi - lo;
        if range.is_nan() || range <= 0.0 {
            continue;
        }
        distance[order[0]] = f64::INFINITY;
        distance[order[n - 1]] = f64::INFINITY;
        for w in order.windows(3) {
            distance[w[1]] += (value(w[2]) - value(w[0])) / range;
        }
    }
    distance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            if y.is_infinite() {
                assert_eq!(x, y, "{a:?} vs {b:?}");
            } else {
                assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn hand_example_2d() {
        // Front (unordered on purpose):
        //   p0 = (3, 2.5), p1 = (0, 4), p2 = (4, 0), p3 = (1, 3)
        // Ranges: f1 in [0, 4] -> 4, f2 in [0, 4] -> 4.
        // f1 order: p1(0), p3(1), p0(3), p2(4) -> p1, p2 boundary.
        //   p3: (3 - 0) / 4 = 0.75;  p0: (4 - 1) / 4 = 0.75
        // f2 order: p2(0), p0(2.5), p3(3), p1(4)
        //   p0: (3 - 0) / 4 = 0.75;  p3: (4 - 2.5) / 4 = 0.375
        // Totals: p0 = 1.5, p3 = 1.125.
        let points = vec![vec![3.0, 2.5], vec![0.0, 4.0], vec![4.0, 0.0], vec![1.0, 3.0]];
        let d = crowding_distance(&points, &[0, 1, 2, 3]);
        assert_close(&d, &[1.5, f64::INFINITY, f64::INFINITY, 1.125]);
        // Order of `front` only permutes the output.
        let d = crowding_distance(&points, &[3, 2, 1, 0]);
        assert_close(&d, &[1.125, f64::INFINITY, f64::INFINITY, 1.5]);
    }

    #[test]
    fn hand_example_3d_with_constant_objective_and_subset() {
        // Third objective constant: range 0, contributes nothing.
        // Members 1..=5 of the slice; point 0 is not in the front.
        //   a = (0, 10, 7), b = (2, 6, 7), c = (3, 5, 7), d = (8, 1, 7), e = (10, 0, 7)
        // f1 range 10: b: (3-0)/10 = 0.3, c: (8-2)/10 = 0.6, d: (10-3)/10 = 0.7
        // f2 range 10: d: (5-0)/10 = 0.5, c: (6-1)/10 = 0.5, b: (10-5)/10 = 0.5
        // Totals: b = 0.8, c = 1.1, d = 1.2.
        let points = vec![
            vec![100.0, 100.0, 100.0],
            vec![0.0, 10.0, 7.0],
            vec![2.0, 6.0, 7.0],
            vec![3.0, 5.0, 7.0],
            vec![8.0, 1.0, 7.0],
            vec![10.0, 0.0, 7.0],
        ];
        let d = crowding_distance(&points, &[1, 2, 3, 4, 5]);
        assert_close(&d, &[f64::INFINITY, 0.8, 1.1, 1.2, f64::INFINITY]);
    }

    #[test]
    fn small_and_degenerate_fronts() {
        let points = vec![vec![1.0, 2.0], vec![2.0, 1.0], vec![1.0, 2.0]];
        assert!(crowding_distance(&points, &[]).is_empty());
        assert_eq!(crowding_distance(&points, &[0]), vec![f64::INFINITY]);
        assert_eq!(crowding_distance(&points, &[0, 1]), vec![f64::INFINITY, f64::INFINITY]);
        // Identical points: every range is zero, every distance zero.
        let same = vec![vec![1.0, 1.0]; 4];
        assert_eq!(crowding_distance(&same, &[0, 1, 2, 3]), vec![0.0; 4]);
        // Duplicates: ties broken by position in `front`.
        // f1 order: 0 (1), 2 (1), 1 (2) -> 0 and 1 boundary, 2 gets (2-1)/1 = 1.
        // f2 order: 1 (1), 0 (2), 2 (2) -> 1 and 2 boundary, 0 gets (2-1)/1 = 1.
        assert_eq!(crowding_distance(&points, &[0, 1, 2]), vec![f64::INFINITY, f64::INFINITY, f64::INFINITY]);
    }
}
