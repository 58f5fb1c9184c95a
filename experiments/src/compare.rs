//! `hwnas compare`: several strategies (and multi-fidelity schedulers) over
//! several seeds, HV ratio against budget.
//!
//! With schedulers, every arm gets the same budget of training epochs: a plain
//! arm (`none`) evaluates `budget / top rung` candidates at the top rung, a
//! scheduler arm spends the epochs as it schedules them, and the curves are
//! drawn against epochs spent.
//!
//! With `by_time` (`--by-time`), the runs go one after the other (each with the
//! config's parallelism, alone on the machine) and the curves are drawn against
//! wall-clock seconds ([`Trial::wall_seconds`]); the reported budgets are
//! seconds.

use crate::config::{ExperimentConfig, Section};
use crate::hv::{HvScale, feasible_points, hv_curve};
use crate::plot::{Curve, curves_plot};
use crate::rundir::write_atomic;
use crate::setup::{Build, Setup};
use anyhow::{Result, bail};
use nas_core::fidelity::spent_epochs;
use nas_core::stats::MeanStd;
use nas_core::{FidelitySearch, Registry, SchedulerConfig, SchedulerKind, Search, SearchConfig, Trial};
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
    /// The budgets of the curve points (every evaluation; in epochs mode every
    /// `budget / 500` epochs; in time mode 200 points in seconds).
    pub x: Vec<f64>,
    /// Mean curve at `x`.
    pub mean_curve: Vec<f64>,
    /// Std curve at `x`.
    pub std_curve: Vec<f64>,
    /// Wall-clock seconds of a whole run, mean ± std over seeds (time mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_seconds: Option<(f64, f64)>,
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
/// The scheduler of arm `name` (`config`: the config's own; `none`: none; or a
/// kind, with the rungs and settings of the config's `[scheduler]`).
fn arm_scheduler(cfg: &ExperimentConfig, name: &str) -> Result<Option<SchedulerConfig>> {
    let kind = match name {
        "config" => return Ok(cfg.scheduler.clone()),
        "none" => return Ok(None),
        "asha" => SchedulerKind::Asha,
        "hyperband" => SchedulerKind::Hyperband,
        "successive_halving" => SchedulerKind::SuccessiveHalving,
        other => {
            bail!("--schedulers: `{other}` is unknown; allowed: config, none, asha, hyperband, successive_halving")
        }
    };
    match &cfg.scheduler {
        Some(base) => Ok(Some(SchedulerConfig { kind, ..base.clone() })),
        None => bail!("--schedulers {name} needs a [scheduler] section in the config (its rungs and eta)"),
    }
}

/// How the curves are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Against evaluations (epochs with schedulers); seeds run in parallel.
    Budget,
    /// Against wall-clock seconds; runs go one at a time.
    Time,
}

/// Compares `strategies` x `schedulers` over `seeds` seeds (see the module docs).
#[allow(clippy::too_many_arguments)]
pub fn compare(
    cfg: &ExperimentConfig,
    strategies: &[String],
    schedulers: &[String],
    seeds: usize,
    budgets: &[usize],
    axis: Axis,
    out: &Path,
    registry: &Registry,
) -> Result<Comparison> {
    if seeds == 0 {
        bail!("--seeds must be >= 1");
    }
    // Epochs mode when any arm schedules: the budget counts epochs and a plain
    // arm evaluates budget / top-rung candidates.
    let top_rung = match &cfg.scheduler {
        Some(s) => Some(u64::from(*s.rungs()?.last().unwrap_or(&1))),
        None => None,
    };
    let mut configs = Vec::new();
    let mut names = Vec::new();
    for s in strategies {
        for sched in schedulers {
            let mut c = cfg.clone();
            if c.strategy.kind != *s {
                c.strategy = Section::of_kind(s);
            }
            c.scheduler = arm_scheduler(cfg, sched)?;
            if c.scheduler.is_none()
                && let Some(top) = top_rung
            {
                c.budget = (cfg.budget as u64 / top).max(1) as usize;
            }
            c.validate("--strategies", registry)?;
            names.push(match &c.scheduler {
                Some(x) if schedulers.len() > 1 || sched != "config" => format!("{s}+{}", x.kind.name()),
                _ => s.clone(),
            });
            configs.push(c);
        }
    }
    let setup = Setup::new(cfg, registry, Build::All)?;
    let runs: Vec<Vec<Vec<Trial>>> =
        configs.iter().map(|c| run_all(c, &setup, registry, seeds, axis)).collect::<Result<_>>()?;
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
    if axis == Axis::Time {
        return time_comparison(cfg, &problem, &scale, &runs, &names, seeds, budgets, out);
    }
    let mut results = Vec::new();
    let mut curves = Vec::new();
    for (per_seed, name) in runs.iter().zip(&names) {
        let curves_s: Vec<Vec<f64>> = per_seed
            .iter()
            .map(|t| {
                let hv = hv_curve(&problem, t, &scale);
                match top_rung {
                    Some(top) => per_epoch(t, &hv, top, cfg.budget as u64),
                    None => hv,
                }
            })
            .collect();
        let len = curves_s.iter().map(Vec::len).max().unwrap_or(0);
        let at_k = |k: usize| -> Vec<f64> {
            curves_s.iter().map(|c| c.get(k.min(c.len()).saturating_sub(1)).copied().unwrap_or(0.0)).collect()
        };
        // Per-epoch curves are long: keep about 500 points of them.
        let step = if top_rung.is_some() { (len / 500).max(1) } else { 1 };
        let (mut x, mut mean_curve, mut std_curve) = (Vec::new(), Vec::new(), Vec::new());
        for k in (1..=len).filter(|k| k % step == 0 || *k == len) {
            let (m, s) = mean_std(&at_k(k));
            x.push(k);
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
            points: x.iter().zip(&mean_curve).map(|(k, v)| (*k as f64, *v)).collect(),
            band: Some(std_curve.clone()),
        });
        let x = x.into_iter().map(|k| k as f64).collect();
        results.push(StrategyResult { strategy: name.clone(), at, x, mean_curve, std_curve, run_seconds: None });
    }
    let x_label = if top_rung.is_some() { "epochs of training spent" } else { "distinct architectures evaluated" };
    write_comparison(cfg, &scale, seeds, results, &curves, x_label, out)
}

/// Writes `compare.json` and the curves plot into `out`.
fn write_comparison(
    cfg: &ExperimentConfig,
    scale: &HvScale,
    seeds: usize,
    results: Vec<StrategyResult>,
    curves: &[Curve],
    x_label: &str,
    out: &Path,
) -> Result<Comparison> {
    std::fs::create_dir_all(out)?;
    let cmp = Comparison { measure: scale.label().into(), seeds, results };
    write_atomic(&out.join("compare.json"), serde_json::to_string_pretty(&cmp)?.as_bytes())?;
    curves_plot(
        &format!("{}: mean ± std over {seeds} seeds", scale.label()),
        x_label,
        scale.label(),
        curves,
        &out.join("compare.svg"),
        cfg.output.png.then(|| out.join("compare.png")).as_deref(),
    )?;
    Ok(cmp)
}

/// A run's HV curve per record resampled per epoch (index `e - 1` = after `e`
/// epochs): a record's epochs spent are its scheduler record's, or `top` per
/// candidate for a plain run.
fn per_epoch(trials: &[Trial], hv: &[f64], top: u64, budget: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(budget as usize);
    let mut k = 0;
    let mut current = 0.0;
    for e in 1..=budget {
        while k < trials.len() && spent_epochs(&trials[k]).unwrap_or((k as u64 + 1) * top) <= e {
            current = hv[k];
            k += 1;
        }
        out.push(current);
    }
    out
}

/// The time-mode comparison (see the module docs).
#[allow(clippy::too_many_arguments)]
fn time_comparison(
    cfg: &ExperimentConfig,
    problem: &nas_core::Problem,
    scale: &HvScale,
    runs: &[Vec<Vec<Trial>>],
    names: &[String],
    seeds: usize,
    budgets: &[usize],
    out: &Path,
) -> Result<Comparison> {
    // Each run's HV after each record, the records in the order they finished.
    let timed: Vec<Vec<(Vec<f64>, Vec<f64>)>> = runs
        .iter()
        .map(|per_seed| {
            per_seed
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    t.sort_by(|a, b| a.wall_seconds().unwrap_or(0.0).total_cmp(&b.wall_seconds().unwrap_or(0.0)));
                    let hv = hv_curve(problem, &t, scale);
                    (t.iter().map(|r| r.wall_seconds().unwrap_or(0.0)).collect(), hv)
                })
                .collect()
        })
        .collect();
    let end = timed.iter().flatten().filter_map(|(w, _)| w.last().copied()).fold(0.0, f64::max);
    // Default report times: a quarter, half and all of the first arm's mean run.
    let budgets: Vec<usize> = if budgets.is_empty() {
        let first: Vec<f64> = timed[0].iter().map(|(w, _)| w.last().copied().unwrap_or(0.0)).collect();
        let m = nas_core::stats::mean(&first);
        let mut b = vec![(m / 4.0).round() as usize, (m / 2.0).round() as usize, m.round() as usize];
        b.dedup();
        b
    } else {
        budgets.to_vec()
    };
    let at_time = |(w, hv): &(Vec<f64>, Vec<f64>), t: f64| -> f64 {
        let k = w.partition_point(|s| *s <= t);
        if k == 0 { 0.0 } else { hv[k - 1] }
    };
    let mut results = Vec::new();
    let mut curves = Vec::new();
    for (per_seed, name) in timed.iter().zip(names) {
        let x: Vec<f64> = (1..=200).map(|i| end * f64::from(i) / 200.0).collect();
        let (mut mean_curve, mut std_curve) = (Vec::new(), Vec::new());
        for &t in &x {
            let (m, s) = mean_std(&per_seed.iter().map(|r| at_time(r, t)).collect::<Vec<_>>());
            mean_curve.push(m);
            std_curve.push(s);
        }
        let at = budgets
            .iter()
            .map(|&b| {
                let (mean, std) = mean_std(&per_seed.iter().map(|r| at_time(r, b as f64)).collect::<Vec<_>>());
                Cell { budget: b, mean, std }
            })
            .collect();
        let totals: Vec<f64> = per_seed.iter().map(|(w, _)| w.last().copied().unwrap_or(0.0)).collect();
        curves.push(Curve {
            name: name.clone(),
            points: x.iter().zip(&mean_curve).map(|(t, v)| (*t, *v)).collect(),
            band: Some(std_curve.clone()),
        });
        results.push(StrategyResult {
            strategy: name.clone(),
            at,
            x,
            mean_curve,
            std_curve,
            run_seconds: Some(mean_std(&totals)),
        });
    }
    write_comparison(cfg, scale, seeds, results, &curves, "wall-clock seconds", out)
}

pub(crate) fn run_all(
    cfg: &ExperimentConfig,
    setup: &Setup,
    registry: &Registry,
    seeds: usize,
    axis: Axis,
) -> Result<Vec<Vec<Trial>>> {
    let plan = cfg.plan("--strategies", registry)?;
    let one = |k: usize| -> Result<Vec<Trial>> {
        let seed = cfg.seed.wrapping_add(k as u64);
        let mut strategy = crate::setup::build_strategy(
            registry,
            &plan,
            &setup.space,
            &setup.evals,
            &setup.problem,
            crate::setup::StrategyInputs { data: setup.data.as_ref(), workdir: None, quiet: true, budget: cfg.budget },
        )?;
        let sc = SearchConfig { budget: cfg.budget, batch_size: cfg.batch_size, seed, max_idle_asks: 50 };
        let eval = setup.evals.evaluator.as_ref();
        let out = match &cfg.scheduler {
            None => Search::new(&setup.space, eval, &setup.problem, sc).run(strategy.as_mut())?,
            Some(s) => FidelitySearch::new(&setup.space, eval, &setup.problem, sc, s.clone()).run(strategy.as_mut())?,
        };
        Ok(out.trials)
    };
    match axis {
        Axis::Budget => (0..seeds).into_par_iter().map(one).collect(),
        // One run at a time, so that each has the machine to itself.
        Axis::Time => (0..seeds).map(one).collect(),
    }
}

/// Renders the comparison as a text table.
pub fn format_table(cmp: &Comparison) -> String {
    let budgets: Vec<usize> = cmp.results.first().map(|r| r.at.iter().map(|c| c.budget).collect()).unwrap_or_default();
    let timed = cmp.results.iter().any(|r| r.run_seconds.is_some());
    let unit = if timed { "s" } else { "" };
    let mut s = format!("{} (mean ± std over {} seeds)\n{:<28}", cmp.measure, cmp.seeds, "strategy");
    for b in &budgets {
        s.push_str(&format!("{:>18}", format!("@{b}{unit}")));
    }
    if timed {
        s.push_str(&format!("{:>18}", "run seconds"));
    }
    s.push('\n');
    for r in &cmp.results {
        s.push_str(&format!("{:<28}", r.strategy));
        for c in &r.at {
            s.push_str(&format!("{:>18}", format!("{:.4} ± {:.4}", c.mean, c.std)));
        }
        if let Some((m, sd)) = r.run_seconds {
            s.push_str(&format!("{:>18}", format!("{m:.0} ± {sd:.0}")));
        }
        s.push('\n');
    }
    s
}
