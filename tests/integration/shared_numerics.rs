//! One Kendall tau for the whole project: `hwnas verify` (latency-lut) and
//! `hwnas predictor eval` (predictors) report the same value for the same data,
//! ties and undefined cases included (the rule: `NaN` when a side is constant or
//! has fewer than two points; see `nas_core::stats`).

use latency_lut::{FrontMember, Protocol, VerifySource, verify_front};
use nas_core::{Metric, MetricMap, Objective, Problem};

fn verify_tau(predicted: &[f64], measured: &[f64]) -> f64 {
    let problem = Problem::new(vec![Objective::natural(Metric::LatencyMs)], vec![]);
    let front: Vec<FrontMember> = predicted
        .iter()
        .enumerate()
        .map(|(i, &ms)| FrontMember {
            trial: i,
            arch: format!("a{i}"),
            metrics: MetricMap::from([(Metric::LatencyMs, ms)]),
        })
        .collect();
    let source = VerifySource {
        source: "test".into(),
        protocol: Protocol::default(),
        same_machine: true,
        warning: None,
        calibration: Vec::new(),
    };
    verify_front(&problem, source, &front, measured).expect("verifies").kendall_tau
}

#[test]
fn verify_and_predictor_eval_agree_on_kendall_tau() {
    let cases: [(&[f64], &[f64]); 4] = [
        (&[1.0, 2.0, 3.0, 4.0], &[1.1, 2.5, 2.4, 4.0]),
        // Ties on both sides.
        (&[1.0, 1.0, 2.0, 3.0, 3.0], &[1.0, 2.0, 2.0, 3.0, 5.0]),
        // A constant side: undefined.
        (&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]),
        // One point: undefined.
        (&[2.0], &[1.0]),
    ];
    for (predicted, measured) in cases {
        let v = verify_tau(predicted, measured);
        let p = ::predictors::kendall_tau(measured, predicted);
        assert!(v == p || (v.is_nan() && p.is_nan()), "{predicted:?} vs {measured:?}: verify {v}, predictor {p}");
    }
    assert!(verify_tau(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]).is_nan());
    // x = 1,1,2,3,3 vs y = 1,2,2,3,5 by hand: 7 concordant, 0 discordant, ties in
    // x only 2 (pairs 1-2, 4-5), in y only 1 (pair 2-3) -> 7 / sqrt(9 * 8).
    assert!((verify_tau(&[1.0, 1.0, 2.0, 3.0, 3.0], &[1.0, 2.0, 2.0, 3.0, 5.0]) - 7.0 / 72f64.sqrt()).abs() < 1e-12);
}
