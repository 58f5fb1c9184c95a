//! Result files of a run: `pareto.json`, the plots and `export/`.

use crate::hv::{HvScale, feasible_points, front_of, hv_curve};
use crate::plot::{ConstraintLine, Curve, ParetoPlot, curves_plot, pareto_plot};
use crate::rundir::write_atomic;
use anyhow::{Context, Result};
use nas_core::{Comparison, Problem, Trial};
use serde::Serialize;
use std::path::Path;

/// One member of the final front, as written to `pareto.json` and `export/`.
#[derive(Clone, Debug, Serialize)]
pub struct FrontMember<'a> {
    /// Space name.
    pub space: &'a str,
    /// Stable id.
    pub arch_id: String,
    /// Native notation (NB201 string, DARTS genotype, ...).
    pub arch: &'a str,
    /// All metrics of the trial.
    pub metrics: &'a nas_core::MetricMap,
    /// Trial index in the run.
    pub trial: usize,
}

/// `pareto.json`.
#[derive(Debug, Serialize)]
struct ParetoFile<'a> {
    objectives: &'a [nas_core::Objective],
    constraints: Vec<String>,
    trials: usize,
    failed: usize,
    hypervolume: Option<f64>,
    hypervolume_kind: Option<&'a str>,
    front: Vec<FrontMember<'a>>,
}

/// Writes `pareto.json`, `pareto.svg/png`, `hypervolume.svg` and `export/`.
/// `scale` is the true-front normalisation when known.
pub fn write_reports(
    dir: &Path,
    space: &str,
    problem: &Problem,
    trials: &[Trial],
    scale: Option<&HvScale>,
    png: bool,
) -> Result<()> {
    let front_idx = front_of(problem, trials);
    let members: Vec<FrontMember<'_>> = front_idx
        .iter()
        .map(|&i| FrontMember {
            space,
            arch_id: trials[i].arch_id.to_string(),
            arch: &trials[i].arch,
            metrics: &trials[i].metrics,
            trial: trials[i].index,
        })
        .collect();
    let pts: Vec<Vec<f64>> = feasible_points(problem, trials).into_iter().map(|(_, v)| v).collect();
    let scale = scale.cloned().or_else(|| HvScale::from_points(&pts));
    let file = ParetoFile {
        objectives: &problem.objectives,
        constraints: problem.constraints.iter().map(|c| c.to_string()).collect(),
        trials: trials.len(),
        failed: trials.iter().filter(|t| !t.is_ok()).count(),
        hypervolume: scale.as_ref().map(|s| s.value(&pts)),
        hypervolume_kind: scale.as_ref().map(|s| s.label()),
        front: members.clone(),
    };
    write_atomic(&dir.join("pareto.json"), serde_json::to_string_pretty(&file)?.as_bytes())?;
    export(dir, &members)?;
    pareto_plot(
        &pareto_data(space, problem, trials, &front_idx),
        &dir.join("pareto.svg"),
        png.then(|| dir.join("pareto.png")).as_deref(),
    )
    .context("writing pareto plot")?;
    if let Some(s) = &scale {
        let curve = hv_curve(problem, trials, s);
        let c = Curve {
            name: s.label().into(),
            points: curve.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)).collect(),
            band: None,
        };
        curves_plot(
            &format!("{} over evaluations", s.label()),
            "distinct architectures evaluated",
            s.label(),
            &[c],
            &dir.join("hypervolume.svg"),
            None,
        )
        .context("writing hypervolume plot")?;
    }
    crate::diff_report::write_differentiable_plots(dir).context("writing the differentiable search's plots")?;
    crate::rl_report::write_controller_plots(dir).context("writing the controller's plots")?;
    crate::eas_report::write_eas_plots(dir).context("writing the EAS lineage plots")?;
    Ok(())
}

/// Writes `export/<rank>_<arch_id>.json` for each front member (the folder is
/// rebuilt from scratch).
pub fn export(dir: &Path, members: &[FrontMember<'_>]) -> Result<()> {
    let out = dir.join("export");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    for (rank, m) in members.iter().enumerate() {
        let path = out.join(format!("{rank:03}_{}.json", m.arch_id));
        write_atomic(&path, serde_json::to_string_pretty(m)?.as_bytes())?;
    }
    Ok(())
}

fn pareto_data(space: &str, problem: &Problem, trials: &[Trial], front_idx: &[usize]) -> ParetoPlot {
    let objs = &problem.objectives;
    // x: second objective (usually the hardware cost), y: first (usually accuracy);
    // a single objective is drawn against the trial index.
    let xy = |t: &Trial| -> Option<(f64, f64)> {
        let y = *t.metrics.get(&objs[0].metric)?;
        let x = match objs.get(1) {
            Some(o) => *t.metrics.get(&o.metric)?,
            None => t.index as f64,
        };
        Some((x, y))
    };
    let (mut feasible, mut infeasible) = (Vec::new(), Vec::new());
    for t in trials.iter().filter(|t| t.is_ok()) {
        if let Some(p) = xy(t) {
            if problem.violation(&t.metrics) == 0.0 { feasible.push(p) } else { infeasible.push(p) }
        }
    }
    let constraints = problem
        .constraints
        .iter()
        .filter_map(|c| {
            let vertical = objs.get(1).is_some_and(|o| o.metric == c.metric);
            let horizontal = objs[0].metric == c.metric;
            (vertical || horizontal).then(|| ConstraintLine {
                vertical,
                value: c.bound,
                label: format!("{} {} {}", c.metric, if c.cmp == Comparison::AtMost { "<=" } else { ">=" }, c.bound),
            })
        })
        .collect();
    ParetoPlot {
        title: format!("{space}: {} trials, Pareto front", trials.len()),
        x_label: objs.get(1).map_or("trial".to_string(), |o| o.metric.label()),
        y_label: objs[0].metric.label(),
        feasible,
        infeasible,
        front: front_idx.iter().filter_map(|&i| xy(&trials[i])).collect(),
        constraints,
    }
}
