//! The successive baseline of NASAIC (Yang et al., DAC 2020, §V): first the
//! networks, then the hardware, instead of both together.
//!
//! **Network phase** (the first `network_share` of the budget): every task's
//! network is searched on a fixed reference accelerator (by default the largest
//! single sub-accelerator the budgets allow), drawing new networks or mutating
//! the best so far; the chosen networks are the most accurate ones whose system
//! latency on the reference meets the run's `latency_ms` constraint (the
//! lowest-latency ones when none does). **Hardware phase** (the rest): with
//! those networks fixed, designs and mappings are drawn or mutated from the
//! best so far, best meaning the smallest total constraint violation, then the
//! lowest latency. The baseline's answer is [`pick`] of the hardware phase's
//! trials.

use super::space::{CoDesignArch, CoDesignSpace};
use nas_core::hardware::AcceleratorDesign;
use nas_core::registry::{StrategyContext, StrategySettings};
use nas_core::{
    AnyArch, ArchId, Architecture, Capability, Comparison, DynSpace, Evaluated, Metric, MetricMap, Mutate, NasError,
    Problem, Result, SearchSpace, SearchStrategy,
};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// Settings of the `successive` strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuccessiveSettings {
    /// Share of the budget spent on the networks (default 0.5).
    pub network_share: f64,
    /// The reference design of the network phase (a design notation such as
    /// `ws-64x64-gb256k-rf64b-bw32g-500mhz`; default: the largest single
    /// sub-accelerator within the budgets).
    pub reference: Option<String>,
    /// Probability of mutating the best so far instead of drawing anew
    /// (default 0.5).
    pub exploit: f64,
}

impl Default for SuccessiveSettings {
    fn default() -> Self {
        SuccessiveSettings { network_share: 0.5, reference: None, exploit: 0.5 }
    }
}

fn invalid(field: &str, value: impl std::fmt::Display, allowed: &str) -> NasError {
    NasError::InvalidValue { field: format!("strategy.{field}"), value: value.to_string(), allowed: allowed.into() }
}

impl SuccessiveSettings {
    /// Trials of the network phase for a budget.
    pub fn network_trials(&self, budget: usize) -> usize {
        ((budget as f64 * self.network_share).ceil() as usize).clamp(1, budget.saturating_sub(1).max(1))
    }

    /// The reference design in `space`.
    pub fn reference_design(&self, space: &CoDesignSpace) -> Result<AcceleratorDesign> {
        let hw = space.hardware();
        let design = match &self.reference {
            Some(n) => n.parse().map_err(|e| invalid("reference", n, &format!("a design notation: {e}")))?,
            None => largest_single(space),
        };
        hw.check(&design)
            .map_err(|r| invalid("reference", design.notation(), &format!("a design of the space: {r}")))?;
        Ok(design)
    }
}

/// The largest single sub-accelerator within the budgets: most PEs (then the
/// squarest array), the largest buffer, register file, bandwidth and clock.
fn largest_single(space: &CoDesignSpace) -> AcceleratorDesign {
    let hw = space.hardware();
    let max_usize = |v: &[usize]| v.iter().copied().max().unwrap_or(1);
    let max_f = |v: &[f64], cap: f64| v.iter().copied().filter(|x| *x <= cap + 1e-9).fold(f64::MIN, f64::max);
    let mut best = (0usize, usize::MAX, 0usize, 0usize);
    for &r in &hw.rows {
        for &c in &hw.cols {
            let (pes, skew) = (r * c, r.abs_diff(c));
            if pes <= hw.max_pes && (pes > best.0 || (pes == best.0 && skew < best.1)) {
                best = (pes, skew, r, c);
            }
        }
    }
    let df = if hw.dataflows.contains(&nas_core::hardware::Dataflow::WeightStationary) {
        nas_core::hardware::Dataflow::WeightStationary
    } else {
        hw.dataflows[0]
    };
    AcceleratorDesign {
        subs: vec![nas_core::hardware::SubAccelerator {
            dataflow: df,
            rows: best.2,
            cols: best.3,
            buffer_kib: max_usize(&hw.buffer_kib),
            rf_bytes: max_usize(&hw.rf_bytes),
            bandwidth_gbs: max_f(&hw.bandwidth_gbs, hw.max_bandwidth_gbs),
            clock_mhz: max_f(&hw.clock_mhz, f64::INFINITY),
        }],
    }
}

fn accuracy(m: &MetricMap) -> f64 {
    m.get(&Metric::Accuracy).copied().unwrap_or(f64::NEG_INFINITY)
}

fn latency(m: &MetricMap) -> f64 {
    m.get(&Metric::LatencyMs).copied().unwrap_or(f64::INFINITY)
}

/// The better of two results of a co-design search: the smaller total
/// constraint violation, then the higher accuracy, then the lower latency
/// (`Less` when `a` is better).
pub fn better(problem: &Problem, a: &MetricMap, b: &MetricMap) -> Ordering {
    let v = |m: &MetricMap| {
        let x = problem.violation(m);
        if x.is_nan() { f64::INFINITY } else { x }
    };
    v(a).total_cmp(&v(b)).then(accuracy(b).total_cmp(&accuracy(a))).then(latency(a).total_cmp(&latency(b)))
}

/// The chosen result among `results` (metrics of successful trials; see
/// [`better`]); `None` when there is none.
pub fn pick<'a>(problem: &Problem, results: impl IntoIterator<Item = &'a MetricMap>) -> Option<&'a MetricMap> {
    results.into_iter().filter(|m| !m.is_empty()).min_by(|a, b| better(problem, a, b))
}

/// The latency bound of the run (its `latency_ms <=` constraint), if any.
fn latency_spec(problem: &Problem) -> Option<f64> {
    problem
        .constraints
        .iter()
        .filter(|c| c.metric == Metric::LatencyMs && c.cmp == Comparison::AtMost)
        .map(|c| c.bound)
        .reduce(f64::min)
}

/// The successive baseline (see the module docs).
pub struct Successive {
    space: CoDesignSpace,
    problem: Problem,
    settings: SuccessiveSettings,
    reference: AcceleratorDesign,
    phase1: usize,
    seen: BTreeSet<ArchId>,
    /// What each phase proposed.
    phase1_ids: BTreeSet<ArchId>,
    phase2_ids: BTreeSet<ArchId>,
    /// Best of the network phase: (arch, metrics).
    best_nets: Option<(CoDesignArch, MetricMap)>,
    /// Best of the hardware phase.
    best_hw: Option<(CoDesignArch, MetricMap)>,
}

impl Successive {
    fn net_better(&self, a: &MetricMap, b: &MetricMap) -> bool {
        let spec = latency_spec(&self.problem);
        let ok = |m: &MetricMap| spec.is_none_or(|s| latency(m) <= s);
        match (ok(a), ok(b)) {
            (true, false) => true,
            (false, true) => false,
            (true, true) => accuracy(a) > accuracy(b) || (accuracy(a) == accuracy(b) && latency(a) < latency(b)),
            (false, false) => latency(a) < latency(b),
        }
    }

    fn propose_network(&self, rng: &mut dyn RngCore) -> CoDesignArch {
        let mapping = vec![0; self.space.task_names().len()];
        let nets: Vec<AnyArch> = match &self.best_nets {
            Some((best, _)) if rng.random_bool(self.settings.exploit) => {
                let mut nets = best.nets().to_vec();
                let k = rng.random_range(0..nets.len());
                let s = &self.space.task_list()[k].space;
                nets[k] = if s.has(Capability::Mutate) { s.mutate(&nets[k], rng) } else { s.sample(rng) };
                nets
            }
            _ => self.space.task_list().iter().map(|t| t.space.sample(rng)).collect(),
        };
        self.space.compose(nets, self.reference.clone(), mapping).expect("reference design checked at build")
    }

    fn propose_hardware(&self, rng: &mut dyn RngCore) -> CoDesignArch {
        let (nets, _) = self.best_nets.as_ref().expect("network phase told");
        let hw = self.space.hardware();
        let design = match &self.best_hw {
            Some((best, _)) if rng.random_bool(self.settings.exploit) => hw.mutate(best.design(), rng),
            _ => hw.sample(rng),
        };
        let mapping = (0..nets.nets().len()).map(|_| rng.random_range(0..design.subs.len())).collect();
        self.space.compose(nets.nets().to_vec(), design, mapping).expect("sampled designs are valid")
    }
}

impl SearchStrategy<DynSpace> for Successive {
    fn name(&self) -> &'static str {
        "successive"
    }

    fn ask(&mut self, _space: &DynSpace, n: usize, rng: &mut dyn RngCore) -> Vec<AnyArch> {
        let mut out = Vec::new();
        let mut misses = 0;
        while out.len() < n && misses < 1000 {
            // The network phase lasts its share of the budget, and until some
            // network result is back (every one failing extends it).
            let in_phase1 = self.phase1_ids.len() < self.phase1 || self.best_nets.is_none();
            if !in_phase1 && !out.is_empty() && self.phase2_ids.is_empty() {
                break; // the phase changes between asks
            }
            if in_phase1 && self.phase1_ids.len() >= self.phase1 && !out.is_empty() {
                break;
            }
            let a = if in_phase1 { self.propose_network(rng) } else { self.propose_hardware(rng) };
            if self.seen.insert(a.id()) {
                if in_phase1 { &mut self.phase1_ids } else { &mut self.phase2_ids }.insert(a.id());
                out.push(AnyArch::new(a));
            } else {
                misses += 1;
            }
        }
        out
    }

    fn tell(&mut self, _space: &DynSpace, results: &[Evaluated<AnyArch>]) {
        for r in results {
            self.seen.insert(r.id);
            let Some(a) = r.arch.downcast_ref::<CoDesignArch>() else { continue };
            if r.metrics.is_empty() {
                continue;
            }
            if self.phase1_ids.contains(&r.id) {
                if self.best_nets.as_ref().is_none_or(|(_, m)| self.net_better(&r.metrics, m)) {
                    self.best_nets = Some((a.clone(), r.metrics.clone()));
                }
            } else if self.phase2_ids.contains(&r.id)
                && self.best_hw.as_ref().is_none_or(|(_, m)| better(&self.problem, &r.metrics, m) == Ordering::Less)
            {
                self.best_hw = Some((a.clone(), r.metrics.clone()));
            }
        }
    }
}

impl StrategySettings for SuccessiveSettings {
    const NAME: &'static str = "successive";
    const DESCRIPTION: &'static str =
        "NASAIC's successive baseline: networks on a reference accelerator, then the hardware (space codesign)";

    fn validate(&self) -> Result<()> {
        if !(self.network_share > 0.0 && self.network_share < 1.0) {
            return Err(invalid("network_share", self.network_share, "a share strictly between 0 and 1"));
        }
        if !(0.0..=1.0).contains(&self.exploit) {
            return Err(invalid("exploit", self.exploit, "a probability in [0, 1]"));
        }
        if let Some(r) = &self.reference {
            r.parse::<AcceleratorDesign>().map_err(|e| invalid("reference", r, &format!("a design notation: {e}")))?;
        }
        Ok(())
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::CoDesign]
    }

    fn min_budget(&self) -> usize {
        2
    }

    fn build(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
        self.validate()?;
        let space = ctx.space.downcast_ref::<CoDesignSpace>().ok_or_else(|| {
            invalid(
                "kind",
                "successive",
                &format!("a strategy for space `codesign`; this run's space is `{}`", ctx.space.name()),
            )
        })?;
        let reference = self.reference_design(space)?;
        Ok(Box::new(Successive {
            space: space.clone(),
            problem: ctx.problem.clone(),
            settings: self.clone(),
            phase1: self.network_trials(ctx.budget),
            reference,
            seen: BTreeSet::new(),
            phase1_ids: BTreeSet::new(),
            phase2_ids: BTreeSet::new(),
            best_nets: None,
            best_hw: None,
        }))
    }
}
