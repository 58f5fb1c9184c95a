//! The hardware engineer's view of a co-design run: `codesign/front.json` (and
//! one `codesign/<rank>_<id>.json` per front member) with each member's
//! networks, sub-accelerator parameters, mapping, per-task and per-layer
//! latency and utilisation, area, and the margin to every spec — all with units
//! in the field names. Written for runs whose space has the `codesign`
//! capability and that price it with a `codesign` evaluator.

use crate::config::ExperimentConfig;
use crate::hv::front_of;
use crate::rundir::write_atomic;
use anyhow::{Context, Result};
use latency_lut::accel::SystemReport;
use latency_lut::codesign::system_report;
use latency_lut::{AcceleratorModel, CoDesignSettings};
use nas_core::{Comparison, DynSpace, Problem, SearchSpace, Trial};
use serde::Serialize;
use std::path::Path;

/// The margin of one spec: positive when met (`bound - value` for `<=`).
#[derive(Clone, Debug, Serialize)]
pub struct SpecMargin {
    /// The constraint as written (`latency_ms <= 5`).
    pub spec: String,
    /// The member's value.
    pub value: f64,
    /// The bound.
    pub bound: f64,
    /// How far inside the bound (negative: violated by that much).
    pub margin: f64,
    /// Whether it is met.
    pub met: bool,
}

/// One front member in hardware terms.
#[derive(Clone, Debug, Serialize)]
pub struct HardwareMember {
    /// Rank in the front.
    pub rank: usize,
    /// The trial's index.
    pub trial: usize,
    /// Stable id.
    pub arch_id: String,
    /// The joint notation.
    pub arch: String,
    /// Each task's network notation, by task name.
    pub networks: Vec<(String, String)>,
    /// Accuracy and every other metric of the trial.
    pub metrics: nas_core::MetricMap,
    /// The system: sub-accelerators (parameters, area in mm², tasks, busy ms),
    /// tasks (sub-accelerator, latency ms, energy mJ, utilisation %, layers).
    pub system: SystemReport,
    /// Spec margins.
    pub specs: Vec<SpecMargin>,
}

/// Margins of `problem`'s constraints for `metrics`.
pub fn spec_margins(problem: &Problem, metrics: &nas_core::MetricMap) -> Vec<SpecMargin> {
    problem
        .constraints
        .iter()
        .filter_map(|c| {
            let value = *metrics.get(&c.metric)?;
            let margin = match c.cmp {
                Comparison::AtMost => c.bound - value,
                Comparison::AtLeast => value - c.bound,
            };
            Some(SpecMargin { spec: c.to_string(), value, bound: c.bound, margin, met: margin >= 0.0 })
        })
        .collect()
}

/// The `codesign` evaluator's model of a config, if it has one.
pub fn model_of(cfg: &ExperimentConfig) -> Result<Option<AcceleratorModel>> {
    let Some(section) = cfg.evaluators.iter().find(|e| e.kind == "codesign") else { return Ok(None) };
    let settings: CoDesignSettings = nas_core::registry::parse_settings(section.settings_value())?;
    Ok(Some(settings.model()?))
}

/// Writes `codesign/` for a finished (or re-plotted) run; does nothing for
/// other spaces.
pub fn write_codesign_report(dir: &Path, cfg: &ExperimentConfig, space: &DynSpace, trials: &[Trial]) -> Result<()> {
    let (Some(codesign), Some(model)) = (space.codesign(), model_of(cfg)?) else { return Ok(()) };
    let problem = cfg.problem();
    let tasks = codesign.tasks();
    let mut members = Vec::new();
    for (rank, i) in front_of(&problem, trials).into_iter().enumerate() {
        let t = &trials[i];
        let arch = space.parse(&t.arch).with_context(|| format!("trial {} is not of this space", t.index))?;
        let (view, system) =
            system_report(&model, codesign, &arch, true).map_err(|e| anyhow::anyhow!("trial {}: {e}", t.index))?;
        members.push(HardwareMember {
            rank,
            trial: t.index,
            arch_id: t.arch_id.to_string(),
            arch: t.arch.clone(),
            networks: tasks
                .iter()
                .zip(&view.nets)
                .map(|(k, n)| (k.name.clone(), n.notation_str().to_string()))
                .collect(),
            metrics: t.metrics.clone(),
            system,
            specs: spec_margins(&problem, &t.metrics),
        });
    }
    let out = dir.join("codesign");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    for m in &members {
        write_atomic(
            &out.join(format!("{:03}_{}.json", m.rank, m.arch_id)),
            serde_json::to_string_pretty(m)?.as_bytes(),
        )?;
    }
    write_atomic(&out.join("front.json"), serde_json::to_string_pretty(&members)?.as_bytes())?;
    Ok(())
}
