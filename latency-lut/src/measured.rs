//! End-to-end latency: timing a whole network of a trainable space
//! ([`DynTrainable`], which every `TrainableSpace` is).
//!
//! [`measure_network`] builds the burn network of an architecture on a plain
//! (non-autodiff) flex device, so batch norms run in inference mode, and times its
//! `forward` on a random batch with the same [`Protocol`] as the table entries.
//! It is slow (a second or more per network) but exact: it is the reference the
//! lookup tables are validated against, and [`MeasuredLatency`] offers it as an
//! evaluator.
//!
//! Only one measurement runs at a time in a process (a global lock), so that
//! evaluations running in parallel in a search do not disturb each other's timings.

use crate::error::{LutError, Result};
use crate::measure::{Protocol, RoundSamples, Timing, time_round};
use burn::tensor::{Distribution, Tensor};
use nas_core::progress::{ProgressSink, TaskProgress};
use nas_core::train::DynTrainable;
use nas_core::{AnyArch, DynSpace, EvalContext, EvalError, Evaluator, Metric, MetricMap};
use std::sync::{Mutex, PoisonError};

/// Serialises all timings of the process (tables and networks).
static MEASURE_LOCK: Mutex<()> = Mutex::new(());

/// Runs `f` while holding the process-wide measurement lock.
pub(crate) fn exclusive<T>(f: impl FnOnce() -> T) -> T {
    let _guard = MEASURE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    f()
}

/// Seed of the weights of timed networks and layers. Values do not change the
/// time of these kernels; a fixed seed keeps the process-wide generator's other
/// users (seeded training) unaffected and the timed work identical across runs.
pub(crate) const WEIGHT_SEED: u64 = 0x01a7_e2c7;

/// Times `arch`'s network end to end with the protocol `p`: a random batch of
/// `p.batch` inputs of the space's shape, then warm-up, samples and rounds as for a
/// table entry.
pub fn measure_network<A: Sync>(space: &dyn DynTrainable<A>, arch: &A, p: &Protocol) -> Result<Timing> {
    p.validate()?;
    exclusive(|| {
        p.install(|| {
            let device = p.backend.device();
            let model = space.build_forward(arch, &device, WEIGHT_SEED);
            let [c, h, w] = space.input_chw();
            let x = Tensor::<4>::random([p.batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
            let mut all = Vec::new();
            let (mut calls, mut warm, mut pre) = (1, 0, 0);
            for _ in 0..p.rounds {
                let r = time_round(p, || drop(model.forward(x.clone())));
                all.extend(r.samples);
                calls = r.calls_per_sample;
                warm += r.warmup;
                pre += r.preempted;
            }
            Timing::from_samples(&all, calls, warm, pre)
        })
    })
}

/// Times several networks end to end, interleaved: round `r` times every network
/// once before round `r + 1` starts, and each network's samples of all rounds are
/// pooled.
///
/// On a shared machine the speed drifts over seconds (another process compiles,
/// links, or stops). Timing networks one after another puts each of them in
/// whatever phase the machine was in at that moment, and their errors against a
/// table become a bimodal mix of "fast" and "slow" phases; interleaving spreads
/// every network over the whole measurement, as the table's own entries are
/// (see [`Protocol::rounds`]). All models are built first (seeded, on a plain
/// device) and kept in memory. `progress` hears after each timed round of a
/// network (stage `end to end`).
pub fn measure_networks<A: Sync>(
    space: &dyn DynTrainable<A>,
    archs: &[A],
    p: &Protocol,
    progress: &dyn ProgressSink,
) -> Result<Vec<Timing>> {
    let rounds = measure_network_rounds(space, archs, p, progress, &|_| 1.0)?;
    Ok(rounds.iter().map(|rs| Timing::pool(rs)).collect())
}

/// [`measure_networks`], returning each network's rounds unpooled (to compare
/// rounds, or the same networks measured at two times). Every sample of round
/// `r` is multiplied by `factor(r)` (1 on a real machine; tests inject a change
/// of speed with it).
pub fn measure_network_rounds<A: Sync>(
    space: &dyn DynTrainable<A>,
    archs: &[A],
    p: &Protocol,
    progress: &dyn ProgressSink,
    factor: &(dyn Fn(usize) -> f64 + Sync),
) -> Result<Vec<Vec<RoundSamples>>> {
    p.validate()?;
    exclusive(|| {
        p.install(|| {
            let device = p.backend.device();
            let [c, h, w] = space.input_chw();
            let x = Tensor::<4>::random([p.batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
            let models: Vec<Box<dyn nas_core::train::Forward>> =
                archs.iter().map(|a| space.build_forward(a, &device, WEIGHT_SEED)).collect();
            let mut rounds: Vec<Vec<RoundSamples>> = vec![Vec::with_capacity(p.rounds); archs.len()];
            let total = archs.len() * p.rounds;
            for r in 0..p.rounds {
                let f = factor(r);
                for (i, model) in models.iter().enumerate() {
                    rounds[i].push(time_round(p, || drop(model.forward(x.clone()))).scaled(f));
                    let round = format!("round {}/{}", r + 1, p.rounds);
                    progress.update(&TaskProgress {
                        stage: "end to end",
                        done: r * archs.len() + i + 1,
                        total,
                        message: &round,
                    });
                }
            }
            rounds
        })
    })
}

/// Measured end-to-end latency as an evaluator (`latency_ms`): slow but exact.
pub struct MeasuredLatency {
    space: DynSpace,
    protocol: Protocol,
}

impl MeasuredLatency {
    /// Measures networks of `space` with `protocol` (validated here); the space
    /// must build burn networks.
    pub fn new(space: DynSpace, protocol: Protocol) -> Result<Self> {
        protocol.validate()?;
        if space.trainable().is_none() {
            return Err(LutError::Backend(format!(
                "space `{}` builds no burn network, so its latency cannot be measured",
                nas_core::SearchSpace::name(&space)
            )));
        }
        Ok(MeasuredLatency { space, protocol })
    }

    /// The timing protocol.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }
}

impl Evaluator<AnyArch> for MeasuredLatency {
    fn name(&self) -> String {
        let p = &self.protocol;
        format!("measured({}, batch {}, {} thread(s))", p.backend, p.batch, p.threads)
    }

    fn fidelity(&self) -> nas_core::fidelity::FidelitySupport {
        nas_core::fidelity::FidelitySupport::Independent
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn evaluate(&self, arch: &AnyArch, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let Some(trainable) = self.space.trainable() else {
            return Err(EvalError::failed("the space builds no burn network"));
        };
        match measure_network(trainable, arch, &self.protocol) {
            Ok(t) => Ok(MetricMap::from([(Metric::LatencyMs, t.median_ms)])),
            // A network that burn cannot run fails this candidate only.
            Err(LutError::Backend(reason)) => Err(EvalError::failed(reason)),
            Err(e) => Err(EvalError::Fatal(e.into())),
        }
    }
}
