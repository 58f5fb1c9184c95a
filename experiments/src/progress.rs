//! The one progress display of the CLI: an indicatif bar with ETA on a terminal,
//! a line every few seconds otherwise (CI, pipes, files), nothing when quiet.
//! Every long command renders its [`ProgressSink`] reports with it; the search's
//! [`Progress`](crate::observers::Progress) observer uses it too.

use indicatif::{ProgressBar, ProgressStyle};
use nas_core::progress::{ProgressSink, TaskProgress};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

/// See the module docs.
pub struct ProgressDisplay {
    bar: Option<ProgressBar>,
    quiet: bool,
    start: Instant,
    last_line: Mutex<Instant>,
}

impl ProgressDisplay {
    /// A display of `total` units; the bar goes to stderr when it is a terminal.
    pub fn new(total: usize, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:32.cyan/blue} {pos}/{len} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        ProgressDisplay { bar, quiet, start: Instant::now(), last_line: Mutex::new(Instant::now()) }
    }

    /// Whether a bar is drawn (else plain lines, or nothing when quiet).
    pub fn has_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// Whether nothing is shown.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Seconds since the display was made.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Moves the bar (or prints a line at most every `every` seconds, and always
    /// at the end).
    pub fn show(&self, done: usize, total: usize, msg: &str, every: f64) {
        if let Some(b) = &self.bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(msg.to_string());
            return;
        }
        if self.quiet {
            return;
        }
        let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed().as_secs_f64() > every || done >= total {
            *last = Instant::now();
            let el = self.elapsed();
            let eta = if done > 0 { el / done as f64 * total.saturating_sub(done) as f64 } else { 0.0 };
            eprintln!("[{el:6.1}s] {done}/{total} ETA {eta:.0}s {msg}");
        }
    }

    /// Sets the message of the bar (no line without a bar).
    pub fn message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    /// Ends the display (clears the bar).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl ProgressSink for ProgressDisplay {
    fn update(&self, p: &TaskProgress<'_>) {
        let msg = if p.message.is_empty() { p.stage.to_string() } else { format!("{}: {}", p.stage, p.message) };
        self.show(p.done, p.total, &msg, 5.0);
    }
}
