//! The search driver: asks a strategy for batches, evaluates them in parallel,
//! records trials and emits events.
//!
//! Guarantees:
//! - **Distinct budget**: the budget counts distinct architectures; an architecture
//!   proposed again is answered from the record, never re-evaluated.
//! - **Determinism**: each evaluation's seed is derived from `(run seed, arch id)`,
//!   batches are told back in the order asked, and the strategy's random stream is
//!   only used on the driver thread — so results are identical for any thread count.
//! - **Valid metrics**: a value outside its metric's domain
//!   ([`Metric::domain`](crate::Metric::domain)) makes a failed trial with the
//!   reason, never a point on the front.
//! - **Resume**: given the trials of an interrupted run, the driver replays them
//!   (the strategy is told the recorded results instead of re-evaluating), which
//!   rebuilds the strategy's exact state; only missing trials are evaluated.

use crate::arch::{ArchId, Architecture};
use crate::error::NasError;
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::metric::{MetricMap, Problem};
use crate::seed::derive_seed;
use crate::space::SearchSpace;
use crate::strategy::{Evaluated, SearchStrategy};
use crate::trial::{Trial, TrialStatus};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Settings of one search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    /// Distinct architectures to evaluate.
    pub budget: usize,
    /// Architectures asked for (and evaluated in parallel) per step.
    pub batch_size: usize,
    /// Run seed.
    pub seed: u64,
    /// Consecutive asks that bring nothing new before the driver stops.
    pub max_idle_asks: usize,
}

impl SearchConfig {
    /// A config with the given budget and seed, batch size 8.
    pub fn new(budget: usize, seed: u64) -> Self {
        SearchConfig { budget, batch_size: 8, seed, max_idle_asks: 50 }
    }
}

/// Why a search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The budget of distinct evaluations was reached.
    Budget,
    /// The strategy proposed nothing new for `max_idle_asks` asks (space exhausted).
    Exhausted,
}

/// Events emitted while searching; observers render them (progress bars, logs, files).
#[derive(Debug)]
#[non_exhaustive]
pub enum SearchEvent<'a> {
    /// The search starts; `resumed` trials come from an earlier run.
    Started {
        /// Budget of distinct evaluations.
        budget: usize,
        /// Trials available for replay.
        resumed: usize,
    },
    /// Progress inside one evaluation (e.g. training epochs).
    EvalProgress {
        /// The architecture being evaluated.
        arch_id: ArchId,
        /// What is happening.
        message: &'a str,
        /// Fraction done, 0..=1.
        fraction: f64,
    },
    /// A trial finished (or was replayed from the record).
    TrialFinished {
        /// The trial.
        trial: &'a Trial,
        /// True when it came from the earlier run's record.
        replayed: bool,
        /// Distinct trials done so far.
        done: usize,
        /// Budget.
        budget: usize,
    },
    /// A batch was told to the strategy.
    BatchFinished {
        /// All trials so far, in index order.
        trials: &'a [Trial],
        /// Budget.
        budget: usize,
    },
    /// The search ended.
    Finished {
        /// Distinct trials done.
        done: usize,
        /// Why it stopped.
        reason: StopReason,
    },
}

/// Receives [`SearchEvent`]s. Called from worker threads for `EvalProgress` and
/// `TrialFinished`, hence `Sync`.
pub trait SearchObserver: Sync {
    /// Handles one event. Observers must not panic; I/O errors should be remembered
    /// and reported by the observer's owner.
    fn on_event(&self, event: &SearchEvent<'_>);
}

/// What a finished search returns.
#[derive(Clone, Debug)]
pub struct SearchOutcome {
    /// Every trial, in index order.
    pub trials: Vec<Trial>,
    /// Why it stopped.
    pub reason: StopReason,
}

/// An evaluation's result as a trial outcome: status, reason and metrics. A
/// value outside its metric's domain (NaN accuracy, negative latency...) makes a
/// failed trial with why; a metric the problem needs and the evaluator did not
/// give, or a fatal evaluator error, stops the search. Shared by every driver.
pub(crate) fn judge<A: Architecture>(
    evaluator: &dyn Evaluator<A>,
    problem: &Problem,
    result: Result<MetricMap, EvalError>,
) -> Result<(TrialStatus, Option<String>, MetricMap), NasError> {
    match result {
        Ok(m) => {
            if let Some(why) = m.iter().find_map(|(k, v)| k.check(*v).err()) {
                return Ok((
                    TrialStatus::Failed,
                    Some(format!("evaluator `{}` gave {why}", evaluator.name())),
                    MetricMap::new(),
                ));
            }
            let missing: Vec<&str> =
                problem.metrics().into_iter().filter(|k| !m.contains_key(k)).map(|k| k.name()).collect();
            if missing.is_empty() {
                Ok((TrialStatus::Ok, None, m))
            } else {
                Err(NasError::MissingMetric {
                    evaluator: evaluator.name(),
                    metric: missing.join(", "),
                    provides: evaluator.provides().iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
                })
            }
        }
        Err(EvalError::Failed { reason }) => Ok((TrialStatus::Failed, Some(reason), MetricMap::new())),
        Err(EvalError::Fatal(e)) => Err(e),
    }
}

/// What a strategy measured itself for one architecture, and how long it took.
type Measured = (Option<Result<MetricMap, EvalError>>, f64);

/// The search driver. See the module docs for its guarantees.
pub struct Search<'a, S: SearchSpace> {
    space: &'a S,
    evaluator: &'a dyn Evaluator<S::Arch>,
    problem: &'a Problem,
    config: SearchConfig,
    observers: Vec<&'a dyn SearchObserver>,
    prior: HashMap<ArchId, Trial>,
    worker: Option<String>,
    weights_dir: Option<std::path::PathBuf>,
}

impl<'a, S: SearchSpace> Search<'a, S> {
    /// A driver for `space`, evaluating with `evaluator` against `problem`.
    pub fn new(
        space: &'a S,
        evaluator: &'a dyn Evaluator<S::Arch>,
        problem: &'a Problem,
        config: SearchConfig,
    ) -> Self {
        Search {
            space,
            evaluator,
            problem,
            config,
            observers: Vec::new(),
            prior: HashMap::new(),
            worker: None,
            weights_dir: None,
        }
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: &'a dyn SearchObserver) -> Self {
        self.observers.push(observer);
        self
    }

    /// Supplies the trials of an interrupted run for replay.
    pub fn resume_from(mut self, trials: impl IntoIterator<Item = Trial>) -> Self {
        for t in trials {
            self.prior.insert(t.arch_id, t);
        }
        self
    }

    /// Keeps the trained weights of the architectures evaluated by an
    /// evaluator that trains networks in `dir`, as `<arch id>.bpk` (a burn
    /// record) with `<arch id>.json` (how it was trained) beside it.
    pub fn keep_weights(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.weights_dir = Some(dir.into());
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

    fn evaluated(&self, arch: &S::Arch, trial: &Trial) -> Evaluated<S::Arch> {
        let (objectives, violation) = if trial.is_ok() {
            match self.problem.min_vector(&trial.metrics) {
                Some(v) => (Some(v), self.problem.violation(&trial.metrics)),
                None => (None, f64::INFINITY),
            }
        } else {
            (None, f64::INFINITY)
        };
        Evaluated { arch: arch.clone(), id: trial.arch_id, objectives, violation, metrics: trial.metrics.clone() }
    }

    fn evaluate_one(
        &self,
        index: usize,
        arch: &S::Arch,
        pre: Measured,
        done: &AtomicUsize,
        clock: &crate::trial::RunClock,
    ) -> Result<Trial, NasError> {
        let id = arch.id();
        let seed = derive_seed(self.config.seed, id.0);
        let progress = |message: &str, fraction: f64| {
            self.emit(&SearchEvent::EvalProgress { arch_id: id, message, fraction });
        };
        let weights = self.weights_dir.as_ref().map(|d| d.join(format!("{id}.bpk")));
        let ctx = EvalContext { seed, progress: Some(&progress), fidelity: None, weights: weights.as_deref() };
        let start = Instant::now();
        let (measured, measure_seconds) = pre;
        let result = match measured {
            Some(Err(e)) => Err(e),
            Some(Ok(own)) => self.evaluator.evaluate(arch, &ctx).map(|mut m| {
                m.extend(own);
                m
            }),
            None => self.evaluator.evaluate(arch, &ctx),
        };
        let eval_seconds = start.elapsed().as_secs_f64() + measure_seconds;
        let (status, reason, metrics) = judge(self.evaluator, self.problem, result)?;
        let mut trial = Trial {
            index,
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
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        self.emit(&SearchEvent::TrialFinished { trial: &trial, replayed: false, done: n, budget: self.config.budget });
        Ok(trial)
    }

    /// Runs the search to its budget (or until the strategy is exhausted).
    pub fn run(&self, strategy: &mut dyn SearchStrategy<S>) -> Result<SearchOutcome, NasError> {
        if self.config.batch_size == 0 {
            return Err(NasError::InvalidValue {
                field: "batch_size".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        let budget = self.config.budget;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let mut trials: Vec<Trial> = Vec::new();
        let mut by_id: HashMap<ArchId, usize> = HashMap::new();
        let done = AtomicUsize::new(0);
        let mut idle = 0usize;
        let clock = crate::trial::RunClock::new(self.prior.values());
        self.emit(&SearchEvent::Started { budget, resumed: self.prior.len() });
        let reason = loop {
            if trials.len() >= budget {
                break StopReason::Budget;
            }
            let want = self.config.batch_size.min(budget - trials.len());
            let proposals = strategy.ask(self.space, want, &mut rng);
            if let Some(e) = strategy.failure() {
                return Err(e);
            }
            // New, distinct architectures of this ask, at most `want` of them.
            let mut fresh: Vec<(usize, &S::Arch)> = Vec::new();
            let mut in_batch = HashSet::new();
            for a in &proposals {
                let id = a.id();
                if fresh.len() < want && !by_id.contains_key(&id) && in_batch.insert(id) {
                    fresh.push((trials.len() + fresh.len(), a));
                }
            }
            if fresh.is_empty() {
                idle += 1;
                if idle >= self.config.max_idle_asks.max(1) || proposals.is_empty() {
                    break StopReason::Exhausted;
                }
            } else {
                idle = 0;
            }
            // Replay what the earlier run recorded; evaluate the rest in parallel.
            let mut slots: Vec<Option<Trial>> = vec![None; fresh.len()];
            let mut to_eval = Vec::new();
            for (k, (index, arch)) in fresh.iter().enumerate() {
                match self.prior.get(&arch.id()) {
                    Some(t) => {
                        let mut t = t.clone();
                        t.index = *index;
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        self.emit(&SearchEvent::TrialFinished { trial: &t, replayed: true, done: n, budget });
                        slots[k] = Some(t);
                    }
                    None => to_eval.push((k, *index, *arch)),
                }
            }
            // The whole batch first (an evaluator backed by a shared trial store
            // publishes it for other workers), then each member.
            if !to_eval.is_empty() {
                let batch: Vec<(&S::Arch, u64)> =
                    to_eval.iter().map(|(_, _, a)| (*a, derive_seed(self.config.seed, a.id().0))).collect();
                match self.evaluator.prepare(&batch) {
                    Ok(()) => {}
                    Err(EvalError::Fatal(e)) => return Err(e),
                    Err(EvalError::Failed { reason }) => return Err(NasError::Backend(reason)),
                }
            }
            // What the strategy measures itself (on this thread, in ask order).
            let measured: Vec<Measured> = to_eval
                .iter()
                .map(|(_, _, arch)| {
                    let start = Instant::now();
                    let m = strategy.measure(self.space, arch);
                    (m, start.elapsed().as_secs_f64())
                })
                .collect();
            let results: Vec<(usize, Result<Trial, NasError>)> = to_eval
                .par_iter()
                .zip(measured.into_par_iter())
                .map(|((k, index, arch), pre)| (*k, self.evaluate_one(*index, arch, pre, &done, &clock)))
                .collect();
            for (k, r) in results {
                slots[k] = Some(r?);
            }
            for (slot, (_, arch)) in slots.into_iter().zip(&fresh) {
                let t = slot.expect("every fresh slot is replayed or evaluated");
                by_id.insert(t.arch_id, trials.len());
                debug_assert_eq!(t.arch_id, arch.id());
                trials.push(t);
            }
            // Tell every proposal, in the order asked (repeats answered from the record).
            let told: Vec<Evaluated<S::Arch>> =
                proposals.iter().filter_map(|a| by_id.get(&a.id()).map(|&i| self.evaluated(a, &trials[i]))).collect();
            strategy.tell(self.space, &told);
            self.emit(&SearchEvent::BatchFinished { trials: &trials, budget });
        };
        self.emit(&SearchEvent::Finished { done: trials.len(), reason });
        Ok(SearchOutcome { trials, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Metric, MetricMap};
    use crate::strategy::RandomSearch;
    use crate::testing::{ToyArch, ToySpace, toy_objectives, toy_problem};

    /// The toy objectives, but architectures starting with gene 0 get a NaN
    /// accuracy and those starting with gene 1 a negative latency.
    struct Broken;

    impl Evaluator<ToyArch> for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        fn provides(&self) -> Vec<Metric> {
            vec![Metric::Accuracy, Metric::LatencyMs]
        }
        fn evaluate(&self, a: &ToyArch, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
            let (acc, lat) = toy_objectives(a);
            let acc = if a.0[0] == 0 { f64::NAN } else { acc };
            let lat = if a.0[0] == 1 { -lat } else { lat };
            Ok(MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]))
        }
    }

    #[test]
    fn values_outside_their_domain_make_failed_trials_with_the_reason() {
        let problem = toy_problem();
        let out = Search::new(&ToySpace, &Broken, &problem, SearchConfig::new(200, 1))
            .run(&mut RandomSearch::<ToyArch>::default())
            .expect("runs");
        let mut seen = (0, 0);
        for t in &out.trials {
            match t.arch.split('-').next() {
                Some("0") => {
                    seen.0 += 1;
                    assert!(!t.is_ok() && t.metrics.is_empty());
                    let r = t.reason.as_deref().unwrap_or("");
                    assert!(r.contains("broken") && r.contains("accuracy = NaN") && r.contains("[0, 100]"), "{r}");
                }
                Some("1") => {
                    seen.1 += 1;
                    let r = t.reason.as_deref().unwrap_or("");
                    assert!(!t.is_ok() && r.contains("latency_ms = -") && r.contains("> 0"), "{r}");
                }
                _ => assert!(t.is_ok(), "{}: {:?}", t.arch, t.reason),
            }
        }
        assert!(seen.0 > 10 && seen.1 > 10, "{seen:?}");
    }

    /// Random search that measures accuracy itself (failing on gene 0 = 4) and
    /// counts its calls; the evaluator gives only latency.
    struct SelfMeasuring {
        inner: RandomSearch<ToyArch>,
        calls: usize,
    }

    impl SearchStrategy<ToySpace> for SelfMeasuring {
        fn name(&self) -> &'static str {
            "self_measuring"
        }
        fn ask(&mut self, space: &ToySpace, n: usize, rng: &mut dyn rand::RngCore) -> Vec<ToyArch> {
            self.inner.ask(space, n, rng)
        }
        fn tell(&mut self, space: &ToySpace, results: &[Evaluated<ToyArch>]) {
            self.inner.tell(space, results)
        }
        fn measure(&mut self, _space: &ToySpace, a: &ToyArch) -> Option<std::result::Result<MetricMap, EvalError>> {
            self.calls += 1;
            Some(if a.0[0] == 4 {
                Err(EvalError::Failed { reason: "diverged".into() })
            } else {
                Ok(MetricMap::from([(Metric::Accuracy, toy_objectives(a).0)]))
            })
        }
    }

    struct LatencyOnly;

    impl Evaluator<ToyArch> for LatencyOnly {
        fn name(&self) -> String {
            "latency".into()
        }
        fn provides(&self) -> Vec<Metric> {
            vec![Metric::LatencyMs]
        }
        fn evaluate(&self, a: &ToyArch, _ctx: &EvalContext<'_>) -> std::result::Result<MetricMap, EvalError> {
            Ok(MetricMap::from([(Metric::LatencyMs, toy_objectives(a).1)]))
        }
    }

    #[test]
    fn metrics_a_strategy_measures_join_the_evaluators_and_replays_skip_them() {
        let problem = toy_problem();
        let mut s = SelfMeasuring { inner: RandomSearch::default(), calls: 0 };
        let out = Search::new(&ToySpace, &LatencyOnly, &problem, SearchConfig::new(60, 7)).run(&mut s).expect("runs");
        assert_eq!(s.calls, 60);
        for t in &out.trials {
            let a = ToySpace.parse(&t.arch).expect("toy");
            if a.0[0] == 4 {
                assert!(!t.is_ok() && t.reason.as_deref() == Some("diverged"));
            } else {
                let (acc, lat) = toy_objectives(&a);
                assert_eq!(t.metrics, MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]));
            }
        }
        // A resumed run replays the first 40 trials without measuring them again.
        let mut again = SelfMeasuring { inner: RandomSearch::default(), calls: 0 };
        let resumed = Search::new(&ToySpace, &LatencyOnly, &problem, SearchConfig::new(60, 7))
            .resume_from(out.trials[..40].to_vec())
            .run(&mut again)
            .expect("resumes");
        assert_eq!(again.calls, 20);
        let key = |t: &Trial| (t.arch.clone(), t.metrics.clone());
        assert_eq!(resumed.trials.iter().map(key).collect::<Vec<_>>(), out.trials.iter().map(key).collect::<Vec<_>>());
    }
}
