//! Hypervolume bookkeeping for runs: the HV ratio against a known true front,
//! or a relative hypervolume when the whole space is unknown.

use nas_core::pareto::{NormalizedHv, pareto_front_indices};
use nas_core::{Problem, Trial};

/// Objective vectors (minimisation form) of the feasible, successful trials, with
/// their positions in `trials`.
///
/// A multi-fidelity run records a candidate once per rung it reached; only its
/// latest (highest-budget) record counts ([`nas_core::fidelity::latest_mask`]).
pub fn feasible_points(problem: &Problem, trials: &[Trial]) -> Vec<(usize, Vec<f64>)> {
    let latest = nas_core::fidelity::latest_mask(trials);
    trials
        .iter()
        .enumerate()
        .filter(|(i, _)| latest[*i])
        .filter(|(_, t)| t.is_ok() && problem.violation(&t.metrics) == 0.0)
        .filter_map(|(i, t)| problem.min_vector(&t.metrics).map(|v| (i, v)))
        .collect()
}

/// Indices (into `trials`) of the feasible Pareto front.
pub fn front_of(problem: &Problem, trials: &[Trial]) -> Vec<usize> {
    let pts = feasible_points(problem, trials);
    let vecs: Vec<&[f64]> = pts.iter().map(|(_, v)| v.as_slice()).collect();
    let mut idx: Vec<usize> = pareto_front_indices(&vecs).into_iter().map(|k| pts[k].0).collect();
    idx.sort_unstable();
    idx
}

/// How hypervolumes of a run are normalised.
#[derive(Clone, Debug)]
pub struct HvScale {
    norm: NormalizedHv,
    true_hv: Option<f64>,
}

impl HvScale {
    /// Ratio mode: normalise by the true front (ideal 0, nadir 1, reference 1.1) and
    /// divide by the true front's hypervolume.
    pub fn from_true_front(front: &[Vec<f64>]) -> Option<Self> {
        let norm = NormalizedHv::from_front(front).ok()?;
        let hv = norm.hypervolume(front).ok()?;
        (hv > 0.0).then_some(HvScale { norm, true_hv: Some(hv) })
    }

    /// Relative mode: normalise by the given points' own front (when no true front
    /// is known); values are comparable only within one run.
    pub fn from_points(points: &[Vec<f64>]) -> Option<Self> {
        let idx = pareto_front_indices(points);
        let front: Vec<Vec<f64>> = idx.iter().map(|&i| points[i].clone()).collect();
        let norm = NormalizedHv::from_front(&front).ok()?;
        Some(HvScale { norm, true_hv: None })
    }

    /// Whether values are ratios to a true front.
    pub fn is_ratio(&self) -> bool {
        self.true_hv.is_some()
    }

    /// Axis / log label.
    pub fn label(&self) -> &'static str {
        if self.is_ratio() { "HV ratio" } else { "normalised HV" }
    }

    /// The (ratio or normalised) hypervolume of a set of points.
    pub fn value(&self, points: &[Vec<f64>]) -> f64 {
        let hv = self.norm.hypervolume(points).unwrap_or(0.0);
        match self.true_hv {
            Some(t) => hv / t,
            None => hv,
        }
    }
}

/// The hypervolume after each trial (index = number of trials so far, from 1).
/// A candidate recorded again at a higher budget replaces its earlier point.
pub fn hv_curve(problem: &Problem, trials: &[Trial], scale: &HvScale) -> Vec<f64> {
    let mut front: Vec<Vec<f64>> = Vec::new();
    // Each candidate's current point, in order of first appearance.
    let mut points: Vec<(nas_core::ArchId, Option<Vec<f64>>)> = Vec::new();
    let mut out = Vec::with_capacity(trials.len());
    let mut current = 0.0;
    for t in trials {
        let point =
            (t.is_ok() && problem.violation(&t.metrics) == 0.0).then(|| problem.min_vector(&t.metrics)).flatten();
        match points.iter().position(|(id, _)| *id == t.arch_id) {
            Some(k) => {
                // A promotion: the candidate's point moves; rebuild the front.
                points[k].1 = point;
                let all: Vec<&[f64]> = points.iter().filter_map(|(_, p)| p.as_deref()).collect();
                front = pareto_front_indices(&all).into_iter().map(|k| all[k].to_vec()).collect();
                current = if front.is_empty() { 0.0 } else { scale.value(&front) };
            }
            None => {
                points.push((t.arch_id, point.clone()));
                if let Some(v) = point
                    && !front.iter().any(|f| nas_core::pareto::dominates(f, &v) || f == &v)
                {
                    front.retain(|f| !nas_core::pareto::dominates(&v, f));
                    front.push(v);
                    current = scale.value(&front);
                }
            }
        }
        out.push(current);
    }
    out
}
