//! Reading a trial log (`trials.jsonl`: one JSON [`Trial`] per line) and sorting
//! its lines into usable trials and damaged lines.
//!
//! A line is damaged when it is not a trial record (a torn write, a disk error,
//! a bad edit), when a successful trial carries a metric outside its domain
//! ([`Metric::domain`](crate::Metric::domain)), or when it repeats an
//! architecture recorded on an earlier line at the same budget (a
//! multi-fidelity run records a candidate once per rung it reaches, each at a
//! larger budget: see [`crate::fidelity`]). The reader never panics on any
//! input: every line is either a trial or a [`DamagedLine`] with its number and
//! the reason.

use crate::arch::ArchId;
use crate::fidelity::trial_epochs;
use crate::trial::Trial;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A line of a trial log that is not a usable trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DamagedLine {
    /// 1-based line number in the log.
    pub line: usize,
    /// Why it cannot be used.
    pub reason: String,
    /// The line as it was (lossily decoded if it was not UTF-8).
    pub text: String,
}

/// A parsed trial log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedTrialLog {
    /// The usable trials, in file order.
    pub trials: Vec<Trial>,
    /// The damaged lines, in file order.
    pub damaged: Vec<DamagedLine>,
    /// Whether the last damaged line is the log's last line with no newline after
    /// it: the signature of a write cut off by a crash, which every version of
    /// hwnas tolerates (that trial is simply evaluated again).
    pub torn_tail: bool,
}

impl ParsedTrialLog {
    /// The damaged lines other than a torn last line.
    pub fn damaged_inside(&self) -> &[DamagedLine] {
        let n = self.damaged.len() - usize::from(self.torn_tail);
        &self.damaged[..n]
    }
}

/// Why `line` is not a usable trial, or the trial.
fn check_line(line: &str, seen: &HashMap<ArchId, (usize, Option<u32>)>) -> Result<Trial, String> {
    let trial: Trial = serde_json::from_str(line).map_err(|e| format!("not a trial record: {e}"))?;
    if let Some((first, epochs)) = seen.get(&trial.arch_id) {
        let promoted = matches!((epochs, trial_epochs(&trial)), (Some(a), Some(b)) if b > *a);
        if !promoted {
            return Err(format!("repeats the trial of `{}` recorded on line {first}", trial.arch));
        }
    }
    if trial.is_ok() {
        for (m, v) in &trial.metrics {
            m.check(*v).map_err(|e| format!("metric {e}"))?;
        }
    }
    Ok(trial)
}

/// Parses the bytes of a trial log. Blank lines are skipped.
pub fn parse_trial_log(bytes: &[u8]) -> ParsedTrialLog {
    let mut out = ParsedTrialLog::default();
    let mut seen: HashMap<ArchId, (usize, Option<u32>)> = HashMap::new();
    let ends_with_newline = bytes.last().is_none_or(|&b| b == b'\n');
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // `split` yields an empty piece after a final newline.
    let count = if ends_with_newline { lines.len().saturating_sub(1) } else { lines.len() };
    for (i, raw) in lines.iter().take(count).enumerate() {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let result = match std::str::from_utf8(raw) {
            Ok(_) => check_line(text, &seen),
            Err(e) => Err(format!("not UTF-8 text: {e}")),
        };
        match result {
            Ok(t) => {
                seen.insert(t.arch_id, (i + 1, trial_epochs(&t)));
                out.trials.push(t);
            }
            Err(reason) => {
                out.torn_tail = i + 1 == count && !ends_with_newline;
                out.damaged.push(DamagedLine { line: i + 1, reason, text: text.to_string() });
            }
        }
    }
    out
}

/// The text of a trial log holding exactly `trials`.
pub fn trial_log_text(trials: &[Trial]) -> String {
    let mut text = String::new();
    for t in trials {
        text.push_str(&serde_json::to_string(t).expect("a trial always serialises"));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Metric, MetricMap};
    use crate::trial::TrialStatus;

    fn trial(arch: &str, acc: f64, lat: f64) -> Trial {
        Trial {
            index: 0,
            arch_id: ArchId::of(arch),
            arch: arch.into(),
            status: TrialStatus::Ok,
            reason: None,
            metrics: MetricMap::from([(Metric::Accuracy, acc), (Metric::LatencyMs, lat)]),
            seed: 1,
            eval_seconds: 0.0,
            worker: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn a_torn_middle_line_is_damaged_and_the_rest_is_kept() {
        let a = serde_json::to_string(&trial("a", 90.0, 1.0)).expect("json");
        let b = serde_json::to_string(&trial("b", 80.0, 2.0)).expect("json");
        let text = format!("{a}\n{}\n\n{b}\n", &a[..a.len() / 2]);
        let log = parse_trial_log(text.as_bytes());
        assert_eq!(log.trials.iter().map(|t| t.arch.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(log.damaged.len(), 1);
        assert_eq!(log.damaged[0].line, 2);
        assert!(log.damaged[0].reason.starts_with("not a trial record"), "{}", log.damaged[0].reason);
        assert!(!log.torn_tail);
        assert_eq!(log.damaged_inside().len(), 1);
    }

    #[test]
    fn a_cut_last_line_is_a_torn_tail() {
        let a = serde_json::to_string(&trial("a", 90.0, 1.0)).expect("json");
        let text = format!("{a}\n{}", &a[..10]);
        let log = parse_trial_log(text.as_bytes());
        assert_eq!(log.trials.len(), 1);
        assert!(log.torn_tail);
        assert_eq!(log.damaged[0].line, 2);
        assert!(log.damaged_inside().is_empty());
        // The same bytes followed by a newline were written whole: not torn.
        let log = parse_trial_log(format!("{text}\n").as_bytes());
        assert!(!log.torn_tail);
        assert_eq!(log.damaged_inside().len(), 1);
    }

    #[test]
    fn out_of_domain_metrics_repeats_and_bad_bytes_are_damaged() {
        let ok = serde_json::to_string(&trial("a", 90.0, 1.0)).expect("json");
        let neg = serde_json::to_string(&trial("b", 90.0, -1.0)).expect("json");
        let mut failed = trial("c", 0.0, 0.0);
        failed.status = TrialStatus::Failed;
        failed.metrics = MetricMap::from([(Metric::LatencyMs, -1.0)]);
        let failed = serde_json::to_string(&failed).expect("json");
        let mut bytes = format!("{ok}\n{neg}\n{ok}\n{failed}\n").into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        let log = parse_trial_log(&bytes);
        let lines: Vec<usize> = log.damaged.iter().map(|d| d.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert!(log.damaged[0].reason.contains("latency_ms"), "{}", log.damaged[0].reason);
        assert!(log.damaged[1].reason.contains("recorded on line 1"), "{}", log.damaged[1].reason);
        assert!(log.damaged[2].reason.contains("UTF-8"), "{}", log.damaged[2].reason);
        // A failed trial's metrics are not used, so they are not judged.
        assert_eq!(log.trials.len(), 2);
    }

    #[test]
    fn a_promotion_to_a_larger_budget_is_not_a_repeat() {
        let at = |epochs: u32, acc: f64| {
            let mut t = trial("a", acc, 1.0);
            t.extra.insert("fidelity".into(), serde_json::json!({ "epochs": epochs }));
            serde_json::to_string(&t).expect("json")
        };
        // 12 then 200 epochs: a promotion; 200 again, or 12 after 200: repeats.
        let text = format!("{}\n{}\n{}\n{}\n", at(12, 70.0), at(200, 90.0), at(200, 91.0), at(12, 71.0));
        let log = parse_trial_log(text.as_bytes());
        assert_eq!(log.trials.len(), 2);
        let lines: Vec<usize> = log.damaged.iter().map(|d| d.line).collect();
        assert_eq!(lines, [3, 4]);
        assert!(log.damaged[0].reason.contains("recorded on line 2"), "{}", log.damaged[0].reason);
    }

    #[test]
    fn text_round_trips() {
        let ts = vec![trial("a", 90.0, 1.0), trial("b", 80.5, 0.25)];
        let log = parse_trial_log(trial_log_text(&ts).as_bytes());
        assert_eq!(log.trials, ts);
        assert!(log.damaged.is_empty());
        assert_eq!(parse_trial_log(b""), ParsedTrialLog::default());
    }
}
