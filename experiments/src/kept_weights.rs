//! Where a run directory keeps trained networks, and choosing the trials that
//! `hwnas export --onnx` and `hwnas train` work on.
//!
//! - `trained/<arch id>.bpk` (+ `.json`): the search's own training of a
//!   candidate, kept for the front members when the run ends;
//! - `retrained/<arch id>.bpk` (+ `.json`): `hwnas train`'s longer schedule;
//! - `weights/<arch id>.bpk`: the children of the `eas` strategy.

use crate::hv::front_of;
use anyhow::{Result, bail};
use nas_core::{ArchId, Problem, Trial};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The search's trained candidates.
pub const TRAINED_DIR: &str = "trained";
/// `hwnas train`'s networks.
pub const RETRAINED_DIR: &str = "retrained";
/// The `eas` strategy's children.
pub const EAS_DIR: &str = "weights";

/// Which training a kept record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsSource {
    /// `hwnas train`.
    Retrained,
    /// The search's evaluation.
    Search,
    /// The `eas` strategy.
    Eas,
}

impl WeightsSource {
    /// Its name in metadata.
    pub fn name(self) -> &'static str {
        match self {
            WeightsSource::Retrained => "retrained",
            WeightsSource::Search => "trained during the search",
            WeightsSource::Eas => "trained by eas",
        }
    }
}

/// The record of `id` in `root`: the longest training first.
pub fn find_weights(root: &Path, id: ArchId) -> Option<(PathBuf, WeightsSource)> {
    [(RETRAINED_DIR, WeightsSource::Retrained), (TRAINED_DIR, WeightsSource::Search), (EAS_DIR, WeightsSource::Eas)]
        .into_iter()
        .map(|(d, s)| (root.join(d).join(format!("{id}.bpk")), s))
        .find(|(p, _)| p.is_file())
}

/// Removes from `trained/` the records of architectures not in `keep` (the
/// front), so a run keeps the weights it exports, not those of every
/// candidate. Returns how many records were removed.
pub fn prune_trained(root: &Path, keep: &HashSet<ArchId>) -> Result<usize> {
    let dir = root.join(TRAINED_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(0) };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let id = stem.split('.').next().and_then(ArchId::parse);
        if id.is_some_and(|id| !keep.contains(&id)) {
            std::fs::remove_file(&path)?;
            removed += usize::from(path.extension().is_some_and(|e| e == "bpk"));
        }
    }
    Ok(removed)
}

/// The trials to work on: `arch` (a trial index, or a 16-digit arch id as in
/// `pareto.json`), else the front, ranked as in `export/`. Pairs of (rank on
/// the front or the trial index, trial).
pub fn select_trials<'t>(
    trials: &'t [Trial],
    problem: &Problem,
    arch: Option<&str>,
) -> Result<Vec<(usize, &'t Trial)>> {
    match arch {
        None => {
            let front = front_of(problem, trials);
            if front.is_empty() {
                bail!("the run has no feasible trial, so no front to work on; name one with --arch");
            }
            Ok(front.into_iter().enumerate().map(|(rank, i)| (rank, &trials[i])).collect())
        }
        Some(a) => {
            let a = a.trim();
            let found = if a.len() == 16 {
                ArchId::parse(a).and_then(|id| trials.iter().find(|t| t.arch_id == id))
            } else {
                a.parse::<usize>().ok().and_then(|i| trials.iter().find(|t| t.index == i))
            };
            match found {
                Some(t) if t.is_ok() => Ok(vec![(t.index, t)]),
                Some(t) => bail!("--arch {a}: trial {} ({}) failed, nothing to export or train", t.index, t.arch),
                None => bail!(
                    "--arch {a}: not in this run ({} trials); give a trial index (0..{}) or a 16-digit arch id from pareto.json",
                    trials.len(),
                    trials.len().saturating_sub(1)
                ),
            }
        }
    }
}

/// The ids of the front's members.
pub fn front_ids(problem: &Problem, trials: &[Trial]) -> HashSet<ArchId> {
    front_of(problem, trials).into_iter().map(|i| trials[i].arch_id).collect()
}
