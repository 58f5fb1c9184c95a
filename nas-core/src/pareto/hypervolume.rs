//! Exact hypervolume in minimisation form.
//!
//! The hypervolume of a point set S with respect to a reference point r is the
//! Lebesgue measure of the union of the boxes `[p, r]`, p in S. Points that
//! are not strictly better than r in every objective span an empty box and
//! are dropped before any computation.
//!
//! Algorithms:
//! * 1-D: `r - min`.
//! * 2-D: sort by the first objective and sweep, O(N log N).
//! * 3-D: the sweep of Beume et al. (2009): visit points by increasing third
//!   objective while keeping the 2-D staircase of the points seen so far in an
//!   ordered map together with its area, O(N log N).
//! * 4-D and more: WFG (While, Bradstreet and Barone 2012), slicing the last
//!   objective: with the points sorted by increasing last objective
//!   `z_0 <= z_1 <= ...`,
//!   `HV = sum_j (r_z - z_j) * exclhv(p_j, {p_0..p_{j-1}})` in one dimension
//!   fewer, where `exclhv(p, S) = inclhv(p) - HV(nds(limit(S, p)))` and
//!   `limit(S, p) = { max(q, p) : q in S }` componentwise. The recursion stops
//!   at the 3-D sweep ([`hypervolume`]) or goes down to one objective
//!   ([`hypervolume_wfg`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::error::ParetoError;
use super::sort::cmp_value;

/// Default reference-point coordinate of [`NormalizedHv`] (in every
/// objective, in normalised space where the ideal is 0 and the nadir 1).
pub const DEFAULT_NORMALIZED_REFERENCE: f64 = 1.1;

/// Checks the reference point and every point.
fn validate<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<(), ParetoError> {
    if reference.is_empty() {
        return Err(ParetoError::EmptyReference);
    }
    if let Some((objective, &value)) = reference.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ParetoError::NonFiniteReference { objective, value });
    }
    for (index, p) in points.iter().enumerate() {
        let p = p.as_ref();
        if p.len() != reference.len() {
            return Err(ParetoError::DimensionMismatch { index, expected: reference.len(), found: p.len() });
        }
        for (objective, &v) in p.iter().enumerate() {
            if v.is_nan() {
                return Err(ParetoError::NanObjective { index, objective });
            }
            if v == f64::NEG_INFINITY {
                return Err(ParetoError::NegativeInfinity { index, objective });
            }
        }
    }
    Ok(())
}

/// Flat row-major buffer of the points strictly better than `reference` in
/// every objective.
fn filter_flat<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Vec<f64> {
    let mut flat = Vec::with_capacity(points.len() * reference.len());
    for p in points {
        let p = p.as_ref();
        if p.iter().zip(reference).all(|(&x, &r)| x < r) {
            flat.extend_from_slice(p);
        }
    }
    flat
}

/// Exact hypervolume of `points` with respect to `reference` (minimisation).
///
/// Points that are not strictly better than `reference` in every objective
/// contribute nothing and are ignored; dominated and duplicated points are
/// harmless. Uses a 2-D sweep, the 3-D sweep of Beume et al. (2009), or WFG
/// (While et al. 2012) for four or more objectives. Points may contain
/// `+inf` (such points are ignored). An empty set has hypervolume 0.
///
/// # Errors
///
/// * [`ParetoError::EmptyReference`] if `reference` is empty;
/// * [`ParetoError::NonFiniteReference`] if a reference coordinate is NaN or
///   infinite;
/// * [`ParetoError::DimensionMismatch`] if a point's length differs from the
///   reference's;
/// * [`ParetoError::NanObjective`] / [`ParetoError::NegativeInfinity`] if a
///   point has a NaN / `-inf` coordinate.
pub fn hypervolume<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<f64, ParetoError> {
    validate(points, reference)?;
    let d = reference.len();
    let mut flat = filter_flat(points, reference);
    Ok(match d {
        1 => hv1d(&flat, reference),
        2 => hv2d(&flat, reference),
        3 => hv3d(&flat, reference),
        _ => {
            nondominated_sorted(&mut flat, d);
            wfg(&flat, d, reference, Base::Sweep3d)
        }
    })
}

/// Exact hypervolume by the WFG algorithm alone (While, Bradstreet and
/// Barone 2012), for any number of objectives.
///
/// The recursion slices one objective at a time down to a single objective,
/// without the specialised 2-D and 3-D sweeps, so this is an independent
/// computation that can cross-check [`hypervolume`]. Same conventions and
/// errors as [`hypervolume`]; slower in two and three objectives.
///
/// # Errors
///
/// As [`hypervolume`].
pub fn hypervolume_wfg<P: AsRef<[f64]>>(points: &[P], reference: &[f64]) -> Result<f64, ParetoError> {
    validate(points, reference)?;
    let d = reference.len();
    let mut flat = filter_flat(points, reference);
    nondominated_sorted(&mut flat, d);
    Ok(wfg(&flat, d, reference, Base::Slice1d))
}

/// Volume of the box `[p, reference]`.
#[inline]
fn inclhv(p: &[f64], reference: &[f64]) -> f64 {
    p.iter().zip(reference).map(|(&x, &r)| r - x).product()
}

fn hv1d(flat: &[f64], reference: &[f64]) -> f64 {
    flat.iter().copied().min_by(|a, b| cmp_value(*a, *b)).map_or(0.0, |m| reference[0] - m)
}

fn hv2d(flat: &[f64], reference: &[f64]) -> f64 {
    let mut pts: Vec<(f64, f64)> = flat.chunks_exact(2).map(|c| (c[0], c[1])).collect();
    pts.sort_unstable_by(|a, b| cmp_value(a.0, b.0).then(cmp_value(a.1, b.1)));
    let (rx, ry) = (reference[0], reference[1]);
    let mut best_y = ry;
    let mut area = 0.0;
    for (x, y) in pts {
        if y < best_y {
            area += (rx - x) * (best_y - y);
            best_y = y;
        }
    }
    area
}

/// `f64` key ordered by [`cmp_value`] (all keys here are finite).
#[derive(Clone, Copy, Debug)]
struct Key(f64);

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_value(self.0, other.0)
    }
}

/// 3-D sweep (Beume et al. 2009). `front` maps x to y for the mutually
/// non-dominated projections of the points seen so far (y decreasing in x);
/// `area` is the 2-D hypervolume of that staircase.
fn hv3d(flat: &[f64], reference: &[f64]) -> f64 {
    let n = flat.len() / 3;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| cmp_value(flat[3 * a + 2], flat[3 * b + 2]));
    let (rx, ry, rz) = (reference[0], reference[1], reference[2]);

    let mut front: BTreeMap<Key, f64> = BTreeMap::new();
    let mut removed: Vec<Key> = Vec::new();
    let mut area = 0.0;
    let mut volume = 0.0;
    let mut z_prev = 0.0;
    for i in order {
        let (x, y, z) = (flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]);
        volume += area * (z - z_prev);
        z_prev = z;

        // Weakly dominated by a point with x' <= x and y' <= y?
        if front.range(..=Key(x)).next_back().is_some_and(|(_, &py)| py <= y) {
            continue;
        }
        // Height of the staircase just left of x.
        let mut cur_h = front.range(..Key(x)).next_back().map_or(ry, |(_, &py)| py);
        let mut cur_x = x;
        let mut next_x = rx;
        let mut added = 0.0;
        for (&k, &sy) in front.range(Key(x)..) {
            if sy < y {
                next_x = k.0;
                break;
            }
            // (k, sy) is dominated by (x, y): its step is absorbed.
            added += (k.0 - cur_x) * (cur_h - y);
            cur_x = k.0;
            cur_h = sy;
            removed.push(k);
        }
        added += (next_x - cur_x) * (cur_h - y);
        for k in removed.drain(..) {
            front.remove(&k);
        }
        front.insert(Key(x), y);
        area += added;
    }
    volume + area * (rz - z_prev)
}

/// Order used by [`nondominated_sorted`]: lexicographic starting from the
/// last objective.
fn cmp_rev_lex(a: &[f64], b: &[f64]) -> Ordering {
    for (&x, &y) in a.iter().rev().zip(b.iter().rev()) {
        match cmp_value(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

/// Keeps only the rows of `flat` (stride `d`) that no other row weakly
/// dominates (one copy of duplicates), sorted by increasing last objective
/// (lexicographically from the last objective). In that order no row can
/// weakly dominate an earlier row unless they are equal, so each row is only
/// checked against the rows already kept.
fn nondominated_sorted(flat: &mut Vec<f64>, d: usize) {
    let n = flat.len() / d;
    if n <= 1 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| cmp_rev_lex(&flat[a * d..(a + 1) * d], &flat[b * d..(b + 1) * d]));
    let mut out: Vec<f64> = Vec::with_capacity(flat.len());
    for r in order {
        let row = &flat[r * d..(r + 1) * d];
        let weakly_dominated = out.chunks_exact(d).rev().any(|k| k.iter().zip(row).all(|(a, b)| a <= b));
        if !weakly_dominated {
            out.extend_from_slice(row);
        }
    }
    *flat = out;
}

/// Base case of the WFG recursion.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Base {
    /// Use the 3-D sweep once three objectives are left.
    Sweep3d,
    /// Slice down to one objective.
    Slice1d,
}

/// WFG on `flat` (stride `d`), whose rows must be mutually non-dominated,
/// strictly better than `reference`, and sorted by increasing last objective
/// (as left by [`nondominated_sorted`]).
fn wfg(flat: &[f64], d: usize, reference: &[f64], base: Base) -> f64 {
    let n = flat.len() / d;
    match n {
        0 => return 0.0,
        1 => return inclhv(flat, &reference[..d]),
        2 => {
            let (a, b) = flat.split_at(d);
            let both: f64 = a.iter().zip(b).zip(reference).map(|((&x, &y), &r)| r - x.max(y)).product();
            return inclhv(a, reference) + inclhv(b, reference) - both;
        }
        _ => {}
    }
    match (d, base) {
        (1, _) => return hv1d(flat, reference),
        (3, Base::Sweep3d) => return hv3d(flat, reference),
        _ => {}
    }

    let dm = d - 1;
    let r_last = reference[dm];
    let mut volume = 0.0;
    let mut limit: Vec<f64> = Vec::with_capacity(n * dm);
    for (j, p) in flat.chunks_exact(d).enumerate() {
        let depth = r_last - p[dm];
        let head = &p[..dm];
        let mut excl = inclhv(head, reference);
        if j > 0 {
            limit.clear();
            for q in flat[..j * d].chunks_exact(d) {
                limit.extend(q[..dm].iter().zip(head).map(|(&a, &b)| a.max(b)));
            }
            nondominated_sorted(&mut limit, dm);
            excl -= wfg(&limit, dm, reference, base);
        }
        volume += depth * excl;
    }
    volume
}

/// Hypervolume in a normalised objective space.
///
/// Built from an ideal and a nadir vector (minimisation form), it maps each
/// objective affinely so that the ideal goes to 0 and the nadir to 1, and
/// measures hypervolume against a reference point of
/// [`DEFAULT_NORMALIZED_REFERENCE`] (1.1) in every objective unless
/// configured otherwise.
///
/// This defines the project's **HV ratio**: with the normaliser built from
/// the true Pareto front ([`NormalizedHv::from_front`]),
/// `HV ratio = HV(non-dominated evaluated architectures) / HV(true front)`,
/// see [`NormalizedHv::ratio`]. (Dominated points add no hypervolume, so
/// passing all evaluated architectures gives the same result.)
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedHv {
    ideal: Vec<f64>,
    nadir: Vec<f64>,
    reference: Vec<f64>,
}

impl NormalizedHv {
    /// Normaliser mapping `ideal` to 0 and `nadir` to 1 in each objective,
    /// with reference point 1.1 in every objective.
    ///
    /// # Errors
    ///
    /// [`ParetoError::EmptyReference`] if the vectors are empty,
    /// [`ParetoError::BoundsDimensionMismatch`] if their lengths differ,
    /// [`ParetoError::InvalidBounds`] unless `ideal[k] < nadir[k]` are finite
    /// in every objective.
    pub fn new(ideal: Vec<f64>, nadir: Vec<f64>) -> Result<Self, ParetoError> {
        if ideal.len() != nadir.len() {
            return Err(ParetoError::BoundsDimensionMismatch { ideal: ideal.len(), nadir: nadir.len() });
        }
        if ideal.is_empty() {
            return Err(ParetoError::EmptyReference);
        }
        for (objective, (&lo, &hi)) in ideal.iter().zip(&nadir).enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(ParetoError::InvalidBounds { objective, ideal: lo, nadir: hi });
            }
        }
        let reference = vec![DEFAULT_NORMALIZED_REFERENCE; ideal.len()];
        Ok(Self { ideal, nadir, reference })
    }

    /// Normaliser whose ideal and nadir are the componentwise minimum and
    /// maximum of `front` (typically the true Pareto front).
    ///
    /// # Errors
    ///
    /// [`ParetoError::EmptyFront`] if `front` is empty,
    /// [`ParetoError::DimensionMismatch`] / [`ParetoError::NanObjective`] for
    /// a malformed point, and the errors of [`NormalizedHv::new`] (notably
    /// [`ParetoError::InvalidBounds`] if the front is constant in some
    /// objective).
    pub fn from_front<P: AsRef<[f64]>>(front: &[P]) -> Result<Self, ParetoError> {
        let first = front.first().ok_or(ParetoError::EmptyFront)?.as_ref();
        let d = first.len();
        let mut ideal = first.to_vec();
        let mut nadir = first.to_vec();
        for (index, p) in front.iter().enumerate() {
            let p = p.as_ref();
            if p.len() != d {
                return Err(ParetoError::DimensionMismatch { index, expected: d, found: p.len() });
            }
            for (objective, &v) in p.iter().enumerate() {
                if v.is_nan() {
                    return Err(ParetoError::NanObjective { index, objective });
                }
                ideal[objective] = ideal[objective].min(v);
                nadir[objective] = nadir[objective].max(v);
            }
        }
        Self::new(ideal, nadir)
    }

    /// Replaces the reference point (given in normalised space).
    ///
    /// # Errors
    ///
    /// [`ParetoError::DimensionMismatch`] (with `index` 0) if its length
    /// differs from the number of objectives, [`ParetoError::NonFiniteReference`]
    /// if a coordinate is not finite.
    pub fn with_reference(mut self, reference: Vec<f64>) -> Result<Self, ParetoError> {
        if reference.len() != self.ideal.len() {
            return Err(ParetoError::DimensionMismatch {
                index: 0,
                expected: self.ideal.len(),
                found: reference.len(),
            });
        }
        if let Some((objective, &value)) = reference.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ParetoError::NonFiniteReference { objective, value });
        }
        self.reference = reference;
        Ok(self)
    }

    /// Sets the reference point to `value` in every objective (normalised
    /// space).
    ///
    /// # Errors
    ///
    /// [`ParetoError::NonFiniteReference`] if `value` is not finite.
    pub fn with_reference_value(self, value: f64) -> Result<Self, ParetoError> {
        let d = self.ideal.len();
        self.with_reference(vec![value; d])
    }

    /// Number of objectives.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.ideal.len()
    }

    /// The ideal vector (maps to 0).
    #[must_use]
    pub fn ideal(&self) -> &[f64] {
        &self.ideal
    }

    /// The nadir vector (maps to 1).
    #[must_use]
    pub fn nadir(&self) -> &[f64] {
        &self.nadir
    }

    /// The reference point, in normalised space.
    #[must_use]
    pub fn reference(&self) -> &[f64] {
        &self.reference
    }

    /// Normalises one point: `(p - ideal) / (nadir - ideal)` per objective.
    ///
    /// # Panics
    ///
    /// Panics if `point.len()` differs from [`NormalizedHv::dim`]; see
    /// [`NormalizedHv::try_normalize`] for a checked version.
    #[must_use]
    pub fn normalize(&self, point: &[f64]) -> Vec<f64> {
        assert_eq!(point.len(), self.dim(), "point has {} objectives, normaliser has {}", point.len(), self.dim());
        self.normalize_unchecked(point)
    }

    /// Checked [`NormalizedHv::normalize`].
    ///
    /// # Errors
    ///
    /// [`ParetoError::DimensionMismatch`] (with `index` 0) if the length is
    /// wrong, [`ParetoError::NanObjective`] (with `index` 0) on a NaN.
    pub fn try_normalize(&self, point: &[f64]) -> Result<Vec<f64>, ParetoError> {
        if point.len() != self.dim() {
            return Err(ParetoError::DimensionMismatch { index: 0, expected: self.dim(), found: point.len() });
        }
        if let Some(objective) = point.iter().position(|v| v.is_nan()) {
            return Err(ParetoError::NanObjective { index: 0, objective });
        }
        Ok(self.normalize_unchecked(point))
    }

    fn normalize_unchecked(&self, point: &[f64]) -> Vec<f64> {
        point.iter().zip(self.ideal.iter().zip(&self.nadir)).map(|(&v, (&lo, &hi))| (v - lo) / (hi - lo)).collect()
    }

    /// Hypervolume of `points` (raw objective values) after normalisation,
    /// against the normalised reference point.
    ///
    /// # Errors
    ///
    /// As [`hypervolume`]: [`ParetoError::DimensionMismatch`],
    /// [`ParetoError::NanObjective`], [`ParetoError::NegativeInfinity`].
    pub fn hypervolume<P: AsRef<[f64]>>(&self, points: &[P]) -> Result<f64, ParetoError> {
        let mut normalized = Vec::with_capacity(points.len());
        for (index, p) in points.iter().enumerate() {
            let p = p.as_ref();
            if p.len() != self.dim() {
                return Err(ParetoError::DimensionMismatch { index, expected: self.dim(), found: p.len() });
            }
            if let Some(objective) = p.iter().position(|v| v.is_nan()) {
                return Err(ParetoError::NanObjective { index, objective });
            }
            normalized.push(self.normalize_unchecked(p));
        }
        hypervolume(&normalized, &self.reference)
    }

    /// HV ratio: [`NormalizedHv::hypervolume`] of `points` divided by
    /// `true_front_hv` (normally `self.hypervolume(true_front)`).
    ///
    /// # Errors
    ///
    /// [`ParetoError::InvalidReferenceVolume`] unless `true_front_hv` is
    /// positive and finite, and the errors of [`NormalizedHv::hypervolume`].
    pub fn ratio<P: AsRef<[f64]>>(&self, points: &[P], true_front_hv: f64) -> Result<f64, ParetoError> {
        if !(true_front_hv.is_finite() && true_front_hv > 0.0) {
            return Err(ParetoError::InvalidReferenceVolume { value: true_front_hv });
        }
        Ok(self.hypervolume(points)? / true_front_hv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    #[track_caller]
    fn assert_close(a: f64, b: f64) {
        assert!(close(a, b), "{a} != {b}");
    }

    fn hv(points: &[Vec<f64>], reference: &[f64]) -> f64 {
        hypervolume(points, reference).expect("valid input")
    }

    fn hv_wfg(points: &[Vec<f64>], reference: &[f64]) -> f64 {
        hypervolume_wfg(points, reference).expect("valid input")
    }

    /// HV = sum over non-empty subsets S of (-1)^(|S|+1) vol([max S, ref]),
    /// with empty boxes counting 0.
    fn inclusion_exclusion(points: &[Vec<f64>], reference: &[f64]) -> f64 {
        let n = points.len();
        assert!(n <= 12);
        let mut total = 0.0;
        for mask in 1_u32..(1 << n) {
            let mut corner = vec![f64::NEG_INFINITY; reference.len()];
            for (i, p) in points.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    for (c, &v) in corner.iter_mut().zip(p) {
                        *c = c.max(v);
                    }
                }
            }
            let vol: f64 = corner.iter().zip(reference).map(|(&c, &r)| (r - c).max(0.0)).product();
            if mask.count_ones() % 2 == 1 {
                total += vol;
            } else {
                total -= vol;
            }
        }
        total
    }

    fn random_points(rng: &mut ChaCha8Rng, n: usize, d: usize, scale: f64) -> Vec<Vec<f64>> {
        (0..n).map(|_| (0..d).map(|_| rng.random::<f64>() * scale).collect()).collect()
    }

    /// Points on the simplex-like surface sum(x) = 1 (all mutually
    /// non-dominated).
    fn random_front(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| rng.random::<f64>() + 1e-3).collect();
                let s: f64 = v.iter().sum();
                v.into_iter().map(|x| x / s).collect()
            })
            .collect()
    }

    #[test]
    fn hand_1d() {
        let pts = vec![vec![1.0], vec![3.0], vec![2.0], vec![7.0]];
        assert_close(hv(&pts, &[5.0]), 4.0);
        assert_close(hv_wfg(&pts, &[5.0]), 4.0);
    }

    #[test]
    fn hand_2d() {
        // Staircase (1,3), (2,2), (3,1), ref (4,4):
        // columns x in [1,2): height 4-3 = 1; [2,3): 2; [3,4): 3 -> 6.
        let base = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0]];
        assert_close(hv(&base, &[4.0, 4.0]), 6.0);
        assert_close(hv_wfg(&base, &[4.0, 4.0]), 6.0);
        // Dominated points, duplicates, points outside or on the boundary of
        // the reference box change nothing.
        let mut extra = base.clone();
        extra.extend([
            vec![2.5, 2.5],
            vec![2.0, 2.0],
            vec![3.0, 3.0],
            vec![5.0, 0.0],
            vec![0.0, 4.0],
            vec![4.0, 0.5],
            vec![f64::INFINITY, 0.0],
        ]);
        assert_close(hv(&extra, &[4.0, 4.0]), 6.0);
        assert_close(hv_wfg(&extra, &[4.0, 4.0]), 6.0);
        // Adding (0.5, 3.5): extra strip x in [0.5, 1), height 0.5 -> +0.25.
        extra.push(vec![0.5, 3.5]);
        assert_close(hv(&extra, &[4.0, 4.0]), 6.25);
        // Single point: box.
        assert_close(hv(&[vec![-1.0, 2.0]], &[1.0, 3.0]), 2.0);
        // Empty and all-outside sets.
        assert_close(hv(&[], &[1.0, 1.0]), 0.0);
        assert_close(hv(&[vec![2.0, 0.0]], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn hand_3d() {
        let r = [2.0, 2.0, 2.0];
        // Unit cube.
        assert_close(hv(&[vec![1.0, 1.0, 1.0]], &r), 1.0);
        // (0,0,1), (0,1,0), (1,0,0) w.r.t. (2,2,2): the union is [0,2]^3
        // minus [0,1)^3 = 8 - 1 = 7.
        let e = vec![vec![0.0, 0.0, 1.0], vec![0.0, 1.0, 0.0], vec![1.0, 0.0, 0.0]];
        assert_close(hv(&e, &r), 7.0);
        assert_close(hv_wfg(&e, &r), 7.0);
        // (1,2,3), (2,3,1), (3,1,2) w.r.t. (4,4,4), inclusion-exclusion:
        //   boxes 3*2*1 + 2*1*3 + 1*3*2 = 18,
        //   pairs (2,3,3):2, (3,2,3):2, (3,3,2):2 -> 6,
        //   triple (3,3,3): 1  => 18 - 6 + 1 = 13.
        let s = vec![vec![1.0, 2.0, 3.0], vec![2.0, 3.0, 1.0], vec![3.0, 1.0, 2.0]];
        let r4 = [4.0, 4.0, 4.0];
        assert_close(hv(&s, &r4), 13.0);
        assert_close(hv_wfg(&s, &r4), 13.0);
        // Plus a dominated point, a duplicate and a point outside: still 13.
        let mut s2 = s.clone();
        s2.extend([vec![3.0, 3.0, 3.0], vec![1.0, 2.0, 3.0], vec![0.0, 0.0, 4.0]]);
        assert_close(hv(&s2, &r4), 13.0);
        assert_close(hv_wfg(&s2, &r4), 13.0);
        // Two stacked slabs: (0,0,1) and (1,1,0) w.r.t. (2,2,2):
        // 2*2*1 + 1*1*2 - 1*1*1 = 5.
        let slabs = vec![vec![0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0]];
        assert_close(hv(&slabs, &r), 5.0);
    }

    #[test]
    fn hand_4d_and_5d() {
        // Unit offsets e_k w.r.t. (2,..,2): union = [0,2]^d minus [0,1)^d.
        for d in [4, 5] {
            let pts: Vec<Vec<f64>> = (0..d).map(|k| (0..d).map(|j| if j == k { 1.0 } else { 0.0 }).collect()).collect();
            let r = vec![2.0; d];
            let want = f64::from((1_u32 << d) - 1);
            assert_close(hv(&pts, &r), want);
            assert_close(hv_wfg(&pts, &r), want);
        }
        // 4-D: (0,0,0,1) and (1,0,0,0) w.r.t. (2,2,2,2):
        // 8 + 8 - vol([(1,0,0,1), r]) = 16 - 4 = 12.
        let two = vec![vec![0.0, 0.0, 0.0, 1.0], vec![1.0, 0.0, 0.0, 0.0]];
        assert_close(hv(&two, &[2.0; 4]), 12.0);
        assert_close(hv_wfg(&two, &[2.0; 4]), 12.0);
        // 4-D: one box of side 2 plus a dominated point and an outside point.
        let boxy = vec![vec![1.0; 4], vec![2.0; 4], vec![0.0, 0.0, 0.0, 5.0], vec![1.5, 1.0, 2.0, 1.0]];
        assert_close(hv(&boxy, &[3.0; 4]), 16.0);
        assert_close(hv_wfg(&boxy, &[3.0; 4]), 16.0);
        // 5-D: box [0, (1,2,3,4,5)] = 120, with dominated points inside.
        let five = vec![vec![0.0; 5], vec![0.5, 1.0, 1.5, 2.0, 2.5], vec![0.0, 0.0, 0.0, 0.0, 4.0]];
        let r5 = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_close(hv(&five, &r5), 120.0);
        assert_close(hv_wfg(&five, &r5), 120.0);
        // 5-D: (0,0,0,0,1) and (0,0,0,1,0) w.r.t. (1,1,1,2,2):
        // 1*1*1*2*1 + 1*1*1*1*2 - 1*1*1*1*1 = 3.
        let five2 = vec![vec![0.0, 0.0, 0.0, 0.0, 1.0], vec![0.0, 0.0, 0.0, 1.0, 0.0]];
        let r5b = [1.0, 1.0, 1.0, 2.0, 2.0];
        assert_close(hv(&five2, &r5b), 3.0);
        assert_close(hv_wfg(&five2, &r5b), 3.0);
    }

    #[test]
    fn wfg_matches_2d_sweep_on_random_sets() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let r = [1.0, 1.0];
        for trial in 0..50 {
            let n = rng.random_range(1..60);
            let pts = if trial % 2 == 0 { random_points(&mut rng, n, 2, 1.2) } else { random_front(&mut rng, n, 2) };
            assert_close(hv_wfg(&pts, &r), hv(&pts, &r));
        }
    }

    #[test]
    fn wfg_matches_3d_sweep_on_random_sets() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let r = [1.0, 1.0, 1.0];
        for trial in 0..50 {
            let n = rng.random_range(1..50);
            let pts = if trial % 2 == 0 { random_points(&mut rng, n, 3, 1.2) } else { random_front(&mut rng, n, 3) };
            assert_close(hv_wfg(&pts, &r), hv(&pts, &r));
        }
    }

    #[test]
    fn sweeps_match_wfg_with_ties() {
        // Integer coordinates force equal values in every objective.
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for d in [2, 3, 4] {
            let r = vec![5.0; d];
            for _ in 0..30 {
                let n = rng.random_range(1..30);
                let pts: Vec<Vec<f64>> =
                    (0..n).map(|_| (0..d).map(|_| f64::from(rng.random_range(0..6_u32))).collect()).collect();
                assert_close(hv(&pts, &r), hv_wfg(&pts, &r));
            }
        }
    }

    #[test]
    fn dispatcher_matches_pure_wfg_4d_5d() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        for d in [4, 5] {
            let r = vec![1.0; d];
            for trial in 0..20 {
                let n = rng.random_range(1..25);
                let pts =
                    if trial % 2 == 0 { random_points(&mut rng, n, d, 1.1) } else { random_front(&mut rng, n, d) };
                assert_close(hv(&pts, &r), hv_wfg(&pts, &r));
            }
        }
    }

    #[test]
    fn inclusion_exclusion_brute_force_3d_4d_5d() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        for d in [2, 3, 4, 5] {
            let r = vec![1.0; d];
            for trial in 0..40 {
                let n = rng.random_range(1..=8);
                let pts = if trial % 2 == 0 {
                    // Some points fall outside the reference box.
                    random_points(&mut rng, n, d, 1.15)
                } else {
                    random_front(&mut rng, n, d)
                };
                let want = inclusion_exclusion(&pts, &r);
                assert_close(hv(&pts, &r), want);
                assert_close(hv_wfg(&pts, &r), want);
            }
        }
    }

    #[test]
    fn hv_is_invariant_to_order_and_sign_of_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        let mut pts = random_front(&mut rng, 40, 3);
        let r = [1.0, 1.0, 1.0];
        let a = hv(&pts, &r);
        pts.reverse();
        assert_close(hv(&pts, &r), a);
        let z = vec![vec![-0.0, 0.5], vec![0.0, 0.25]];
        assert_close(hv(&z, &[1.0, 1.0]), 0.75);
    }

    #[test]
    fn errors() {
        let pts = vec![vec![1.0, 2.0], vec![1.0, 2.0, 3.0]];
        assert_eq!(
            hypervolume(&pts, &[4.0, 4.0]),
            Err(ParetoError::DimensionMismatch { index: 1, expected: 2, found: 3 })
        );
        assert_eq!(
            hypervolume_wfg(&pts, &[4.0, 4.0]),
            Err(ParetoError::DimensionMismatch { index: 1, expected: 2, found: 3 })
        );
        assert_eq!(
            hypervolume(&[vec![1.0, f64::NAN]], &[4.0, 4.0]),
            Err(ParetoError::NanObjective { index: 0, objective: 1 })
        );
        assert_eq!(
            hypervolume(&[vec![1.0, f64::NEG_INFINITY]], &[4.0, 4.0]),
            Err(ParetoError::NegativeInfinity { index: 0, objective: 1 })
        );
        assert!(matches!(
            hypervolume(&[vec![1.0, 1.0]], &[f64::NAN, 4.0]),
            Err(ParetoError::NonFiniteReference { objective: 0, .. })
        ));
        assert!(matches!(
            hypervolume(&[vec![1.0, 1.0]], &[4.0, f64::INFINITY]),
            Err(ParetoError::NonFiniteReference { objective: 1, .. })
        ));
        let none: Vec<Vec<f64>> = Vec::new();
        assert_eq!(hypervolume(&none, &[]), Err(ParetoError::EmptyReference));
        // Error messages are readable.
        let msg = ParetoError::DimensionMismatch { index: 1, expected: 2, found: 3 }.to_string();
        assert_eq!(msg, "point 1 has 3 objectives, expected 2");
    }

    #[test]
    fn large_sets_agree() {
        // The O(N log N) sweeps against WFG on bigger fronts.
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let p2 = random_front(&mut rng, 2000, 2);
        assert_close(hv(&p2, &[1.0, 1.0]), hv_wfg(&p2, &[1.0, 1.0]));
        let p3 = random_front(&mut rng, 300, 3);
        assert_close(hv(&p3, &[1.0; 3]), hv_wfg(&p3, &[1.0; 3]));
    }

    #[test]
    fn normalized_hv() {
        // ideal (0, 10), nadir (2, 30).
        let n = NormalizedHv::new(vec![0.0, 10.0], vec![2.0, 30.0]).expect("valid bounds");
        assert_eq!(n.dim(), 2);
        assert_eq!(n.reference(), &[1.1, 1.1]);
        assert_eq!(n.normalize(&[1.0, 20.0]), vec![0.5, 0.5]);
        assert_eq!(n.normalize(&[2.0, 10.0]), vec![1.0, 0.0]);
        // (0.5, 0.5) against (1.1, 1.1): 0.6 * 0.6.
        assert_close(n.hypervolume(&[vec![1.0, 20.0]]).expect("valid"), 0.36);
        // True front (0,30), (2,10) -> normalised (0,1), (1,0):
        // 1.1*0.1 + 0.1*1.1 - 0.1*0.1 = 0.21.
        let front = vec![vec![0.0, 30.0], vec![2.0, 10.0]];
        let from_front = NormalizedHv::from_front(&front).expect("valid front");
        assert_eq!(from_front, n);
        let true_hv = n.hypervolume(&front).expect("valid");
        assert_close(true_hv, 0.21);
        assert_close(n.ratio(&front, true_hv).expect("valid"), 1.0);
        // Only (2,10) found: 0.1 * 1.1 = 0.11 -> ratio 0.11 / 0.21.
        assert_close(n.ratio(&[vec![2.0, 10.0], vec![3.0, 40.0]], true_hv).expect("valid"), 0.11 / 0.21);
        // Custom reference (2, 2): (0.5, 0.5) -> 1.5^2.
        let n2 = n.clone().with_reference_value(2.0).expect("finite");
        assert_close(n2.hypervolume(&[vec![1.0, 20.0]]).expect("valid"), 2.25);
        let n3 = n.clone().with_reference(vec![1.0, 2.0]).expect("valid");
        assert_close(n3.hypervolume(&[vec![1.0, 20.0]]).expect("valid"), 0.75);
    }

    #[test]
    fn normalized_hv_errors() {
        assert!(matches!(
            NormalizedHv::new(vec![0.0, 1.0], vec![1.0, 1.0]),
            Err(ParetoError::InvalidBounds { objective: 1, .. })
        ));
        assert_eq!(
            NormalizedHv::new(vec![0.0], vec![1.0, 1.0]),
            Err(ParetoError::BoundsDimensionMismatch { ideal: 1, nadir: 2 })
        );
        assert_eq!(NormalizedHv::new(vec![], vec![]), Err(ParetoError::EmptyReference));
        let empty: Vec<Vec<f64>> = Vec::new();
        assert_eq!(NormalizedHv::from_front(&empty), Err(ParetoError::EmptyFront));
        let n = NormalizedHv::new(vec![0.0, 0.0], vec![1.0, 1.0]).expect("valid");
        assert!(matches!(n.try_normalize(&[1.0]), Err(ParetoError::DimensionMismatch { .. })));
        assert!(matches!(n.try_normalize(&[1.0, f64::NAN]), Err(ParetoError::NanObjective { objective: 1, .. })));
        assert!(matches!(
            n.hypervolume(&[vec![0.5, 0.5], vec![0.5]]),
            Err(ParetoError::DimensionMismatch { index: 1, .. })
        ));
        assert!(matches!(n.ratio(&[vec![0.5, 0.5]], 0.0), Err(ParetoError::InvalidReferenceVolume { .. })));
        assert!(matches!(n.clone().with_reference(vec![1.0]), Err(ParetoError::DimensionMismatch { .. })));
        assert!(matches!(n.with_reference_value(f64::NAN), Err(ParetoError::NonFiniteReference { .. })));
    }

    #[test]
    #[should_panic(expected = "objectives")]
    fn normalize_panics_on_mismatch() {
        let n = NormalizedHv::new(vec![0.0, 0.0], vec![1.0, 1.0]).expect("valid");
        let _ = n.normalize(&[1.0, 2.0, 3.0]);
    }
}
