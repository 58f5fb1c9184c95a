//! The schedulers as state machines: which candidate runs at which rung next.
//!
//! The driver ([`FidelitySearch`](super::FidelitySearch)) asks for a batch of
//! jobs ([`Scheduler::plan`]): promotions of known candidates, and slots for new
//! candidates at a given rung, which it fills from the proposal strategy
//! ([`Scheduler::assign_new`]). It reports every result
//! ([`Scheduler::report`]). Everything is a deterministic function of the
//! results, so a run is resumed by replaying them.

use super::{SchedulerConfig, SchedulerKind};
use crate::arch::ArchId;
use crate::error::NasError;
use crate::metric::Problem;
use crate::strategy::rank_and_crowding;
use std::collections::HashSet;

/// Evaluate candidate `arch` at rung `rung`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// The candidate.
    pub arch: ArchId,
    /// The rung (index into the rungs).
    pub rung: usize,
}

/// What to run next: promotions, then new candidates at the given rungs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Known candidates to evaluate at a higher rung.
    pub promotions: Vec<Job>,
    /// For each new candidate wanted, the rung it starts at.
    pub new_at: Vec<usize>,
}

impl Plan {
    /// No job at all.
    pub fn is_empty(&self) -> bool {
        self.promotions.is_empty() && self.new_at.is_empty()
    }
}

#[derive(Clone, Debug)]
struct RungResult {
    arch: ArchId,
    objectives: Option<Vec<f64>>,
    violation: f64,
}

/// One successive-halving bracket in progress.
#[derive(Clone, Debug)]
struct Bracket {
    /// The rung its candidates start at.
    start: usize,
    /// The rung of the current stage.
    stage: usize,
    /// Candidates of the current stage (new ones are added as they are assigned).
    members: Vec<ArchId>,
    /// Members of the stage already issued.
    issued: usize,
    /// New candidates still wanted (start stage only).
    new_wanted: usize,
    /// Members of the stage whose result is in.
    done: usize,
}

/// A scheduler (see the module docs of [`super`] for the three kinds).
#[derive(Clone, Debug)]
pub struct Scheduler {
    kind: SchedulerKind,
    eta: f64,
    rungs: Vec<u32>,
    scale: usize,
    promotion: Option<usize>,
    results: Vec<Vec<RungResult>>,
    promoted: Vec<HashSet<ArchId>>,
    bracket: Option<Bracket>,
    next_start: usize,
}

impl Scheduler {
    /// A scheduler of `config` for `problem` (the config is validated).
    pub fn new(config: &SchedulerConfig, problem: &Problem) -> Result<Self, NasError> {
        config.validate(problem)?;
        let rungs = config.rungs()?;
        let k = rungs.len();
        Ok(Scheduler {
            kind: config.kind,
            eta: config.eta,
            rungs,
            scale: config.bracket_scale,
            promotion: config.promotion(problem)?,
            results: vec![Vec::new(); k],
            promoted: vec![HashSet::new(); k],
            bracket: None,
            next_start: 0,
        })
    }

    /// The rungs in epochs.
    pub fn rungs(&self) -> &[u32] {
        &self.rungs
    }

    /// Candidates of the bracket starting at rung `j` (Hyperband's formula;
    /// successive halving starts every bracket at rung 0).
    pub fn bracket_size(&self, j: usize) -> usize {
        let k = (self.rungs.len() - 1) as f64;
        let j = j as f64;
        let n = ((k + 1.0) / (k + 1.0 - j) * self.eta.powf(k - j)).ceil() as usize;
        n.max(1).saturating_mul(self.scale)
    }

    /// How many of `n` results of a rung go on: `floor(n / eta)`.
    fn survivors(&self, n: usize) -> usize {
        (n as f64 / self.eta).floor() as usize
    }

    /// The results of `rung` (among `among`, when given) in promotion order,
    /// best first, failed ones left out.
    fn ranked(&self, rung: usize, among: Option<&HashSet<ArchId>>) -> Vec<ArchId> {
        let rs: Vec<&RungResult> =
            self.results[rung].iter().filter(|r| among.is_none_or(|a| a.contains(&r.arch))).collect();
        let mut order: Vec<usize> = (0..rs.len()).filter(|&i| rs[i].objectives.is_some()).collect();
        match self.promotion {
            None => {
                let objs: Vec<Option<&[f64]>> = rs.iter().map(|r| r.objectives.as_deref()).collect();
                let viol: Vec<f64> = rs.iter().map(|r| r.violation).collect();
                let rc = rank_and_crowding(&objs, &viol);
                // Stable: ties keep the order the results came in.
                order.sort_by(|&a, &b| rc[a].quality_cmp(&rc[b]));
            }
            Some(i) => {
                let key = |r: &RungResult| (r.violation > 0.0, r.objectives.as_ref().map_or(f64::INFINITY, |o| o[i]));
                order.sort_by(|&a, &b| {
                    let (ka, kb) = (key(rs[a]), key(rs[b]));
                    ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
                });
            }
        }
        order.into_iter().map(|i| rs[i].arch).collect()
    }

    /// Up to `slots` jobs to run next. An empty plan means nothing can run
    /// before results come in (never the case between batches) or nothing is
    /// left (the search is over).
    pub fn plan(&mut self, slots: usize) -> Plan {
        match self.kind {
            SchedulerKind::Asha => self.plan_asha(slots),
            SchedulerKind::SuccessiveHalving | SchedulerKind::Hyperband => self.plan_brackets(slots),
        }
    }

    fn plan_asha(&mut self, slots: usize) -> Plan {
        let mut plan = Plan::default();
        for _ in 0..slots {
            let mut job = None;
            for k in (0..self.rungs.len() - 1).rev() {
                let top = self.survivors(self.results[k].len());
                if top == 0 {
                    continue;
                }
                let ranked = self.ranked(k, None);
                if let Some(&arch) = ranked.iter().take(top).find(|a| !self.promoted[k].contains(a)) {
                    self.promoted[k].insert(arch);
                    job = Some(Job { arch, rung: k + 1 });
                    break;
                }
            }
            match job {
                Some(j) => plan.promotions.push(j),
                None => plan.new_at.push(0),
            }
        }
        plan
    }

    fn plan_brackets(&mut self, slots: usize) -> Plan {
        let mut plan = Plan::default();
        let top = self.rungs.len() - 1;
        let mut started = 0;
        while plan.promotions.len() + plan.new_at.len() < slots {
            let free = slots - plan.promotions.len() - plan.new_at.len();
            let Some(b) = self.bracket.as_mut() else {
                // A new bracket; stop after a full cycle of brackets with no candidate.
                if started > top + 1 {
                    break;
                }
                started += 1;
                let start = match self.kind {
                    SchedulerKind::Hyperband => {
                        let s = self.next_start;
                        self.next_start = (self.next_start + 1) % (top + 1);
                        s
                    }
                    _ => 0,
                };
                let n = self.bracket_size(start);
                self.bracket =
                    Some(Bracket { start, stage: start, members: Vec::new(), issued: 0, new_wanted: n, done: 0 });
                continue;
            };
            if b.stage == b.start && b.new_wanted > 0 {
                let m = free.min(b.new_wanted);
                plan.new_at.extend(std::iter::repeat_n(b.start, m));
                b.new_wanted -= m;
                continue;
            }
            if b.issued < b.members.len() {
                let m = free.min(b.members.len() - b.issued);
                for a in &b.members[b.issued..b.issued + m] {
                    plan.promotions.push(Job { arch: *a, rung: b.stage });
                }
                b.issued += m;
                continue;
            }
            if b.done < b.members.len() || !plan.is_empty() {
                // The stage is issued; its results are not all in.
                break;
            }
            // The stage is complete: promote its best to the next rung, or end the bracket.
            let members: HashSet<ArchId> = b.members.iter().copied().collect();
            let n = b.members.len();
            let stage = b.stage;
            if stage == top || n == 0 {
                self.bracket = None;
                continue;
            }
            let keep = self.survivors(n).max(1);
            let next: Vec<ArchId> = self.ranked(stage, Some(&members)).into_iter().take(keep).collect();
            if next.is_empty() {
                self.bracket = None;
                continue;
            }
            for a in &next {
                self.promoted[stage].insert(*a);
            }
            let b = self.bracket.as_mut().expect("bracket in progress");
            b.stage += 1;
            b.members = next;
            b.issued = 0;
            b.done = 0;
        }
        plan
    }

    /// The new candidates the driver found for the plan's `requested` new slots
    /// (fewer when the proposal strategy ran dry: the bracket shrinks).
    pub fn assign_new(&mut self, archs: &[ArchId], requested: usize) {
        if let Some(b) = self.bracket.as_mut() {
            b.members.extend_from_slice(archs);
            b.issued += archs.len();
            // Slots the strategy could not fill are given up.
            let _ = requested;
        }
    }

    /// A result: `arch` at `rung`, its objectives in minimisation form (`None`
    /// when the evaluation failed) and its constraint violation.
    pub fn report(&mut self, arch: ArchId, rung: usize, objectives: Option<Vec<f64>>, violation: f64) {
        self.results[rung].push(RungResult { arch, objectives, violation });
        if let Some(b) = self.bracket.as_mut()
            && b.stage == rung
            && b.members.contains(&arch)
        {
            b.done += 1;
        }
    }

    /// Results in at each rung.
    pub fn counts(&self) -> Vec<usize> {
        self.results.iter().map(Vec::len).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Metric, Objective};

    fn problem() -> Problem {
        Problem::new(vec![Objective::natural(Metric::Accuracy), Objective::natural(Metric::LatencyMs)], vec![])
    }

    fn sched(kind: &str, rungs: &[u32]) -> Scheduler {
        let cfg: SchedulerConfig =
            serde_json::from_value(serde_json::json!({"kind": kind, "rungs": rungs})).expect("config");
        Scheduler::new(&cfg, &problem()).expect("valid")
    }

    /// Candidate `i` has accuracy `i` (higher = better) and latency 1.
    fn result(i: u64) -> (ArchId, Option<Vec<f64>>) {
        (ArchId(i), Some(vec![-(i as f64), 1.0]))
    }

    /// Runs a scheduler with a supply of new candidates 0, 1, 2, ... and
    /// returns the jobs of each batch.
    fn drive(s: &mut Scheduler, batches: usize, slots: usize) -> Vec<Vec<Job>> {
        // New candidates are numbered on from the largest seen.
        let mut next = s.results.iter().flatten().map(|r| r.arch.0).max().unwrap_or(0);
        let mut out = Vec::new();
        for _ in 0..batches {
            let plan = s.plan(slots);
            let mut jobs = plan.promotions.clone();
            let new: Vec<ArchId> = plan
                .new_at
                .iter()
                .map(|_| {
                    next += 1;
                    ArchId(next)
                })
                .collect();
            s.assign_new(&new, plan.new_at.len());
            jobs.extend(new.iter().zip(&plan.new_at).map(|(a, r)| Job { arch: *a, rung: *r }));
            for j in &jobs {
                let (id, o) = result(j.arch.0);
                s.report(id, j.rung, o, 0.0);
            }
            out.push(jobs);
        }
        out
    }

    #[test]
    fn successive_halving_runs_eta_to_the_k_then_promotes_the_best_third() {
        // Rungs [1, 3, 9], eta 3: 9 candidates at 1 epoch, the best 3 at 3, the best at 9.
        let mut s = sched("successive_halving", &[1, 3, 9]);
        assert_eq!(s.bracket_size(0), 9);
        let batches = drive(&mut s, 3, 100);
        assert_eq!(batches[0].len(), 9);
        assert!(batches[0].iter().all(|j| j.rung == 0));
        let second: Vec<u64> = batches[1].iter().map(|j| j.arch.0).collect();
        assert_eq!(second, vec![9, 8, 7], "the three most accurate, best first");
        assert!(batches[1].iter().all(|j| j.rung == 1));
        assert_eq!(batches[2], vec![Job { arch: ArchId(9), rung: 2 }]);
        // The next bracket starts with fresh candidates.
        let next = drive(&mut s, 1, 100);
        assert_eq!(next[0].len(), 9);
        assert!(next[0].iter().all(|j| j.rung == 0));
    }

    #[test]
    fn hyperband_cycles_brackets_starting_at_every_rung() {
        let s = sched("hyperband", &[1, 3, 9]);
        // K = 2, eta = 3: ceil(3/3 * 9) = 9, ceil(3/2 * 3) = 5, ceil(3/1 * 1) = 3.
        assert_eq!((s.bracket_size(0), s.bracket_size(1), s.bracket_size(2)), (9, 5, 3));
        let mut s = s;
        let b = drive(&mut s, 6, 100);
        let rungs: Vec<Vec<usize>> = b.iter().map(|jobs| jobs.iter().map(|j| j.rung).collect()).collect();
        assert_eq!(rungs[0], vec![0; 9]);
        assert_eq!(rungs[1], vec![1; 3]);
        assert_eq!(rungs[2], vec![2; 1]);
        assert_eq!(rungs[3], vec![1; 5], "second bracket: 5 new candidates at rung 1");
        assert_eq!(rungs[4], vec![2; 1], "floor(5 / 3) = 1 goes on");
        assert_eq!(rungs[5], vec![2; 3], "third bracket: 3 new candidates at the top");
    }

    #[test]
    fn asha_promotes_as_soon_as_a_third_of_a_rung_is_beaten() {
        let mut s = sched("asha", &[1, 3]);
        // One slot at a time: candidates 1, 2 start; after 3 results at rung 0
        // the best (3) is promoted before any new candidate starts.
        let b = drive(&mut s, 4, 1);
        let jobs: Vec<Job> = b.into_iter().flatten().collect();
        assert_eq!(
            jobs,
            vec![
                Job { arch: ArchId(1), rung: 0 },
                Job { arch: ArchId(2), rung: 0 },
                Job { arch: ArchId(3), rung: 0 },
                Job { arch: ArchId(3), rung: 1 },
            ]
        );
        // Never promoted twice.
        let more: Vec<Job> = drive(&mut s, 3, 1).into_iter().flatten().collect();
        assert!(more.iter().all(|j| !(j.arch == ArchId(3) && j.rung == 1)), "{more:?}");
    }

    #[test]
    fn pareto_promotion_keeps_a_fast_candidate_next_to_accurate_ones() {
        let mut s = sched("successive_halving", &[1, 3]);
        // Three candidates: two accurate and slow, one inaccurate but fast.
        let plan = s.plan(10);
        assert_eq!(plan.new_at.len(), 3);
        let ids = [ArchId(1), ArchId(2), ArchId(3)];
        s.assign_new(&ids, 3);
        s.report(ids[0], 0, Some(vec![-90.0, 10.0]), 0.0);
        s.report(ids[1], 0, Some(vec![-89.0, 10.0]), 0.0);
        s.report(ids[2], 0, Some(vec![-50.0, 1.0]), 0.0);
        // floor(3 / 3) = 1 survivor: the front is {1, 3}; both extremes have
        // infinite crowding, so the first in order (1) goes on.
        let plan = s.plan(10);
        assert_eq!(plan.promotions, vec![Job { arch: ArchId(1), rung: 1 }]);
        // Ranked by accuracy only, candidate 3 would never be considered; by
        // Pareto rank it is in the first front.
        let ranked = s.ranked(0, None);
        assert_eq!(&ranked[..2], &[ArchId(1), ArchId(3)]);
    }
}
