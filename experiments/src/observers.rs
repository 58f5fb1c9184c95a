//! Observers of search events: the trial log writer and the progress display.

use crate::hv::{HvScale, feasible_points};
use crate::rundir::RunDir;
use indicatif::{ProgressBar, ProgressStyle};
use nas_core::{Problem, SearchEvent, SearchObserver};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

/// Appends each newly finished trial to `trials.jsonl` (replayed ones are already there).
pub struct TrialLogWriter<'a> {
    dir: &'a RunDir,
    error: Mutex<Option<anyhow::Error>>,
}

impl<'a> TrialLogWriter<'a> {
    /// Writes into `dir`.
    pub fn new(dir: &'a RunDir) -> Self {
        TrialLogWriter { dir, error: Mutex::new(None) }
    }

    /// The first write error, if any (the run must not be reported as complete).
    pub fn take_error(&self) -> Option<anyhow::Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl SearchObserver for TrialLogWriter<'_> {
    fn on_event(&self, event: &SearchEvent<'_>) {
        if let SearchEvent::TrialFinished { trial, replayed: false, .. } = event
            && let Err(e) = self.dir.append(trial)
            && let Ok(mut slot) = self.error.lock()
        {
            slot.get_or_insert(e);
        }
    }
}

/// Shows progress: an indicatif bar with ETA and the best hypervolume on a
/// terminal, plain log lines otherwise (CI, pipes, files).
pub struct Progress {
    bar: Option<ProgressBar>,
    problem: Problem,
    scale: Option<HvScale>,
    start: Instant,
    last_line: Mutex<Instant>,
    quiet: bool,
}

impl Progress {
    /// A progress display for a run of `budget` trials. `scale` is the true-front
    /// normalisation when known (then the HV ratio is shown).
    pub fn new(budget: usize, problem: Problem, scale: Option<HvScale>, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stdout().is_terminal()).then(|| {
            let b = ProgressBar::new(budget as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:32.cyan/blue} {pos}/{len} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress { bar, problem, scale, start: Instant::now(), last_line: Mutex::new(Instant::now()), quiet }
    }

    fn hv_text(&self, trials: &[nas_core::Trial]) -> String {
        let pts: Vec<Vec<f64>> = feasible_points(&self.problem, trials).into_iter().map(|(_, v)| v).collect();
        let front_len = nas_core::pareto::pareto_front_indices(&pts).len();
        let scale = self.scale.clone().or_else(|| HvScale::from_points(&pts));
        match scale {
            Some(s) => format!("front {front_len} | {} {:.4}", s.label(), s.value(&pts)),
            None => format!("front {front_len}"),
        }
    }
}

impl SearchObserver for Progress {
    fn on_event(&self, event: &SearchEvent<'_>) {
        match event {
            SearchEvent::Started { budget, resumed } if !self.quiet && self.bar.is_none() => {
                println!("search: budget {budget} distinct architectures, {resumed} recorded trials to replay");
            }
            SearchEvent::EvalProgress { arch_id, message, .. } => {
                if let Some(b) = &self.bar {
                    b.set_message(format!("{arch_id}: {message}"));
                }
            }
            SearchEvent::TrialFinished { trial, replayed, done, budget } => {
                if let Some(b) = &self.bar {
                    b.set_position(*done as u64);
                } else if !self.quiet && !replayed {
                    let status = match &trial.reason {
                        Some(r) => format!("FAILED: {r}"),
                        None => trial.metrics.iter().map(|(m, v)| format!("{m}={v:.4}")).collect::<Vec<_>>().join(" "),
                    };
                    println!("[{done}/{budget}] {} {} ({:.1}s)", trial.arch_id, status, trial.eval_seconds);
                }
            }
            SearchEvent::BatchFinished { trials, budget } => {
                let text = self.hv_text(trials);
                if let Some(b) = &self.bar {
                    b.set_message(text);
                } else if !self.quiet {
                    let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
                    if last.elapsed().as_secs_f64() > 2.0 || trials.len() >= *budget {
                        *last = Instant::now();
                        println!(
                            "progress: {}/{budget} trials, {:.1}s elapsed, {text}",
                            trials.len(),
                            self.start.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            SearchEvent::Finished { done, reason } => {
                if let Some(b) = &self.bar {
                    b.finish_with_message(format!("done: {done} trials ({reason:?})"));
                } else if !self.quiet {
                    println!(
                        "search finished: {done} trials ({reason:?}) in {:.1}s",
                        self.start.elapsed().as_secs_f64()
                    );
                }
            }
            _ => {}
        }
    }
}

/// `name=value` with a precision that suits the metric (counts as integers).
pub fn format_metric(metric: nas_core::Metric, value: f64) -> String {
    use nas_core::Metric::*;
    match metric {
        Params | Flops | Macs | BitOps => format!("{metric}={value:.0}"),
        Accuracy | PsnrDb => format!("{metric}={value:.2}"),
        _ => format!("{metric}={value:.4}"),
    }
}
