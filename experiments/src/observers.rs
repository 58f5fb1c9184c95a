//! Observers of search events: the progress display (told trials are
//! recorded by [`crate::study::StoreRecorder`] into the run directory's store).

use crate::hv::{HvScale, feasible_points};
use crate::progress::ProgressDisplay;
use nas_core::{Problem, SearchEvent, SearchObserver};

/// Shows search progress with the CLI's [`ProgressDisplay`]: the bar's message
/// carries the front size and hypervolume; without a terminal, one line per
/// trial and a summary line every few seconds.
pub struct Progress {
    display: ProgressDisplay,
    problem: Problem,
    scale: Option<HvScale>,
    unit: &'static str,
}

impl Progress {
    /// A progress display for a run of `budget` trials. `scale` is the true-front
    /// normalisation when known (then the HV ratio is shown).
    pub fn new(budget: usize, problem: Problem, scale: Option<HvScale>, quiet: bool) -> Self {
        Progress { display: ProgressDisplay::new(budget, quiet), problem, scale, unit: "distinct architectures" }
    }

    /// The budget counts epochs of training (a run with a scheduler).
    pub fn in_epochs(mut self) -> Self {
        self.unit = "epochs of training";
        self
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

    fn plain(&self) -> bool {
        !self.display.is_quiet() && !self.display.has_bar()
    }
}

impl SearchObserver for Progress {
    fn on_event(&self, event: &SearchEvent<'_>) {
        match event {
            SearchEvent::Started { budget, resumed } if self.plain() => {
                println!("search: budget {budget} {}, {resumed} recorded trials to replay", self.unit);
            }
            SearchEvent::EvalProgress { arch_id, message, .. } => self.display.message(format!("{arch_id}: {message}")),
            SearchEvent::TrialFinished { trial, replayed, done, budget } => {
                if self.display.has_bar() {
                    self.display.show(*done, *budget, "", 0.0);
                } else if self.plain() && !replayed {
                    let status = match &trial.reason {
                        Some(r) => format!("FAILED: {r}"),
                        None => trial.metrics.iter().map(|(m, v)| format!("{m}={v:.4}")).collect::<Vec<_>>().join(" "),
                    };
                    println!("[{done}/{budget}] {} {} ({:.1}s)", trial.arch_id, status, trial.eval_seconds);
                }
            }
            SearchEvent::BatchFinished { trials, budget } => {
                let text = self.hv_text(trials);
                if self.display.has_bar() {
                    self.display.message(text);
                } else if self.plain() {
                    // At most one summary line every 2 s, and the last one. A
                    // scheduler's budget counts epochs.
                    let done =
                        trials.last().and_then(nas_core::fidelity::spent_epochs).map_or(trials.len(), |e| e as usize);
                    self.display.show(done, *budget, &text, 2.0);
                }
            }
            SearchEvent::Finished { done, reason } => {
                if self.plain() {
                    println!("search finished: {done} trials ({reason:?}) in {:.1}s", self.display.elapsed());
                }
                self.display.finish();
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
