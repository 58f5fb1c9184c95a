//! `hwnas compare`: several strategies over several seeds, HV ratio against budget.

use crate::config::{ExperimentConfig, StrategyConfig};
use crate::hv::{HvScale, feasible_points, hv_curve};
use crate::plot::{Curve, curves_plot};
use crate::rundir::write_atomic;
use crate::setup::{RunnableSpace, build_evaluators, build_strategy, load_data};
use anyhow::{Result, bail};
use nas_core::{Search, SearchConfig, Trial};
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

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
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (m, var.sqrt())
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
) -> Result<Comparison> {
    if seeds == 0 {
        bail!("--seeds must be >= 1");
    }
    let mut configs = Vec::new();
    for s in strategies {
        let sc = if cfg.strategy.name() == s {
            cfg.strategy.clone()
        } else {
            StrategyConfig::by_name(s).ok_or_else(|| {
                anyhow::anyhow!("unknown strategy `{s}`; allowed: {}", crate::config::STRATEGIES.join(", "))
            })?
        };
        configs.push(sc);
    }
    let data = load_data(cfg)?;
    let runs: Vec<Vec<Vec<Trial>>> =
        crate::with_space!(cfg, data.as_ref(), |space| run_all(cfg, space, data.as_ref(), &configs, seeds)?);
    let problem = cfg.problem();
    let true_front = crate::with_space!(cfg, data.as_ref(), |space| {
        let no_train = {
            let mut c = cfg.clone();
            c.evaluators.retain(|e| !matches!(e, crate::config::EvaluatorConfig::Train { .. }));
            c
        };
        build_evaluators(&no_train, &space, None)?.true_front
    });
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
    for (sc, per_seed) in configs.iter().zip(&runs) {
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
            name: sc.name().into(),
            points: mean_curve.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v)).collect(),
            band: Some(std_curve.clone()),
        });
        results.push(StrategyResult { strategy: sc.name().into(), at, mean_curve, std_curve });
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

fn run_all<S: RunnableSpace>(
    cfg: &ExperimentConfig,
    space: Arc<S>,
    data: Option<&crate::setup::DataSplit>,
    configs: &[StrategyConfig],
    seeds: usize,
) -> Result<Vec<Vec<Vec<Trial>>>> {
    let evals = build_evaluators(cfg, &space, data)?;
    let problem = cfg.problem();
    configs
        .iter()
        .map(|sc| {
            (0..seeds)
                .into_par_iter()
                .map(|k| {
                    let seed = cfg.seed.wrapping_add(k as u64);
                    let mut strategy = build_strategy::<S>(sc, &evals, &problem);
                    let sc = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed, max_idle_asks: 50 };
                    let out =
                        Search::new(space.as_ref(), evals.evaluator.as_ref(), &problem, sc).run(strategy.as_mut())?;
                    Ok(out.trials)
                })
                .collect::<Result<Vec<_>>>()
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
