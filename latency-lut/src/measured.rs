//! End-to-end latency: timing a whole network of a [`TrainableSpace`].
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
use crate::measure::{Protocol, Timing, time_round};
use burn::tensor::{Distribution, Tensor};
use nas_core::train::{ImageClassifier, TrainableSpace, init_seeded};
use nas_core::{EvalContext, EvalError, Evaluator, Metric, MetricMap};
use std::sync::{Arc, Mutex, PoisonError};

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
pub fn measure_network<S: TrainableSpace>(space: &S, arch: &S::Arch, p: &Protocol) -> Result<Timing> {
    p.validate()?;
    exclusive(|| {
        p.install(|| {
            let device = p.backend.device();
            let model = init_seeded(WEIGHT_SEED, &device, || space.build_model(arch, &device));
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
/// device) and kept in memory. `progress(done, total)` is called after each
/// timed round of a network.
pub fn measure_networks<S: TrainableSpace>(
    space: &S,
    archs: &[S::Arch],
    p: &Protocol,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<Vec<Timing>> {
    p.validate()?;
    exclusive(|| {
        p.install(|| {
            let device = p.backend.device();
            let [c, h, w] = space.input_chw();
            let x = Tensor::<4>::random([p.batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
            let models: Vec<S::Model> =
                archs.iter().map(|a| init_seeded(WEIGHT_SEED, &device, || space.build_model(a, &device))).collect();
            let mut rounds: Vec<Vec<crate::measure::RoundSamples>> = vec![Vec::with_capacity(p.rounds); archs.len()];
            let total = archs.len() * p.rounds;
            for r in 0..p.rounds {
                for (i, model) in models.iter().enumerate() {
                    rounds[i].push(time_round(p, || drop(model.forward(x.clone()))));
                    progress(r * archs.len() + i + 1, total);
                }
            }
            rounds
                .into_iter()
                .map(|rs| {
                    let samples: Vec<f64> = rs.iter().flat_map(|r| r.samples.iter().copied()).collect();
                    let cps = rs.last().map_or(1, |r| r.calls_per_sample);
                    Timing::from_samples(
                        &samples,
                        cps,
                        rs.iter().map(|r| r.warmup).sum(),
                        rs.iter().map(|r| r.preempted).sum(),
                    )
                })
                .collect()
        })
    })
}

/// Measured end-to-end latency as an evaluator (`latency_ms`): slow but exact.
pub struct MeasuredLatency<S> {
    space: Arc<S>,
    protocol: Protocol,
}

impl<S: TrainableSpace> MeasuredLatency<S> {
    /// Measures networks of `space` with `protocol` (validated here).
    pub fn new(space: Arc<S>, protocol: Protocol) -> Result<Self> {
        protocol.validate()?;
        Ok(MeasuredLatency { space, protocol })
    }

    /// The timing protocol.
    pub fn protocol(&self) -> &Protocol {
        &self.protocol
    }
}

impl<S: TrainableSpace> Evaluator<S::Arch> for MeasuredLatency<S> {
    fn name(&self) -> String {
        let p = &self.protocol;
        format!("measured({}, batch {}, {} thread(s))", p.backend, p.batch, p.threads)
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn evaluate(&self, arch: &S::Arch, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        match measure_network(self.space.as_ref(), arch, &self.protocol) {
            Ok(t) => Ok(MetricMap::from([(Metric::LatencyMs, t.median_ms)])),
            // A network that burn cannot run fails this candidate only.
            Err(LutError::Backend(reason)) => Err(EvalError::failed(reason)),
            Err(e) => Err(EvalError::Fatal(e.into())),
        }
    }
}
