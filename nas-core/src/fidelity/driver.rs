//! The multi-fidelity search driver: a proposal strategy for new candidates, a
//! [`Scheduler`] for who runs at which budget, a budget counted in epochs.
//!
//! Guarantees, as for [`Search`](crate::search::Search):
//! - **Determinism**: a candidate's evaluation seed depends only on the run
//!   seed and its id (the same at every rung), jobs are recorded in the order
//!   planned, and the scheduler and the strategy see results in that order.
//! - **Resume**: the recorded evaluations are replayed (looked up by candidate
//!   and epochs) instead of run again, which rebuilds the scheduler's and the
//!   strategy's state exactly; only missing evaluations run.
//! - **Valid metrics**: values outside their metric's domain fail the trial.

use super::scheduler::{Job, Scheduler};
use super::{CurvePoint, FidelityRecord, FidelitySupport, SchedulerConfig, curve_metrics, trial_epochs};
use crate::arch::{ArchId, Architecture};
use crate::error::NasError;
use crate::evaluator::{EvalContext, Evaluator};
use crate::metric::Problem;
use crate::search::{SearchConfig, SearchEvent, SearchObserver, SearchOutcome, StopReason};
use crate::seed::derive_seed;
use crate::space::SearchSpace;
use crate::strategy::{Evaluated, SearchStrategy};
use crate::trial::Trial;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// The driver (see the module docs). `config.budget` counts epochs.
pub struct FidelitySearch<'a, S: SearchSpace> {
    space: &'a S,
    evaluator: &'a dyn Evaluator<S::Arch>,
    problem: &'a Problem,
    config: SearchConfig,
    scheduler: SchedulerConfig,
    observers: Vec<&'a dyn SearchObserver>,
    prior: HashMap<(ArchId, u32), Trial>,
    worker: Option<String>,
}

impl<'a, S: SearchSpace> FidelitySearch<'a, S> {
    /// A driver for `space`, evaluating with `evaluator` against `problem`,
    /// scheduling with `scheduler`; `config.budget` is in epochs.
    pub fn new(
        space: &'a S,
        evaluator: &'a dyn Evaluator<S::Arch>,
        problem: &'a Problem,
        config: SearchConfig,
        scheduler: SchedulerConfig,
    ) -> Self {
        FidelitySearch {
            space,
            evaluator,
            problem,
            config,
            scheduler,
            observers: Vec::new(),
            prior: HashMap::new(),
            worker: None,
        }
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: &'a dyn SearchObserver) -> Self {
        self.observers.push(observer);
        self
    }

    /// Supplies the records of an interrupted run for replay.
    pub fn resume_from(mut self, trials: impl IntoIterator<Item = Trial>) -> Self {
        for t in trials {
            if let Some(e) = trial_epochs(&t) {
                self.prior.insert((t.arch_id, e), t);
            }
        }
        self
    }

    /// Tags new trials with a worker name.
    pub fn worker(mut self, name: impl Into<String>) -> Self {
        self.worker = Some(name.into());
        self
    }

    fn emit(&self, event: &SearchEvent<'_>) {
        for o in &self.observers {
            o.on_event(event);
        }
    }

    /// The problem results at `epochs` are ranked by: the zero-cost one at a
    /// zero-epoch rung.
    fn problem_at(&self, epochs: u32, zero_rung: &'a Problem) -> &'a Problem {
        if epochs == 0 { zero_rung } else { self.problem }
    }

    fn min_vector(problem: &Problem, trial: &Trial) -> (Option<Vec<f64>>, f64) {
        if !trial.is_ok() {
            return (None, f64::INFINITY);
        }
        match problem.min_vector(&trial.metrics) {
            Some(v) => (Some(v), problem.violation(&trial.metrics)),
            None => (None, f64::INFINITY),
        }
    }

    /// Evaluates `arch` at `epochs` (a fresh trial; the caller completes its record).
    fn evaluate(
        &self,
        arch: &S::Arch,
        epochs: u32,
        problem: &Problem,
        clock: &crate::trial::RunClock,
    ) -> Result<Trial, NasError> {
        let id = arch.id();
        let seed = derive_seed(self.config.seed, id.0);
        let progress = |message: &str, fraction: f64| {
            self.emit(&SearchEvent::EvalProgress { arch_id: id, message, fraction });
        };
        let ctx = EvalContext { seed, progress: Some(&progress), fidelity: Some(epochs), weights: None };
        let start = Instant::now();
        let result = self.evaluator.evaluate(arch, &ctx);
        let eval_seconds = start.elapsed().as_secs_f64();
        let (status, reason, metrics) = crate::search::judge(self.evaluator, problem, result)?;
        let mut trial = Trial {
            index: 0,
            arch_id: id,
            arch: arch.notation(),
            status,
            reason,
            metrics,
            seed,
            eval_seconds,
            worker: self.worker.clone(),
            extra: Default::default(),
        };
        clock.stamp(&mut trial);
        Ok(trial)
    }

    /// Runs the search until the next job does not fit in the budget of epochs,
    /// or nothing is left to run.
    pub fn run(&self, strategy: &mut dyn SearchStrategy<S>) -> Result<SearchOutcome, NasError> {
        if self.config.batch_size == 0 {
            return Err(NasError::InvalidValue {
                field: "batch_size".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        let mut scheduler = Scheduler::new(&self.scheduler, self.problem)?;
        let zero_rung = self.scheduler.zero_rung_problem(self.problem);
        let clock = crate::trial::RunClock::new(self.prior.values());
        let rungs = scheduler.rungs().to_vec();
        // An evaluator that continues a candidate from its checkpoint is
        // charged only the epochs it adds.
        let continues = matches!(self.evaluator.fidelity(), FidelitySupport::Trainable { continues: true, .. });
        let cost_of = |curves: &HashMap<ArchId, Vec<CurvePoint>>, j: &Job| -> u32 {
            let e = rungs[j.rung];
            match curves.get(&j.arch).and_then(|c| c.last()) {
                Some(p) if continues && p.epochs < e => e - p.epochs,
                _ => e,
            }
        };
        let budget = self.config.budget as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let mut trials: Vec<Trial> = Vec::new();
        let mut archs: HashMap<ArchId, S::Arch> = HashMap::new();
        let mut curves: HashMap<ArchId, Vec<CurvePoint>> = HashMap::new();
        let mut first_result: HashMap<ArchId, usize> = HashMap::new();
        let mut spent: u64 = 0;
        let mut idle = 0usize;
        self.emit(&SearchEvent::Started { budget: self.config.budget, resumed: self.prior.len() });
        let reason = 'search: loop {
            let plan = scheduler.plan(self.config.batch_size);
            if plan.is_empty() {
                break StopReason::Exhausted;
            }
            // New candidates from the strategy: distinct, never seen.
            let proposals =
                if plan.new_at.is_empty() { Vec::new() } else { strategy.ask(self.space, plan.new_at.len(), &mut rng) };
            if let Some(e) = strategy.failure() {
                return Err(e);
            }
            let mut fresh: Vec<S::Arch> = Vec::new();
            let mut in_batch = HashSet::new();
            for a in &proposals {
                let id = a.id();
                if fresh.len() < plan.new_at.len() && !archs.contains_key(&id) && in_batch.insert(id) {
                    fresh.push(a.clone());
                }
            }
            let fresh_ids: Vec<ArchId> = fresh.iter().map(Architecture::id).collect();
            scheduler.assign_new(&fresh_ids, plan.new_at.len());
            for a in fresh {
                archs.insert(a.id(), a);
            }
            let mut jobs: Vec<Job> = plan.promotions.clone();
            jobs.extend(fresh_ids.iter().zip(&plan.new_at).map(|(a, r)| Job { arch: *a, rung: *r }));
            if jobs.is_empty() {
                idle += 1;
                if idle >= self.config.max_idle_asks.max(1) || proposals.is_empty() {
                    break StopReason::Exhausted;
                }
                continue;
            }
            idle = 0;
            // Jobs run in plan order while they fit in the budget.
            let mut fits = 0;
            let mut committed = spent;
            for j in &jobs {
                let cost = u64::from(cost_of(&curves, j));
                if committed + cost > budget {
                    break;
                }
                committed += cost;
                fits += 1;
            }
            let over_budget = fits < jobs.len();
            jobs.truncate(fits);
            // Replay what the earlier run recorded; evaluate the rest in parallel.
            let results: Vec<Result<(Trial, bool), NasError>> = jobs
                .par_iter()
                .map(|j| {
                    let epochs = rungs[j.rung];
                    match self.prior.get(&(j.arch, epochs)) {
                        Some(t) => Ok((t.clone(), true)),
                        None => self
                            .evaluate(&archs[&j.arch], epochs, self.problem_at(epochs, &zero_rung), &clock)
                            .map(|t| (t, false)),
                    }
                })
                .collect();
            for (j, r) in jobs.iter().zip(results) {
                let (mut t, replayed) = r?;
                let epochs = rungs[j.rung];
                let cost = cost_of(&curves, j);
                spent += u64::from(cost);
                let curve = curves.entry(j.arch).or_default();
                if t.is_ok() {
                    let problem = self.problem_at(epochs, &zero_rung);
                    curve.push(CurvePoint { epochs, metrics: curve_metrics(problem, &t.metrics) });
                }
                t.index = trials.len();
                FidelityRecord { epochs, rung: j.rung, cost_epochs: cost, spent_epochs: spent, curve: curve.clone() }
                    .store(&mut t);
                let (objectives, violation) = Self::min_vector(self.problem_at(epochs, &zero_rung), &t);
                scheduler.report(j.arch, j.rung, objectives, violation);
                self.emit(&SearchEvent::TrialFinished {
                    trial: &t,
                    replayed,
                    done: spent.min(budget) as usize,
                    budget: self.config.budget,
                });
                if let std::collections::hash_map::Entry::Vacant(e) = first_result.entry(j.arch) {
                    e.insert(trials.len());
                }
                trials.push(t);
            }
            // The strategy hears each proposal's first result, in the order asked.
            let answers: Vec<Evaluated<S::Arch>> = proposals
                .iter()
                .filter_map(|a| {
                    let i = *first_result.get(&a.id())?;
                    let epochs = trial_epochs(&trials[i]).unwrap_or(1);
                    let (objectives, violation) = Self::min_vector(self.problem_at(epochs, &zero_rung), &trials[i]);
                    Some(Evaluated {
                        arch: a.clone(),
                        id: a.id(),
                        objectives,
                        violation,
                        metrics: trials[i].metrics.clone(),
                    })
                })
                .collect();
            if !proposals.is_empty() {
                strategy.tell(self.space, &answers);
            }
            self.emit(&SearchEvent::BatchFinished { trials: &trials, budget: self.config.budget });
            if over_budget {
                break 'search StopReason::Budget;
            }
        };
        self.emit(&SearchEvent::Finished { done: trials.len(), reason });
        Ok(SearchOutcome { trials, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::{EvalContext, EvalError};
    use crate::fidelity::{FidelitySupport, final_trials, spent_epochs};
    use crate::metric::{Metric, MetricMap};
    use crate::strategy::RandomSearch;
    use crate::testing::{ToyArch, ToySpace, toy_objectives, toy_problem};

    /// The toy objectives, with accuracy reduced by `30 / epochs` (a learning
    /// curve that rises with the budget and keeps the ranking).
    struct Curve;

    impl Evaluator<ToyArch> for Curve {
        fn name(&self) -> String {
            "curve".into()
        }
        fn provides(&self) -> Vec<Metric> {
            vec![Metric::Accuracy, Metric::LatencyMs]
        }
        fn evaluate(&self, a: &ToyArch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
            let (acc, lat) = toy_objectives(a);
            let e = f64::from(ctx.fidelity.unwrap_or(27));
            Ok(MetricMap::from([(Metric::Accuracy, (acc - 30.0 / e).max(0.0)), (Metric::LatencyMs, lat)]))
        }
        fn fidelity(&self) -> FidelitySupport {
            FidelitySupport::Trainable { max_epochs: 27, continues: false }
        }
    }

    fn config(kind: &str) -> SchedulerConfig {
        serde_json::from_value(serde_json::json!({"kind": kind, "min_epochs": 1, "max_epochs": 27})).expect("cfg")
    }

    fn run(kind: &str, budget: usize, prior: Vec<Trial>) -> SearchOutcome {
        let problem = toy_problem();
        let cfg = SearchConfig { budget, batch_size: 4, seed: 7, max_idle_asks: 50 };
        FidelitySearch::new(&ToySpace, &Curve, &problem, cfg, config(kind))
            .resume_from(prior)
            .run(&mut RandomSearch::<ToyArch>::default())
            .expect("runs")
    }

    #[test]
    fn the_budget_counts_epochs_and_is_never_exceeded() {
        for kind in ["successive_halving", "hyperband", "asha"] {
            let out = run(kind, 300, Vec::new());
            let total: u64 =
                out.trials.iter().map(|t| u64::from(crate::fidelity::trial_epochs(t).expect("epochs"))).sum();
            assert!(total <= 300, "{kind}: {total}");
            assert_eq!(spent_epochs(out.trials.last().expect("trials")), Some(total), "{kind}");
            assert_eq!(out.reason, StopReason::Budget, "{kind}");
            // Some candidates reached the top rung, most did not.
            let fin = final_trials(&out.trials);
            let top = fin.iter().filter(|t| crate::fidelity::trial_epochs(t) == Some(27)).count();
            assert!(top >= 1 && top < fin.len(), "{kind}: {top} of {}", fin.len());
        }
    }

    /// [`Curve`], continuing candidates from their checkpoints.
    struct Continuing;

    impl Evaluator<ToyArch> for Continuing {
        fn name(&self) -> String {
            "continuing".into()
        }
        fn provides(&self) -> Vec<Metric> {
            Curve.provides()
        }
        fn evaluate(&self, a: &ToyArch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
            Curve.evaluate(a, ctx)
        }
        fn fidelity(&self) -> FidelitySupport {
            FidelitySupport::Trainable { max_epochs: 27, continues: true }
        }
    }

    #[test]
    fn a_continuing_evaluator_is_charged_only_the_epochs_it_adds() {
        let problem = toy_problem();
        let cfg = SearchConfig { budget: 300, batch_size: 4, seed: 7, max_idle_asks: 50 };
        let out = FidelitySearch::new(&ToySpace, &Continuing, &problem, cfg, config("successive_halving"))
            .run(&mut RandomSearch::<ToyArch>::default())
            .expect("runs");
        let mut charged = 0u64;
        for t in &out.trials {
            let r = FidelityRecord::of(t).expect("record");
            let before = r.curve.iter().rev().nth(1).map_or(0, |p| p.epochs);
            assert_eq!(r.cost_epochs, r.epochs - before, "{}: {:?}", t.arch, r.curve);
            charged += u64::from(r.cost_epochs);
            assert_eq!(r.spent_epochs, charged);
        }
        // A bracket of 27 + 9 + 3 + 1 candidates costs 27*1 + 9*2 + 3*6 + 1*18 = 81
        // epochs instead of 108: more brackets fit in the same budget.
        let at_top = final_trials(&out.trials).iter().filter(|t| crate::fidelity::trial_epochs(t) == Some(27)).count();
        assert!(at_top >= 3, "{at_top}");
    }

    #[test]
    fn a_promoted_candidate_carries_its_learning_curve() {
        let out = run("successive_halving", 200, Vec::new());
        let top = out.trials.iter().find(|t| crate::fidelity::trial_epochs(t) == Some(27)).expect("one at the top");
        let rec = FidelityRecord::of(top).expect("record");
        let epochs: Vec<u32> = rec.curve.iter().map(|p| p.epochs).collect();
        assert_eq!(epochs, vec![1, 3, 9, 27]);
        let acc: Vec<f64> = rec.curve.iter().map(|p| p.metrics[&Metric::Accuracy]).collect();
        assert!(acc.windows(2).all(|w| w[0] < w[1]), "{acc:?}");
        assert_eq!(rec.rung, 3);
    }

    #[test]
    fn same_seed_same_run_and_a_resumed_run_ends_the_same() {
        for kind in ["successive_halving", "hyperband", "asha"] {
            let a = run(kind, 250, Vec::new());
            let b = run(kind, 250, Vec::new());
            let key = |o: &SearchOutcome| -> Vec<(String, Option<u32>)> {
                o.trials.iter().map(|t| (t.arch.clone(), crate::fidelity::trial_epochs(t))).collect()
            };
            assert_eq!(key(&a), key(&b), "{kind}: deterministic");
            // Interrupted after a third of its records, then resumed.
            let cut: Vec<Trial> = a.trials[..a.trials.len() / 3].to_vec();
            let c = run(kind, 250, cut);
            assert_eq!(key(&a), key(&c), "{kind}: resume replays");
            for (x, y) in a.trials.iter().zip(&c.trials) {
                assert_eq!(x.metrics, y.metrics);
            }
        }
    }
}
