//! Front verification: re-measure the final Pareto front of a run whose latency
//! came from a table or a model, re-rank it and flag the members that became
//! dominated or infeasible (`hwnas verify`).

use crate::LutError;
use crate::lut::LatencyTable;
use crate::measure::Protocol;
use nas_core::pareto::dominates;
use nas_core::registry::LatencySource;
use nas_core::{Metric, MetricMap, Problem};
use serde::{Deserialize, Serialize};

/// Where a run's `latency_ms` came from, and how it is re-measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifySource {
    /// `lut(<path>)`, `systolic(...)` or `measured(...)`.
    pub source: String,
    /// The protocol of the re-measurement (the table's own for a table).
    pub protocol: Protocol,
    /// Whether the predictions are of this machine (tables, measurements) rather
    /// than of another device (systolic model): only then are errors meaningful.
    pub same_machine: bool,
    /// Why the latencies under verification may be off before anything is
    /// measured (a table built while the machine was not steady).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The table's calibration networks (notation, time measured at the build),
    /// re-measured with the front to tell the machine's speed now against then.
    #[serde(skip)]
    pub calibration: Vec<(String, f64)>,
}

impl VerifySource {
    /// How to re-measure latency of `source`; an error says why a run whose
    /// latency came from elsewhere cannot be verified here.
    pub fn of(source: &LatencySource) -> Result<Self, String> {
        match source {
            LatencySource::ThisMachine { source, lut: Some(path), .. } => {
                let t = LatencyTable::load(path).map_err(|e| e.to_string())?;
                let warning = t.stability.as_ref().and_then(|s| s.warning(&path.display().to_string()));
                let calibration =
                    t.calibration.iter().flat_map(|c| &c.points).map(|p| (p.arch.clone(), p.measured_ms)).collect();
                Ok(VerifySource {
                    source: source.clone(),
                    protocol: t.protocol,
                    same_machine: true,
                    warning,
                    calibration,
                })
            }
            LatencySource::ThisMachine { source, batch, threads, lut: None } => Ok(VerifySource {
                source: source.clone(),
                protocol: Protocol { batch: *batch, threads: *threads, ..Protocol::default() },
                same_machine: true,
                warning: None,
                calibration: Vec::new(),
            }),
            LatencySource::Modelled { source } => Ok(VerifySource {
                source: source.clone(),
                protocol: Protocol::default(),
                same_machine: false,
                warning: None,
                calibration: Vec::new(),
            }),
            LatencySource::Elsewhere { reason } => Err(format!(
                "{reason}. `hwnas verify` checks runs that used a latency table (kind = \"lut\"), a model (kind = \
                 \"systolic\") or measurements"
            )),
            LatencySource::None => Err("no evaluator of this run provides latency_ms; nothing to verify".into()),
        }
    }
}

/// One member of the front to verify.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontMember {
    /// Trial index in the run.
    pub trial: usize,
    /// Architecture notation.
    pub arch: String,
    /// The metrics the search recorded.
    pub metrics: MetricMap,
}

/// One re-measured front member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifiedPoint {
    /// Trial index in the run.
    pub trial: usize,
    /// Architecture notation.
    pub arch: String,
    /// `latency_ms` the search used.
    pub predicted_ms: f64,
    /// Re-measured end-to-end latency.
    pub measured_ms: f64,
    /// `(predicted - measured) / measured`, percent.
    pub error_pct: f64,
    /// Rank by predicted latency among the front (1 = fastest).
    pub predicted_rank: usize,
    /// Rank by measured latency among the front.
    pub measured_rank: usize,
    /// Trials of the front that dominate it once latency is the measured one.
    pub dominated_by: Vec<usize>,
    /// Whether it breaks a constraint with the measured latency.
    pub violates_constraints: bool,
}

/// `verify.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Where the run's latency came from.
    pub latency: VerifySource,
    /// The re-measured front.
    pub points: Vec<VerifiedPoint>,
    /// Mean absolute percentage error over the front.
    pub mape_pct: f64,
    /// Kendall tau between predicted and measured latency over the front (`NaN`,
    /// written as `null`, when undefined: see `nas_core::stats`).
    pub kendall_tau: f64,
    /// Members dominated by another member once re-measured.
    pub became_dominated: usize,
    /// Members that break a constraint once re-measured.
    pub became_infeasible: usize,
    /// The machine's speed now against when the table was built (its
    /// calibration networks re-measured with the front; median of now / then
    /// minus one, negative: faster now). `None` without a table calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_vs_build: Option<f64>,
}

/// Ranks from 1 (smallest first; ties in input order).
fn ranks(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0; v.len()];
    for (pos, &i) in idx.iter().enumerate() {
        r[i] = pos + 1;
    }
    r
}

/// Compares the front's recorded latencies with `measured_ms` (one per member,
/// in order): errors, ranks, members dominated by another member or infeasible
/// once the measured latency replaces the recorded one.
pub fn verify_front(
    problem: &Problem,
    latency: VerifySource,
    front: &[FrontMember],
    measured_ms: &[f64],
) -> Result<VerifyReport, LutError> {
    if front.len() != measured_ms.len() {
        return Err(LutError::Backend(format!("{} front members but {} measurements", front.len(), measured_ms.len())));
    }
    let predicted: Vec<f64> =
        front.iter().map(|m| m.metrics.get(&Metric::LatencyMs).copied().unwrap_or(f64::NAN)).collect();
    let (pr, mr) = (ranks(&predicted), ranks(measured_ms));
    let remeasured: Vec<MetricMap> = front
        .iter()
        .zip(measured_ms)
        .map(|(m, &ms)| {
            let mut metrics = m.metrics.clone();
            metrics.insert(Metric::LatencyMs, ms);
            metrics
        })
        .collect();
    let vectors: Vec<Option<Vec<f64>>> = remeasured.iter().map(|m| problem.min_vector(m)).collect();
    let points: Vec<VerifiedPoint> = front
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let dominated_by = (0..front.len())
                .filter(|&j| j != k)
                .filter(|&j| matches!((&vectors[j], &vectors[k]), (Some(a), Some(b)) if dominates(a, b)))
                .map(|j| front[j].trial)
                .collect();
            VerifiedPoint {
                trial: m.trial,
                arch: m.arch.clone(),
                predicted_ms: predicted[k],
                measured_ms: measured_ms[k],
                error_pct: 100.0 * (predicted[k] - measured_ms[k]) / measured_ms[k],
                predicted_rank: pr[k],
                measured_rank: mr[k],
                dominated_by,
                violates_constraints: problem.violation(&remeasured[k]) > 0.0,
            }
        })
        .collect();
    Ok(VerifyReport {
        mape_pct: points.iter().map(|p| p.error_pct.abs()).sum::<f64>() / points.len().max(1) as f64,
        kendall_tau: nas_core::stats::kendall_tau(measured_ms, &predicted),
        became_dominated: points.iter().filter(|p| !p.dominated_by.is_empty()).count(),
        became_infeasible: points.iter().filter(|p| p.violates_constraints).count(),
        latency,
        points,
        speed_vs_build: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nas_core::Objective;

    fn member(trial: usize, acc: f64, ms: f64) -> FrontMember {
        FrontMember {
            trial,
            arch: format!("a{trial}"),
            metrics: MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, ms)]),
        }
    }

    #[test]
    fn a_member_that_measures_slower_becomes_dominated_or_infeasible() {
        let problem = Problem::new(
            vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)],
            vec!["latency_ms <= 5".parse().expect("constraint")],
        );
        let front = [member(0, 90.0, 1.0), member(1, 92.0, 2.0), member(2, 94.0, 4.0)];
        let source = VerifySource {
            source: "test".into(),
            protocol: Protocol::default(),
            same_machine: true,
            warning: None,
            calibration: Vec::new(),
        };
        // Trial 1 measures 4.5 ms: now slower than trial 2 (4.2 ms) at lower accuracy.
        let r = verify_front(&problem, source.clone(), &front, &[1.0, 4.5, 4.2]).expect("verifies");
        assert_eq!(r.points[1].dominated_by, vec![2]);
        assert_eq!((r.points[1].predicted_rank, r.points[1].measured_rank), (2, 3));
        assert_eq!(r.became_dominated, 1);
        assert_eq!(r.became_infeasible, 0);
        // Errors 0, (2 - 4.5) / 4.5, (4 - 4.2) / 4.2 -> MAPE by hand.
        let mape = (0.0 + 100.0 * 2.5 / 4.5 + 100.0 * 0.2 / 4.2) / 3.0;
        assert!((r.mape_pct - mape).abs() < 1e-9);
        // Order 1, 2, 4 vs 1, 4.5, 4.2: one discordant pair of three -> 1/3.
        assert!((r.kendall_tau - 1.0 / 3.0).abs() < 1e-12);
        let r = verify_front(&problem, source.clone(), &front, &[1.0, 2.0, 6.0]).expect("verifies");
        assert_eq!(r.became_infeasible, 1);
        assert!(r.points[2].violates_constraints);
        assert!(verify_front(&problem, source, &front, &[1.0]).is_err());
        let elsewhere = LatencySource::Elsewhere { reason: "from the `fpga` column".into() };
        assert!(VerifySource::of(&elsewhere).expect_err("refused").contains("fpga"));
    }
}
