//! `hwnas codesign CONFIG --seeds N`: joint network × accelerator search (the
//! config's strategy) against NASAIC's successive baseline (networks first on a
//! reference accelerator, then the hardware), seed by seed.
//!
//! Each run's answer is [`search_spaces::codesign::pick`]: the result with the
//! smallest total spec violation, then the highest accuracy, then the lowest
//! latency — over every trial of the joint search, and over the hardware
//! phase's trials of the baseline (its answer is the hardware for the networks
//! it fixed). Reported per seed: both answers' metrics and which specs they
//! violate; over the seeds: how often each meets every spec, and the mean
//! latency reduction, energy and area ratios and accuracy change of the joint
//! answer against the baseline's (the figures NASAIC reports: 17.77%, 2.49×,
//! 2.32×, −0.76%).

use crate::codesign_report::{SpecMargin, spec_margins};
use crate::config::{ExperimentConfig, Section};
use crate::rundir::write_atomic;
use crate::setup::{Build, Setup};
use anyhow::{Result, bail};
use nas_core::{Metric, MetricMap, Registry, Trial};
use search_spaces::codesign::{SuccessiveSettings, pick};
use serde::Serialize;
use std::path::Path;

/// One run's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    /// The joint notation.
    pub arch: String,
    /// Its metrics.
    pub metrics: MetricMap,
    /// Its spec margins.
    pub specs: Vec<SpecMargin>,
    /// Whether every spec is met.
    pub meets_specs: bool,
}

/// One seed.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The joint search's answer.
    pub joint: Option<Answer>,
    /// The successive baseline's answer.
    pub successive: Option<Answer>,
}

/// The comparison (`codesign.json`).
#[derive(Clone, Debug, Serialize)]
pub struct CoDesignComparison {
    /// The joint strategy.
    pub strategy: String,
    /// Budget per run.
    pub budget: usize,
    /// The specs.
    pub specs: Vec<String>,
    /// Per seed.
    pub seeds: Vec<SeedResult>,
    /// Seeds where the joint answer meets every spec.
    pub joint_meets: usize,
    /// Seeds where the successive answer violates at least one spec.
    pub successive_violates: usize,
    /// Mean of `1 - joint latency / successive latency`, in percent.
    pub latency_reduction_pct: f64,
    /// Mean of `successive energy / joint energy`.
    pub energy_ratio: f64,
    /// Mean of `successive area / joint area`.
    pub area_ratio: f64,
    /// Mean of `joint accuracy - successive accuracy`, in points.
    pub accuracy_change: f64,
}

fn answer(cfg: &ExperimentConfig, trials: &[&Trial]) -> Option<Answer> {
    let problem = cfg.problem();
    let best = pick(&problem, trials.iter().filter(|t| t.is_ok()).map(|t| &t.metrics))?;
    let t = trials.iter().find(|t| std::ptr::eq(&t.metrics, best))?;
    let specs = spec_margins(&problem, &t.metrics);
    Some(Answer { arch: t.arch.clone(), metrics: t.metrics.clone(), meets_specs: specs.iter().all(|s| s.met), specs })
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// Runs the comparison (see the module docs) and writes `codesign.json` in `out`.
pub fn compare_codesign(
    cfg: &ExperimentConfig,
    seeds: usize,
    out: &Path,
    registry: &Registry,
) -> Result<CoDesignComparison> {
    if seeds == 0 {
        bail!("--seeds must be >= 1");
    }
    if cfg.strategy.kind == "successive" {
        bail!(
            "the config's strategy is the baseline itself; give a joint strategy (nsga2, evolution, reinforce, marl, ...)"
        );
    }
    let mut base = cfg.clone();
    base.strategy = Section::of_kind("successive");
    base.validate("--strategies", registry)?;
    let settings = SuccessiveSettings::default();
    let phase1 = settings.network_trials(cfg.budget);
    let setup = Setup::new(cfg, registry, Build::All)?;
    if !setup.space.has(nas_core::Capability::CoDesign) {
        bail!("`hwnas codesign` needs a `codesign` space; this config's space is `{}`", cfg.space.kind);
    }
    let joint = crate::compare::run_all(cfg, &setup, registry, seeds, crate::compare::Axis::Budget)?;
    let succ = crate::compare::run_all(&base, &setup, registry, seeds, crate::compare::Axis::Budget)?;
    let mut results = Vec::new();
    let (mut lat, mut en, mut ar, mut acc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, (j, s)) in joint.iter().zip(&succ).enumerate() {
        let j_ans = answer(cfg, &j.iter().collect::<Vec<_>>());
        let s_ans = answer(cfg, &s.iter().skip(phase1).collect::<Vec<_>>());
        if let (Some(a), Some(b)) = (&j_ans, &s_ans) {
            let m = |x: &Answer, metric: Metric| x.metrics.get(&metric).copied().unwrap_or(f64::NAN);
            lat.push(100.0 * (1.0 - m(a, Metric::LatencyMs) / m(b, Metric::LatencyMs)));
            en.push(m(b, Metric::EnergyMj) / m(a, Metric::EnergyMj));
            ar.push(m(b, Metric::AreaMm2) / m(a, Metric::AreaMm2));
            acc.push(m(a, Metric::Accuracy) - m(b, Metric::Accuracy));
        }
        results.push(SeedResult { seed: cfg.seed.wrapping_add(k as u64), joint: j_ans, successive: s_ans });
    }
    let cmp = CoDesignComparison {
        strategy: cfg.strategy.kind.clone(),
        budget: cfg.budget,
        specs: cfg.constraints.clone(),
        joint_meets: results.iter().filter(|r| r.joint.as_ref().is_some_and(|a| a.meets_specs)).count(),
        successive_violates: results.iter().filter(|r| r.successive.as_ref().is_none_or(|a| !a.meets_specs)).count(),
        seeds: results,
        latency_reduction_pct: mean(&lat),
        energy_ratio: mean(&en),
        area_ratio: mean(&ar),
        accuracy_change: mean(&acc),
    };
    std::fs::create_dir_all(out)?;
    write_atomic(&out.join("codesign.json"), serde_json::to_string_pretty(&cmp)?.as_bytes())?;
    Ok(cmp)
}

/// The comparison as a text table.
pub fn format_codesign(c: &CoDesignComparison) -> String {
    let row = |a: &Option<Answer>| match a {
        None => "no successful trial".to_string(),
        Some(a) => {
            let m = |metric: Metric| a.metrics.get(&metric).copied().unwrap_or(f64::NAN);
            let broken: Vec<&str> = a.specs.iter().filter(|s| !s.met).map(|s| s.spec.as_str()).collect();
            format!(
                "acc {:6.2}  lat {:7.3} ms  energy {:7.3} mJ  area {:6.2} mm2  util {:5.1}%  {}",
                m(Metric::Accuracy),
                m(Metric::LatencyMs),
                m(Metric::EnergyMj),
                m(Metric::AreaMm2),
                m(Metric::PeUtilisation),
                if broken.is_empty() {
                    "meets all specs".to_string()
                } else {
                    format!("violates {}", broken.join(", "))
                }
            )
        }
    };
    let mut s = format!("specs: {}\n", c.specs.join(", "));
    for r in &c.seeds {
        s.push_str(&format!("seed {:>3}  {:<11} {}\n", r.seed, c.strategy, row(&r.joint)));
        s.push_str(&format!("          {:<11} {}\n", "successive", row(&r.successive)));
    }
    let n = c.seeds.len();
    s.push_str(&format!(
        "{} meets every spec in {}/{n} seeds; successive violates a spec in {}/{n}\n\
         joint vs successive (mean over seeds): latency -{:.2}%, energy {:.2}x lower, area {:.2}x lower, accuracy {:+.2} points\n\
         (NASAIC, DAC 2020: latency -17.77%, energy 2.49x, area 2.32x, accuracy -0.76)\n",
        c.strategy, c.joint_meets, c.successive_violates, c.latency_reduction_pct, c.energy_ratio, c.area_ratio, c.accuracy_change
    ));
    s
}
