//! Building a table: measuring every layer of a space and the calibration
//! networks, with the stability checks of [`crate::stability`].
//!
//! # One attempt
//!
//! 1. the calibration networks are measured end to end (interleaved rounds);
//! 2. every layer is measured, round-robin over the table, `protocol.rounds`
//!    times; a round whose speed index is off by more than the tolerance is
//!    measured again (at most `protocol.rounds` times);
//! 3. the calibration networks are measured again;
//! 4. the drift (end against start), the round spread and the calibration fit
//!    error are checked against [`StabilityOptions`].
//!
//! An attempt that fails a check is repeated (at most `max_retries` times); if
//! none passes, the best one is kept and the table records why it did not
//! settle ([`Stability`]), which every user of the table then prints.
//! Without calibration networks only the round check applies.

use crate::error::{LutError, Result};
use crate::fingerprint::DeviceFingerprint;
use crate::lut::{Calibration, CalibrationPoint, Coverage, CoverageOptions, LatencyTable, LutEntry, SpaceId};
use crate::lut::{LayerSet, distinct_layers};
use crate::measure::{LayerRunner, Protocol, RoundSamples, Timing, layer_key, round_to, time_round};
use crate::measured::{WEIGHT_SEED, exclusive, measure_network_rounds};
use crate::stability::{
    AttemptRecord, NoSlowdown, Slowdown, Stability, StabilityOptions, Stage, drift, median, round_speeds, spread,
};
use nas_core::progress::{ProgressSink, TaskProgress};
use nas_core::train::{DynTrainable, init_seeded};
use nas_core::{Architecture, ToNetworkSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Settings of [`build_table`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildOptions {
    /// The timing protocol (batch and threads included).
    pub protocol: Protocol,
    /// Networks measured end to end to fit the calibration (0 = none; default 8).
    pub calibration_networks: usize,
    /// How the layer set is found.
    pub coverage: CoverageOptions,
    /// Seed of the choice of calibration networks.
    pub seed: u64,
    /// The stability checks and their retries.
    pub stability: StabilityOptions,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            protocol: Protocol::default(),
            calibration_networks: 8,
            coverage: CoverageOptions::default(),
            seed: 0,
            stability: StabilityOptions::default(),
        }
    }
}

impl BuildOptions {
    /// Checks the protocol and the stability settings.
    pub fn validate(&self) -> Result<()> {
        self.protocol.validate()?;
        let s = &self.stability;
        for (field, v) in [("stability.tolerance", s.tolerance), ("stability.max_fit_error", s.max_fit_error)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(LutError::invalid(field, v, "a positive fraction such as 0.05"));
            }
        }
        if s.max_retries > 10 {
            return Err(LutError::invalid("stability.max_retries", s.max_retries, "an integer from 0 to 10"));
        }
        Ok(())
    }
}

/// Measures every distinct layer of `space` (see [`distinct_layers`]) and, when
/// `opts.calibration_networks > 0`, fits the calibration on networks measured
/// end to end (built by `trainable`), checking that the machine held still (see
/// the module docs). `progress` hears after each timed item.
pub fn build_table<S: ToNetworkSpec>(
    space: &S,
    trainable: Option<&dyn DynTrainable<S::Arch>>,
    id: SpaceId,
    opts: &BuildOptions,
    progress: &dyn ProgressSink,
) -> Result<LatencyTable> {
    build_table_with(space, trainable, id, opts, progress, &NoSlowdown)
}

/// [`build_table`] with a change of speed injected into chosen stages (tests).
pub fn build_table_with<S: ToNetworkSpec>(
    space: &S,
    trainable: Option<&dyn DynTrainable<S::Arch>>,
    id: SpaceId,
    opts: &BuildOptions,
    progress: &dyn ProgressSink,
    slowdown: &dyn Slowdown,
) -> Result<LatencyTable> {
    opts.validate()?;
    let p = &opts.protocol;
    let set = distinct_layers(space, &opts.coverage);
    let k = opts.calibration_networks;
    let calibration: Option<CalibrationSet<'_, S::Arch>> = if k > 0 {
        let trainable = trainable.ok_or_else(|| {
            LutError::Backend(format!(
                "the calibration measures networks end to end, but space `{}` builds no burn network; \
                 build with --calibration 0",
                space.name()
            ))
        })?;
        Some(CalibrationSet { trainable, archs: calibration_archs(space, k, opts.seed) })
    } else {
        None
    };
    let coverage =
        Coverage { exhaustive: set.exhaustive, architectures: set.architectures, distinct_layers: set.layers.len() };
    let device = DeviceFingerprint::current(p);
    let mut attempts: Vec<AttemptRecord> = Vec::new();
    let mut best: Option<(usize, LatencyTable)> = None;
    for attempt in 0..=opts.stability.max_retries {
        let ctx = Attempt { space, set: &set, opts, progress, slowdown, attempt, calibration: calibration.as_ref() };
        let (table, record) = ctx.run(id.clone(), device.clone(), coverage.clone())?;
        let passed = record.passed();
        let better = best.as_ref().is_none_or(|(i, _)| record.badness() < attempts[*i].badness());
        attempts.push(record);
        if passed || better {
            best = Some((attempt, table));
        }
        if passed {
            break;
        }
    }
    let (kept, mut table) = best.ok_or_else(|| LutError::Backend("the build made no attempt".into()))?;
    let spreads: Vec<f64> = table.entries.iter().map(|e| e.timing.rel_iqr()).filter(|s| s.is_finite()).collect();
    table.stability = Some(Stability {
        options: opts.stability.clone(),
        attempts,
        kept,
        median_entry_spread: round_to(median(&spreads), 1e-6),
        max_entry_spread: round_to(spreads.iter().copied().fold(0.0, f64::max), 1e-6),
    });
    Ok(table)
}

/// One attempt of a build (see the module docs).
struct Attempt<'a, S: ToNetworkSpec> {
    space: &'a S,
    set: &'a LayerSet,
    opts: &'a BuildOptions,
    progress: &'a dyn ProgressSink,
    slowdown: &'a dyn Slowdown,
    attempt: usize,
    calibration: Option<&'a CalibrationSet<'a, S::Arch>>,
}

/// The calibration networks and the space that builds them.
struct CalibrationSet<'a, A> {
    trainable: &'a dyn DynTrainable<A>,
    archs: Vec<A>,
}

impl<S: ToNetworkSpec> Attempt<'_, S> {
    fn label(&self, what: &str) -> String {
        if self.attempt == 0 { what.to_string() } else { format!("retry {}: {what}", self.attempt) }
    }

    fn total(&self) -> usize {
        let p = &self.opts.protocol;
        self.set.layers.len() * p.rounds + 2 * self.calibration.map_or(0, |c| c.archs.len()) * p.rounds
    }

    /// Measures the calibration networks once (all rounds), reporting progress from `done`.
    fn networks(&self, stage: Stage, done: usize) -> Result<Vec<Vec<RoundSamples>>> {
        let Some(CalibrationSet { trainable, archs }) = self.calibration else { return Ok(Vec::new()) };
        let n = archs.len() * self.opts.protocol.rounds;
        let label = self.label(match stage {
            Stage::CalibrationStart { .. } => "calibration networks (start)",
            _ => "calibration networks (end)",
        });
        let total = self.total();
        let sink = |t: &TaskProgress<'_>| {
            self.progress.update(&TaskProgress {
                stage: &label,
                done: done + t.done * n / t.total.max(1),
                total,
                message: t.message,
            })
        };
        let factor = self.slowdown.factor(stage);
        measure_network_rounds(*trainable, archs, &self.opts.protocol, &sink, &|_| factor)
    }

    /// Measures every layer in interleaved rounds, re-measuring rounds whose
    /// speed is off. Returns each layer's rounds and the attempt's round record.
    fn layers(&self, done: usize) -> Result<(Vec<Vec<RoundSamples>>, Vec<f64>, usize)> {
        let p = &self.opts.protocol;
        let tol = self.opts.stability.tolerance;
        let layers = &self.set.layers;
        let n = layers.len();
        let total = self.total();
        exclusive(|| {
            p.install(|| -> Result<(Vec<Vec<RoundSamples>>, Vec<f64>, usize)> {
                let device = p.backend.device();
                let mut runners = Vec::with_capacity(n);
                for l in layers {
                    let mut built = None;
                    // Seeded and under nas-core's initialisation lock, so that building
                    // layers never disturbs concurrent seeded training.
                    init_seeded(WEIGHT_SEED, &device, || {
                        built = Some(LayerRunner::new(&l.spec, p.batch, &device));
                        burn::nn::Identity::new()
                    });
                    runners.push(built.ok_or_else(|| LutError::Backend("layer construction did not run".into()))??);
                }
                let mut measure_round = |r: usize, label: &str, done_before: usize| -> Vec<RoundSamples> {
                    let factor = self.slowdown.factor(Stage::Layers { attempt: self.attempt, round: r });
                    let mut out = Vec::with_capacity(n);
                    for (i, runner) in runners.iter_mut().enumerate() {
                        out.push(time_round(p, || runner.run()).scaled(factor));
                        self.progress.update(&TaskProgress {
                            stage: label,
                            done: (done_before + i + 1).min(total),
                            total,
                            message: &layer_key(&layers[i].spec),
                        });
                    }
                    out
                };
                // by_round[r][layer]
                let mut by_round: Vec<Vec<RoundSamples>> = Vec::with_capacity(p.rounds);
                for r in 0..p.rounds {
                    let label = self.label(&format!("layers (round {}/{})", r + 1, p.rounds));
                    by_round.push(measure_round(r, &label, done + r * n));
                }
                // Rounds whose speed is off are measured again (numbered on from
                // `rounds`, so an injected slowdown can tell them apart).
                let mut remeasured = 0;
                let speeds = loop {
                    let speeds = round_speeds(&medians_by_item(&by_round));
                    if spread(&speeds) <= tol || remeasured >= p.rounds {
                        break speeds;
                    }
                    let worst = speeds
                        .iter()
                        .enumerate()
                        .max_by(|a, b| (a.1 - 1.0).abs().total_cmp(&(b.1 - 1.0).abs()))
                        .map_or(0, |(i, _)| i);
                    let label = self.label(&format!("layers (round {} again)", worst + 1));
                    by_round[worst] = measure_round(p.rounds + remeasured, &label, done + worst * n);
                    remeasured += 1;
                };
                Ok((transpose(by_round, n), speeds, remeasured))
            })
        })?
    }

    fn run(&self, id: SpaceId, device: DeviceFingerprint, coverage: Coverage) -> Result<(LatencyTable, AttemptRecord)> {
        let p = &self.opts.protocol;
        let stab = &self.opts.stability;
        let k = self.calibration.map_or(0, |c| c.archs.len());
        let start = self.networks(Stage::CalibrationStart { attempt: self.attempt }, 0)?;
        let (layer_rounds, speeds, remeasured) = self.layers(k * p.rounds)?;
        let end = self.networks(
            Stage::CalibrationEnd { attempt: self.attempt },
            k * p.rounds + self.set.layers.len() * p.rounds,
        )?;
        let entries: Vec<LutEntry> = self
            .set
            .layers
            .iter()
            .zip(&layer_rounds)
            .map(|(l, rs)| LutEntry {
                key: layer_key(&l.spec),
                layer: l.spec,
                example: l.name.clone(),
                timing: Timing::pool(rs),
            })
            .collect();
        let mut table = LatencyTable::new(id, p.batch, device, p.clone(), coverage, None, entries)?;
        let mut problems = Vec::new();
        let mut drift_now = 0.0;
        if let Some(CalibrationSet { archs, .. }) = self.calibration {
            let med = |rs: &Vec<Vec<RoundSamples>>| rs.iter().map(|r| Timing::pool(r).median_ms).collect::<Vec<f64>>();
            drift_now = drift(&med(&start), &med(&end));
            let mut points = Vec::with_capacity(archs.len());
            for ((arch, s), e) in archs.iter().zip(start).zip(end) {
                let both: Vec<RoundSamples> = s.into_iter().chain(e).collect();
                let t = Timing::pool(&both);
                let layers_ms = table.layers_ms(&self.space.network_spec(arch))?;
                points.push(CalibrationPoint {
                    arch: arch.notation(),
                    layers_ms: round_to(layers_ms, 1e-6),
                    measured_ms: t.median_ms,
                    measured_iqr_ms: t.iqr_ms,
                });
            }
            table.calibration = Calibration::fit(points);
            if drift_now.abs() > stab.tolerance {
                problems.push(format!(
                    "its speed changed by {:+.1}% between the calibration networks measured at the start and at \
                     the end (tolerance ±{:.1}%)",
                    100.0 * drift_now,
                    100.0 * stab.tolerance
                ));
            }
        }
        let round_spread = spread(&speeds);
        if round_spread > stab.tolerance {
            problems.push(format!(
                "the layer rounds ran at speeds {:.1}% apart after {remeasured} re-measured round(s) (tolerance {:.1}%)",
                100.0 * round_spread,
                100.0 * stab.tolerance
            ));
        }
        let fit_error = table.calibration.as_ref().map(|c| c.max_rel_residual);
        if let Some(e) = fit_error.filter(|e| *e > stab.max_fit_error) {
            problems.push(format!(
                "the calibration fits its own networks only within {:.1}% (tolerance {:.1}%)",
                100.0 * e,
                100.0 * stab.max_fit_error
            ));
        }
        let record = AttemptRecord {
            drift: round_to(drift_now, 1e-6),
            round_speeds: speeds.iter().map(|s| round_to(*s, 1e-6)).collect(),
            rounds_remeasured: remeasured,
            fit_error,
            problems,
        };
        Ok((table, record))
    }
}

/// `by_round[r][item]` -> `[item][r]`.
fn transpose(by_round: Vec<Vec<RoundSamples>>, items: usize) -> Vec<Vec<RoundSamples>> {
    let mut out: Vec<Vec<RoundSamples>> = (0..items).map(|_| Vec::with_capacity(by_round.len())).collect();
    for round in by_round {
        for (i, r) in round.into_iter().enumerate() {
            out[i].push(r);
        }
    }
    out
}

/// `by_round[r][item]` -> per item, its median in each round.
fn medians_by_item(by_round: &[Vec<RoundSamples>]) -> Vec<Vec<f64>> {
    let items = by_round.first().map_or(0, Vec::len);
    (0..items).map(|i| by_round.iter().map(|r| r[i].median()).collect()).collect()
}

/// `k` architectures whose sizes (MACs) spread evenly over the range of a
/// sample of the space, so the fit sees small and large networks alike. Chosen
/// before anything is timed, so that they can be measured first.
fn calibration_archs<S: ToNetworkSpec>(space: &S, k: usize, seed: u64) -> Vec<S::Arch> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xca11_b4a7);
    let mut pool: Vec<(S::Arch, u64)> = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..(64 * k).max(256) {
        let a = space.sample(&mut rng);
        if seen.insert(a.id()) {
            let macs = space.network_spec(&a).macs();
            pool.push((a, macs));
        }
    }
    pool.sort_by_key(|p| p.1);
    let m = pool.len();
    let mut picked = Vec::with_capacity(k);
    let mut used = HashSet::new();
    for j in 0..k.min(m) {
        let idx = if k == 1 { m / 2 } else { j * (m - 1) / (k - 1) };
        if used.insert(idx) {
            picked.push(pool[idx].0.clone());
        }
    }
    picked
}
