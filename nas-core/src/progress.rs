//! Progress of long tasks as events: the library reports, the program renders.
//!
//! Every long command (`run`, `lut build`, `lut validate`, `verify`, `predictor
//! eval`, supernet training...) reports its progress through one
//! [`ProgressSink`]; the `hwnas` CLI renders all of them with one display (a bar
//! on a terminal, periodic lines otherwise, nothing when quiet). The search
//! driver's [`SearchEvent`](crate::SearchEvent)s follow the same rule.

/// Where a long task stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaskProgress<'a> {
    /// The current stage (`layers (round 1/3)`, `calibration`, `end to end`, ...).
    pub stage: &'a str,
    /// Units done.
    pub done: usize,
    /// Units in total.
    pub total: usize,
    /// What was just done (a layer, a model and size, ...).
    pub message: &'a str,
}

/// Receives progress reports; implementations must be cheap and never panic.
pub trait ProgressSink: Sync {
    /// One report.
    fn update(&self, progress: &TaskProgress<'_>);
}

/// A sink that ignores everything (library callers without a display, tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn update(&self, _progress: &TaskProgress<'_>) {}
}

impl<F: Fn(&TaskProgress<'_>) + Sync> ProgressSink for F {
    fn update(&self, progress: &TaskProgress<'_>) {
        self(progress)
    }
}
