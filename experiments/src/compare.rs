//! `hwnas compare`: several strategies over several seeds, HV ratio against budget.

use crate::config::{ExperimentConfig, Section};
use crate::hv::{HvScale, feasible_points, hv_curve};
use crate::plot::{Curve, curves_plot};
use crate::rundir::write_atomic;
use crate::setup::{Build, Setup};
use anyhow::{Result, bail};
use nas_core::stats::MeanStd;
use nas_core::{Registry, Search, SearchConfig, Trial};
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// Mean and standard deviation of one strategy at one budget.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Evaluations.
    pub budget: usize,
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds.
    pub std: f64,
}

/// Results of one strategy.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyResult {
    /// Strategy name.
    pub strategy: String,
    /// Mean ± std at each reported budget.
    pub at: Vec<Cell>,
    /// Mean curve over all evaluations.
    pub mean_curve: Vec<f64>,
    /// Std curve over all evaluations.
    pub std_curve: Vec<f64>,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// `HV ratio` (true front known) or `normalised HV` (front of all runs).
    pub measure: String,
    /// Seeds per strategy.
    pub seeds: usize,
    /// Per strategy.
    pub results: Vec<StrategyResult>,
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = MeanStd::of(v);
    (m.mean, m.std)
}

/// The budgets reported by default: a quarter, a half and the whole budget, plus
/// 100/200/400 when inside it.
pub fn default_budgets(budget: usize) -> Vec<usize> {
    let mut b: Vec<usize> = vec![budget / 4, budget / 2, budget, 100, 200, 400];
    b.retain(|&x| x > 0 && x <= budget);
    b.sort_unstable();
    b.dedup();
    b
}

/// Runs the comparison; writes `compare.json` and `compare.svg/png` into `out`.
pub fn compare(
    cfg: &ExperimentConfig,
    strategies: &[String],
    seeds: usize,
    budgets: &[usize],
    out: &Path,
    registry: &Registry,
) -> Result<Comparison> {
    if seeds == 0 {
        bail!("--seeds must be >= 1");
    }
    let mut configs = Vec::new();
    for s in strategies {
        let mut c = cfg.clone();
        if c.strategy.kind != *s {
            c.strategy = Section::of_kind(s);
        }
        c.validate("--strategies", registry)?;
        configs.push(c);
    }
    let setup = Setup::new(cfg, registry, Build::All)?;
    let runs: Vec<Vec<Vec<Trial>>> =
        configs.iter().map(|c| run_all(c, &setup, registry, seeds)).collect::<Result<_>>()?;
    let problem = cfg.problem();
    let true_front = setup.evals.true_front.clone();
    let scale = match true_front.as_deref().and_then(HvScale::from_true_front) {
        Some(s) => s,
        None => {
            let all: Vec<Vec<f64>> =
                runs.iter().flatten().flat_map(|t| feasible_points(&problem, t).into_iter().map(|(_, v)| v)).collect();
            HvScale::from_points(&all).ok_or_else(|| anyhow::anyhow!("no feasible trials to compare"))?
        }
    };
    let mut results = Vec::new();
    let mut curves = Vec::new();
    for (c, per_seed) in configs.iter().zip(&runs) {
        let name = &c.strategy.kind;
        let curves_s: Vec<Vec<f64>> = per_seed.iter().map(|t| hv_curve(&problem, t, &scale)).collect();
        let len = curves_s.iter().map(Vec::len).max().unwrap_or(0);
        let at_k = |k: usize| -> Vec<f64> {
            curves_s.iter().map(|c| c.get(k.min(c.len()).saturating_sub(1)).copied().unwrap_or(0.0)).collect()
        };
        let (mut mean_curve, mut std_curve) = (Vec::new(), Vec::new());
        for k in 1..=len {
            let (m, s) = mean_std(&at_k(k));
            mean_curve.push(m);
            std_curve.push(s);
        }
        let at = budgets
            .iter()
            .map(|&b| {
                let (mean, std) = mean_std(&at_k(b));
                Cell { budget: b, mean, std }
            })
            .collect();
        curves.push(Curve {
            name: name.clone(),
            points: mean_curve.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)).collect(),
            band: Some(std_curve.clone()),
        });
        results.push(StrategyResult { strategy: name.clone(), at, mean_curve, std_curve });
    }
    std::fs::create_dir_all(out)?;
    let cmp = Comparison { measure: scale.label().into(), seeds, results };
    write_atomic(&out.join("compare.json"), serde_json::to_string_pretty(&cmp)?.as_bytes())?;
    curves_plot(
        &format!("{}: mean ± std over {seeds} seeds", scale.label()),
        "distinct architectures evaluated",
        scale.label(),
        &curves,
        &out.join("compare.svg"),
        cfg.output.png.then(|| out.join("compare.png")).as_deref(),
    )?;
    Ok(cmp)
}

fn run_all(cfg: &ExperimentConfig, setup: &Setup, registry: &Registry, seeds: usize) -> Result<Vec<Vec<Trial>>> {
    let plan = cfg.plan("--strategies", registry)?;
    (0..seeds)
        .into_par_iter()
        .map(|k| {
            let seed = cfg.seed.wrapping_add(k as u64);
            let mut strategy =
                crate::setup::build_strategy(registry, &plan, &setup.space, &setup.evals, &setup.problem)?;
            let sc = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed, max_idle_asks: 50 };
            let out =
                Search::new(&setup.space, setup.evals.evaluator.as_ref(), &setup.problem, sc).run(strategy.as_mut())?;
            Ok(out.trials)
        })
        .collect()
}

/// Renders the comparison as a text table.
pub fn format_table(cmp: &Comparison) -> String {
    let budgets: Vec<usize> = cmp.results.first().map(|r| r.at.iter().map(|c| c.budget).collect()).unwrap_or_default();
    let mut s = format!("{} (mean ± std over {} seeds)\n{:<12}", cmp.measure, cmp.seeds, "strategy");
    for b in &budgets {
        s.push_str(&format!("{:>18}", format!("@{b}")));
    }
    s.push('\n');
    for r in &cmp.results {
        s.push_str(&format!("{:<12}", r.strategy));
        for c in &r.at {
            s.push_str(&format!("{:>18}", format!("{:.4} ± {:.4}", c.mean, c.std)));
        }
        s.push('\n');
    }
    s
}
