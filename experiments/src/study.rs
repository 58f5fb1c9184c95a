//! Studies in a shared trial store: the driver side (an evaluator that hands
//! trials to the store and collects their results, a recorder of told trials)
//! and the worker side (`hwnas worker`: claim, evaluate with a heartbeat,
//! finish).

use anyhow::{Context, Result, anyhow, bail};
use nas_core::{AnyArch, Architecture, DynSpace, EvalContext, EvalError, Evaluator, MetricMap, NasError};
use nas_core::{Metric, SearchEvent, SearchObserver, SearchSpace, Trial};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trial_store::{Claim, EvalRequest, Outcome, Study, StudyStatus, TrialStore};

/// The environment variable `--storage` falls back to (so a password need not
/// be typed on a command line).
pub const STORAGE_ENV: &str = "HWNAS_STORAGE";

/// Default lease of a claimed trial: a worker that has not renewed it for this
/// long is taken for dead and its trial is claimed again.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// A study in an open store, with the settings of this process.
#[derive(Clone)]
pub struct StudyHandle {
    /// The store.
    pub store: Arc<dyn TrialStore>,
    /// The study.
    pub study: Study,
    /// Lease of a claim (renewed every third of it).
    pub lease: Duration,
}

/// This process's worker name: `host:pid`.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Opens the store of `url` (or of `$HWNAS_STORAGE`), printing nothing secret.
pub fn open_store(url: Option<&str>) -> Result<Arc<dyn TrialStore>> {
    let text = match url {
        Some(u) => u.to_string(),
        None => std::env::var(STORAGE_ENV).map_err(|_| {
            anyhow!("give the trial store with --storage URL (or the {STORAGE_ENV} environment variable)")
        })?,
    };
    if let Some(dir) = text.trim().strip_prefix(JSONL_PREFIX) {
        if dir.is_empty() {
            bail!("storage URL `{text}`: no run directory: write jsonl:RUN_DIR");
        }
        return Ok(Arc::new(crate::rundir_store::RunDirStore::open(std::path::Path::new(dir))));
    }
    let parsed = trial_store::StorageUrl::parse(&text)?;
    let store = trial_store::open(&parsed, trial_store::RetryPolicy::from_env())?;
    Ok(store)
}

/// The URL prefix of the run-directory store (`jsonl:RUN_DIR`).
pub const JSONL_PREFIX: &str = "jsonl:";

/// Refuses the one-process JSONL store where other processes must take part.
pub fn require_shared(store: &dyn TrialStore, what: &str) -> Result<()> {
    if store.backend() == "jsonl" {
        bail!(
            "{what} needs a store other processes can reach; {} is a run directory, which serves one process \
             (`hwnas run` / `hwnas resume RUN_DIR` write it): give --storage sqlite:PATH or postgres://USER@HOST/DB",
            store.location()
        );
    }
    Ok(())
}

fn to_result(o: Outcome) -> Result<MetricMap, EvalError> {
    match o {
        Outcome::Ok { metrics, .. } => Ok(metrics),
        Outcome::Failed { reason, .. } => Err(EvalError::Failed { reason }),
        Outcome::Fatal { reason, worker } => {
            Err(EvalError::Fatal(NasError::Backend(format!("worker {worker} cannot evaluate: {reason}"))))
        }
    }
}

fn store_err(e: trial_store::StoreError) -> EvalError {
    EvalError::Fatal(NasError::Backend(e.to_string()))
}

/// Evaluates a claimed trial with `evaluator`, renewing the lease every third
/// of it, and stores the outcome. Returns it with whether the store accepted it
/// (false: the lease was lost and another worker owns the trial now).
pub fn evaluate_claim(
    h: &StudyHandle,
    space: &DynSpace,
    evaluator: &dyn Evaluator<AnyArch>,
    claim: &Claim,
    worker: &str,
    ctx_weights: Option<&std::path::Path>,
) -> Result<(Outcome, bool)> {
    let start = Instant::now();
    let lost = AtomicBool::new(false);
    // The heartbeat thread renews the lease every third of it and stops the
    // moment the evaluation ends (the sender is dropped), not a tick later.
    let (done, ticks) = std::sync::mpsc::channel::<()>();
    let lost_flag = &lost;
    let result = std::thread::scope(|s| {
        s.spawn(move || {
            let every = h.lease / 3;
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = ticks.recv_timeout(every) {
                match h.store.heartbeat(claim, h.lease) {
                    Ok(true) => {}
                    Ok(false) => {
                        lost_flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => eprintln!("worker {worker}: heartbeat of trial {}: {e}", claim.arch_id),
                }
            }
        });
        let r = match space.parse(&claim.arch) {
            Ok(arch) if arch.id() == claim.arch_id => {
                let ctx = EvalContext { seed: claim.seed, progress: None, fidelity: None, weights: ctx_weights };
                evaluator.evaluate(&arch, &ctx)
            }
            Ok(arch) => Err(EvalError::Fatal(NasError::Backend(format!(
                "the store's trial {} parses to architecture {} (another space setting?)",
                claim.arch_id,
                arch.id()
            )))),
            Err(e) => Err(EvalError::Fatal(e)),
        };
        drop(done);
        r
    });
    let eval_seconds = start.elapsed().as_secs_f64();
    let worker = worker.to_string();
    let outcome = match result {
        Ok(metrics) => Outcome::Ok { metrics, eval_seconds, worker },
        Err(EvalError::Failed { reason }) => Outcome::Failed { reason, eval_seconds, worker },
        Err(EvalError::Fatal(e)) => Outcome::Fatal { reason: e.to_string(), worker },
        Err(other) => Outcome::Fatal { reason: other.to_string(), worker },
    };
    if lost.load(Ordering::SeqCst) {
        return Ok((outcome, false));
    }
    let accepted = h.store.finish(claim, &outcome)?;
    Ok((outcome, accepted))
}

/// The driver's evaluator: each batch goes to the store as pending trials;
/// this process evaluates the ones it manages to claim (unless `local` is
/// off) and waits for the others' results from the workers.
pub struct StoreEvaluator {
    handle: StudyHandle,
    space: DynSpace,
    inner: Arc<dyn Evaluator<AnyArch>>,
    local: bool,
    worker: String,
    /// Architectures this driver has submitted already (by `prepare`).
    submitted: Mutex<std::collections::HashSet<nas_core::ArchId>>,
}

impl StoreEvaluator {
    /// See the type docs.
    pub fn new(handle: StudyHandle, space: DynSpace, inner: Arc<dyn Evaluator<AnyArch>>, local: bool) -> Self {
        let worker = format!("{} (driver)", worker_name());
        StoreEvaluator { handle, space, inner, local, worker, submitted: Mutex::default() }
    }

    fn note_submitted(&self, ids: impl IntoIterator<Item = nas_core::ArchId>) {
        self.submitted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(ids);
    }
}

impl Evaluator<AnyArch> for StoreEvaluator {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn provides(&self) -> Vec<Metric> {
        self.inner.provides()
    }

    fn is_cheap(&self) -> bool {
        false
    }

    fn prepare(&self, batch: &[(&AnyArch, u64)]) -> Result<(), EvalError> {
        let requests: Vec<EvalRequest> =
            batch.iter().map(|(a, seed)| EvalRequest { arch_id: a.id(), arch: a.notation(), seed: *seed }).collect();
        self.handle.store.submit(self.handle.study.id, &requests).map_err(store_err)?;
        self.note_submitted(requests.iter().map(|r| r.arch_id));
        Ok(())
    }

    fn evaluate(&self, arch: &AnyArch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let h = &self.handle;
        let id = arch.id();
        let known = self.submitted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&id);
        if !known {
            h.store
                .submit(h.study.id, &[EvalRequest { arch_id: id, arch: arch.notation(), seed: ctx.seed }])
                .map_err(store_err)?;
            self.note_submitted([id]);
        }
        let mut wait = Duration::from_millis(1);
        loop {
            if let Some(o) = h.store.outcome(h.study.id, id).map_err(store_err)? {
                return to_result(o);
            }
            if self.local
                && let Some(claim) = h.store.claim(h.study.id, &self.worker, h.lease, Some(id)).map_err(store_err)?
            {
                let (outcome, accepted) =
                    evaluate_claim(h, &self.space, self.inner.as_ref(), &claim, &self.worker, ctx.weights)
                        .map_err(|e| EvalError::Fatal(NasError::Backend(format!("{e:#}"))))?;
                if accepted {
                    return to_result(outcome);
                }
                continue;
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(50));
        }
    }
}

/// Records each newly finished trial in the store (what a resumed driver replays).
pub struct StoreRecorder {
    handle: StudyHandle,
    error: Mutex<Option<anyhow::Error>>,
}

impl StoreRecorder {
    /// Records into the study of `handle`.
    pub fn new(handle: StudyHandle) -> Self {
        StoreRecorder { handle, error: Mutex::new(None) }
    }

    /// The first error, if any.
    pub fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl SearchObserver for StoreRecorder {
    fn on_event(&self, event: &SearchEvent<'_>) {
        if let SearchEvent::TrialFinished { trial, replayed: false, .. } = event
            && let Err(e) = self.handle.store.record(self.handle.study.id, trial)
            && let Ok(mut slot) = self.error.lock()
        {
            slot.get_or_insert(anyhow::Error::new(e).context("recording a trial in the store"));
        }
    }
}

/// Settings of `hwnas worker`.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Trials evaluated at once.
    pub threads: usize,
    /// Lease of a claim.
    pub lease: Duration,
    /// Stop after this many trials (for tests and benchmarks; `None`: until
    /// the study finishes).
    pub max_trials: Option<usize>,
    /// No per-trial lines.
    pub quiet: bool,
}

/// What a worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Trials it completed (its outcome stored).
    pub finished: usize,
    /// Trials whose lease it lost (another worker owns them).
    pub lost: usize,
}

/// `hwnas worker`: joins the study and evaluates its pending trials until the
/// driver marks it finished.
pub fn run_worker(
    store: Arc<dyn TrialStore>,
    study_name: &str,
    registry: &nas_core::Registry,
    opts: &WorkerOptions,
) -> Result<WorkerReport> {
    let study = store.study(study_name)?.ok_or_else(|| anyhow!("no study `{study_name}` in {}", store.location()))?;
    let cfg =
        crate::config::ExperimentConfig::from_toml_with(&study.config, &format!("study `{study_name}`"), registry)
            .with_context(|| format!("this worker cannot join study `{study_name}`: its config does not load here"))?;
    if cfg.scheduler.is_some() {
        bail!("study `{study_name}` uses a multi-fidelity [scheduler]; workers evaluate plain studies only");
    }
    let setup = crate::setup::Setup::new(&cfg, registry, crate::setup::Build::All).with_context(|| {
        format!("this worker cannot join study `{study_name}`: it lacks what the study's config needs")
    })?;
    let handle = StudyHandle { store: store.clone(), study: study.clone(), lease: opts.lease };
    let worker = worker_name();
    let finished = AtomicUsize::new(0);
    let lost = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    if !opts.quiet {
        eprintln!("worker {worker}: joined study `{study_name}` in {} ({} threads)", store.location(), opts.threads);
    }
    std::thread::scope(|s| {
        for t in 0..opts.threads.max(1) {
            let (handle, setup, worker) = (&handle, &setup, format!("{worker}/{t}"));
            let (finished, lost, failure) = (&finished, &lost, &failure);
            s.spawn(move || {
                let mut wait = Duration::from_millis(2);
                let stop = || {
                    failure.lock().map(|f| f.is_some()).unwrap_or(true)
                        || opts.max_trials.is_some_and(|m| finished.load(Ordering::SeqCst) >= m)
                };
                let fail = |e: anyhow::Error| {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                };
                while !stop() {
                    let claim = match handle.store.claim(handle.study.id, &worker, handle.lease, None) {
                        Ok(c) => c,
                        Err(e) => return fail(e.into()),
                    };
                    let Some(claim) = claim else {
                        match handle.store.study(study_name) {
                            Ok(Some(st)) if st.status == StudyStatus::Finished => return,
                            Ok(_) => {}
                            Err(e) => return fail(e.into()),
                        }
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(Duration::from_millis(200));
                        continue;
                    };
                    wait = Duration::from_millis(2);
                    match evaluate_claim(handle, &setup.space, setup.evals.evaluator.as_ref(), &claim, &worker, None) {
                        Ok((outcome, true)) => {
                            finished.fetch_add(1, Ordering::SeqCst);
                            if !opts.quiet {
                                eprintln!("{worker}: {} {}", claim.arch_id, describe(&outcome));
                            }
                            if let Outcome::Fatal { reason, .. } = outcome {
                                return fail(anyhow!("trial {}: {reason}", claim.arch_id));
                            }
                        }
                        Ok((_, false)) => {
                            lost.fetch_add(1, Ordering::SeqCst);
                            if !opts.quiet {
                                eprintln!("{worker}: lost the lease of {}; another worker has it", claim.arch_id);
                            }
                        }
                        Err(e) => return fail(e),
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(WorkerReport { finished: finished.into_inner(), lost: lost.into_inner() })
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Ok { metrics, eval_seconds, .. } => {
            let m: Vec<String> = metrics.iter().map(|(k, v)| format!("{}={v:.4}", k.name())).collect();
            format!("done in {eval_seconds:.2} s: {}", m.join(" "))
        }
        Outcome::Failed { reason, .. } => format!("failed: {reason}"),
        Outcome::Fatal { reason, .. } => format!("cannot be evaluated here: {reason}"),
    }
}

/// The told trials of a study, checked for duplicates (a store invariant).
pub fn study_trials(h: &StudyHandle) -> Result<Vec<Trial>> {
    let trials = h.store.trials(h.study.id)?;
    let mut seen = std::collections::HashSet::new();
    for t in &trials {
        if !seen.insert(t.arch_id) {
            bail!("study `{}` records architecture {} twice", h.study.name, t.arch_id);
        }
    }
    Ok(trials)
}
