//! The timing protocol and the burn layers it times.
//!
//! # Protocol
//!
//! Every timing (one table entry, or one whole network) follows the same steps,
//! with the settings of [`Protocol`]:
//!
//! 1. **Thread pool.** The work runs inside a private rayon pool of
//!    [`Protocol::threads`] threads (default 1). burn's flex backend and its `gemm`
//!    kernels take their parallelism from the current rayon pool, so this fixes the
//!    thread count. One thread is the default because it was by far the most
//!    additive setting here: with 2 threads the sum of the layers of an NB201
//!    network ranged from 0.87x to 2.5x of the network (small ops pay for thread
//!    hand-offs that a network amortises differently), with 1 thread it was within
//!    a few percent (see the crate docs for the figures).
//! 2. **Warm-up.** The layer runs until both [`Protocol::warmup_calls`] calls and
//!    [`Protocol::warmup_ms`] have passed, so that allocator pools, caches and the
//!    CPU clock reach their steady state. The warm-up also estimates the time of one
//!    call.
//! 3. **Samples.** One sample times as many back-to-back calls as fit in
//!    [`Protocol::sample_ms`] (at least one) and records the time per call, which
//!    keeps timer resolution and loop overhead negligible for microsecond ops.
//! 4. **Settling.** Samples are taken in blocks of 5 until the running median
//!    moves by less than [`Protocol::settle_rel`] from one block to the next (after
//!    at least [`Protocol::min_samples`]), or [`Protocol::max_samples`] /
//!    [`Protocol::max_ms`] is reached.
//! 5. **Rounds.** A table entry is measured in [`Protocol::rounds`] separate rounds,
//!    interleaved with every other entry (round-robin over the whole table), and
//!    the samples of all rounds are pooled. Slow drifts of the machine (frequency,
//!    other load) then spread over all entries instead of biasing a few.
//!
//! The entry keeps the median time per call, the interquartile range, the sample
//! count, the calls per sample and the warm-up count.
//!
//! # Layers
//!
//! [`LayerRunner`] builds, from a [`LayerSpec`], the same burn module the spaces'
//! networks use (convolution with groups, dilation and explicit padding, batch norm
//! in inference mode, activations, average pooling with padding excluded from the
//! count, max pooling, global average pooling as two `mean_dim`s, the sum of k
//! inputs, channel concatenation, linear, pixel shuffle) and random inputs of the
//! right shapes on a plain (non-autodiff) flex device.
//!
//! Shape-preserving element-wise layers (batch norm, activations, sums) are run
//! *in a chain*: each call consumes the previous call's output. Inside a network
//! such a layer usually receives a tensor that nothing else holds (the output of
//! the convolution before it), and burn's flex kernels then work in place instead
//! of allocating; timing them on a shared input would charge an allocation and a
//! copy that the network does not pay.

use crate::error::{LutError, Result};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation;
use burn::tensor::{Device, Distribution, Tensor};
use nas_core::kernels;
use nas_core::train::Backend;
use nas_core::{Activation, LayerSpec, OpKind};
use serde::{Deserialize, Serialize};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

/// The burn version the measurements run on (pinned `=0.22.1` in the workspace;
/// a test checks that the two agree).
pub const BURN_VERSION: &str = "0.22.1";

/// How layers and networks are timed; recorded in every table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Protocol {
    /// burn backend (only `flex` is supported for tables: `ndarray` is deprecated).
    pub backend: Backend,
    /// Threads of the private rayon pool the timing runs in (default 1).
    pub threads: usize,
    /// Batch size of the timed inputs (default 1).
    pub batch: usize,
    /// Minimum warm-up calls (default 20).
    pub warmup_calls: usize,
    /// Minimum warm-up time in milliseconds (default 30).
    pub warmup_ms: f64,
    /// Target duration of one sample in milliseconds (default 0.5).
    pub sample_ms: f64,
    /// Samples before the settling test applies (default 15).
    pub min_samples: usize,
    /// Most samples per round (default 300).
    pub max_samples: usize,
    /// Settled when the median moves less than this fraction over a block (default 0.005).
    pub settle_rel: f64,
    /// Time cap of one round of one timing in milliseconds (default 400).
    pub max_ms: f64,
    /// Rounds per table entry, interleaved over the table (default 3).
    pub rounds: usize,
    /// The global allocator of the measuring program (`system`, `mimalloc`): burn
    /// allocates every output, so the allocator is part of what is timed. The
    /// library cannot see it; the program says which (the `hwnas` binary uses
    /// mimalloc).
    pub allocator: String,
}

/// The global allocator the program declared ([`set_program_allocator`]).
static PROGRAM_ALLOCATOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Declares the program's global allocator (`mimalloc` for the `hwnas` binary),
/// recorded in every [`Protocol`] made from then on. Only the first call counts.
pub fn set_program_allocator(name: &str) {
    PROGRAM_ALLOCATOR.set(name.to_string()).ok();
}

/// The declared global allocator, `system` when the program declared none.
pub fn program_allocator() -> String {
    PROGRAM_ALLOCATOR.get().cloned().unwrap_or_else(|| "system".into())
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            backend: Backend::Flex,
            threads: 1,
            batch: 1,
            warmup_calls: 20,
            warmup_ms: 30.0,
            sample_ms: 0.5,
            min_samples: 15,
            max_samples: 300,
            settle_rel: 0.005,
            max_ms: 400.0,
            rounds: 3,
            allocator: program_allocator(),
        }
    }
}

impl Protocol {
    /// A much shorter protocol for tests and smoke runs (fewer, shorter samples).
    pub fn quick() -> Self {
        Protocol {
            warmup_calls: 3,
            warmup_ms: 2.0,
            sample_ms: 0.2,
            min_samples: 5,
            max_samples: 30,
            settle_rel: 0.02,
            max_ms: 40.0,
            rounds: 1,
            ..Protocol::default()
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<()> {
        if self.backend != Backend::Flex {
            return Err(LutError::invalid(
                "protocol.backend",
                self.backend,
                "flex (the ndarray backend is deprecated and not measured)",
            ));
        }
        for (field, v) in [
            ("protocol.threads", self.threads),
            ("protocol.batch", self.batch),
            ("protocol.min_samples", self.min_samples),
            ("protocol.rounds", self.rounds),
        ] {
            if v == 0 {
                return Err(LutError::invalid(field, v, "an integer >= 1"));
            }
        }
        if self.max_samples < self.min_samples {
            return Err(LutError::invalid("protocol.max_samples", self.max_samples, "at least min_samples"));
        }
        for (field, v) in [
            ("protocol.sample_ms", self.sample_ms),
            ("protocol.max_ms", self.max_ms),
            ("protocol.settle_rel", self.settle_rel),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(LutError::invalid(field, v, "a positive number"));
            }
        }
        if !(self.warmup_ms.is_finite() && self.warmup_ms >= 0.0) {
            return Err(LutError::invalid("protocol.warmup_ms", self.warmup_ms, "a number >= 0"));
        }
        Ok(())
    }

    /// Runs `f` inside the private pool of [`Protocol::threads`] threads (pools are
    /// cached per size), catching a backend panic as an error.
    pub fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let pool = thread_pool(self.threads)?;
        pool.install(|| catch_unwind(AssertUnwindSafe(f))).map_err(|p| LutError::Backend(panic_message(p)))
    }
}

/// One timing: the statistics of the per-call times of all samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Median time per call in milliseconds.
    pub median_ms: f64,
    /// Interquartile range (q3 - q1) of the per-call times in milliseconds.
    pub iqr_ms: f64,
    /// 10th percentile of the per-call times in milliseconds (robust to preemption
    /// by other processes, which only ever adds time).
    pub p10_ms: f64,
    /// Timed samples.
    pub count: usize,
    /// Calls per sample.
    pub calls_per_sample: usize,
    /// Untimed warm-up calls.
    pub warmup: usize,
    /// Samples that were preempted by other processes (their waiting time is subtracted).
    #[serde(default)]
    pub preempted: usize,
}

impl Timing {
    /// Pools the raw samples of several rounds into one timing.
    pub fn from_samples(samples: &[f64], calls_per_sample: usize, warmup: usize, preempted: usize) -> Self {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        Timing {
            median_ms: round_to(quantile(&s, 0.5), 1e-6),
            iqr_ms: round_to(quantile(&s, 0.75) - quantile(&s, 0.25), 1e-6),
            p10_ms: round_to(quantile(&s, 0.1), 1e-6),
            count: s.len(),
            calls_per_sample,
            warmup,
            preempted,
        }
    }

    /// Pools the samples of several rounds of one item into one timing.
    pub fn pool(rounds: &[RoundSamples]) -> Self {
        let samples: Vec<f64> = rounds.iter().flat_map(|r| r.samples.iter().copied()).collect();
        let cps = rounds.last().map_or(1, |r| r.calls_per_sample);
        Timing::from_samples(
            &samples,
            cps,
            rounds.iter().map(|r| r.warmup).sum(),
            rounds.iter().map(|r| r.preempted).sum(),
        )
    }

    /// Relative spread: IQR / median.
    pub fn rel_iqr(&self) -> f64 {
        if self.median_ms > 0.0 { self.iqr_ms / self.median_ms } else { f64::INFINITY }
    }
}

/// Rounds `x` to a multiple of `step` (a power of ten such as `1e-6`).
///
/// Stored times are rounded to the nanosecond (the timer's resolution): such short
/// decimals read back from JSON to exactly the same `f64`, so a saved table loads
/// bit for bit equal to the one in memory.
pub fn round_to(x: f64, step: f64) -> f64 {
    let inv = (1.0 / step).round();
    (x * inv).round() / inv
}

/// Linear-interpolated quantile of sorted values (0 for an empty slice).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] * (1.0 - frac) + sorted[hi] * frac
        }
    }
}

/// The raw result of one round: per-call sample times and the loop shape.
#[derive(Clone, Debug)]
pub struct RoundSamples {
    /// Per-call time of each sample, milliseconds.
    pub samples: Vec<f64>,
    /// Calls per sample.
    pub calls_per_sample: usize,
    /// Warm-up calls.
    pub warmup: usize,
    /// Samples during which the thread was preempted (their waiting time was subtracted).
    pub preempted: usize,
}

impl RoundSamples {
    /// The median per-call time of this round (0 when it has no samples).
    pub fn median(&self) -> f64 {
        let mut s: Vec<f64> = self.samples.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        quantile(&s, 0.5)
    }

    /// The round with every sample multiplied by `factor` (an injected change
    /// of speed, see [`crate::stability::Slowdown`]).
    pub fn scaled(mut self, factor: f64) -> Self {
        if factor != 1.0 {
            self.samples.iter_mut().for_each(|s| *s *= factor);
        }
        self
    }
}

/// Times `f` (one call = one forward pass) with the protocol's warm-up, sampling
/// and settling rules; one round. Call it inside [`Protocol::install`].
pub fn time_round(p: &Protocol, mut f: impl FnMut()) -> RoundSamples {
    let start = Instant::now();
    let ms_since = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    // Warm-up; the second half estimates one call's time.
    let mut warmup = 0usize;
    let mut half_start = (0usize, Instant::now());
    let mut estimate = f64::INFINITY;
    loop {
        f();
        warmup += 1;
        let elapsed = ms_since(start);
        if warmup == p.warmup_calls.div_ceil(2) {
            half_start = (warmup, Instant::now());
        }
        let done = warmup >= p.warmup_calls.max(1) && elapsed >= p.warmup_ms;
        if done || elapsed > p.max_ms / 2.0 {
            let calls = warmup - half_start.0;
            if calls > 0 {
                estimate = ms_since(half_start.1) / calls as f64;
            }
            if !estimate.is_finite() || estimate <= 0.0 {
                estimate = elapsed / warmup as f64;
            }
            break;
        }
    }
    let calls_per_sample = ((p.sample_ms / estimate.max(1e-6)).ceil() as usize).clamp(1, 1_000_000);
    let timed_start = Instant::now();
    let mut samples = Vec::with_capacity(p.max_samples);
    let mut last_median = f64::NAN;
    let mut preempted = 0usize;
    loop {
        let d0 = run_delay_ns();
        let t = Instant::now();
        for _ in 0..calls_per_sample {
            f();
        }
        let wall = ms_since(t);
        // Time spent waiting for a CPU while other processes ran is not the
        // layer's: subtract it (see `run_delay_ns`).
        let waited = match (d0, run_delay_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1e6,
            _ => 0.0,
        };
        if waited > 0.0 {
            preempted += 1;
        }
        samples.push((wall - waited).max(wall * 0.01) / calls_per_sample as f64);
        let n = samples.len();
        if n >= p.max_samples || ms_since(timed_start) > p.max_ms {
            break;
        }
        if n >= p.min_samples && n % 5 == 0 {
            let mut sorted = samples.clone();
            sorted.sort_by(f64::total_cmp);
            let m = quantile(&sorted, 0.5);
            if (m - last_median).abs() <= p.settle_rel * m {
                break;
            }
            last_median = m;
        }
    }
    RoundSamples { samples, calls_per_sample, warmup, preempted }
}

/// Nanoseconds this thread has spent runnable but waiting for a CPU (the second
/// field of `/proc/thread-self/schedstat`), or `None` where the kernel does not
/// expose it.
///
/// On a machine shared with other work (builds, tests) a timed sample is often
/// preempted: the thread waits several milliseconds in the run queue and the
/// wall-clock time of that sample is meaningless. The kernel updates this counter
/// exactly when the thread gets a CPU back, so the difference over a sample is the
/// time the sample spent preempted, and wall time minus that difference is the
/// time the code actually ran. Measured here with a build running on both cores,
/// this took whole-network medians from up to 2x too slow to within a few percent
/// of the idle-machine figure. (Time stolen from the virtual machine by its host
/// is invisible to the guest and is not corrected.)
pub fn run_delay_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Times `f` with the whole protocol (all rounds back to back) inside its pool.
pub fn time_fn(p: &Protocol, mut f: impl FnMut() + Send) -> Result<Timing> {
    p.validate()?;
    p.install(|| {
        let mut all = Vec::new();
        let (mut calls, mut warm, mut pre) = (1, 0, 0);
        for _ in 0..p.rounds {
            let r = time_round(p, &mut f);
            all.extend(r.samples);
            calls = r.calls_per_sample;
            warm += r.warmup;
            pre += r.preempted;
        }
        Timing::from_samples(&all, calls, warm, pre)
    })
}

fn thread_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    nas_core::train::trainer::shared_pool(threads, "measure")
        .map_err(|e| LutError::Backend(format!("cannot start {threads} measurement threads: {e}")))
}

/// Turns a panic payload into a message.
pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the backend panicked".into()
    }
}

/// A short, stable, human-readable notation of a layer configuration (the table's
/// key in messages and reports), e.g. `conv2d 16->16 k3 s1 p1 d1 g1 32x32`.
pub fn layer_key(s: &LayerSpec) -> String {
    let [h, w] = s.input_hw;
    let bits = if s.weight_bits == 32 && s.act_bits == 32 {
        String::new()
    } else {
        format!(" w{}a{}", s.weight_bits, s.act_bits)
    };
    let bias = if s.bias { " bias" } else { "" };
    let body = match s.op {
        OpKind::Conv2d => format!(
            "conv2d {}->{} k{} s{} p{} d{} g{}{bias} {h}x{w}",
            s.in_channels, s.out_channels, s.kernel, s.stride, s.padding, s.dilation, s.groups
        ),
        OpKind::Linear => format!("linear {}->{}{bias}", s.in_channels, s.out_channels),
        OpKind::BatchNorm2d => {
            format!("batch_norm {}{} {h}x{w}", s.in_channels, if s.bias { "" } else { " no-affine" })
        }
        OpKind::Activation(a) => format!("{} {} {h}x{w}", activation_name(a), s.in_channels),
        OpKind::AvgPool2d => format!("avg_pool k{} s{} p{} {} {h}x{w}", s.kernel, s.stride, s.padding, s.in_channels),
        OpKind::MaxPool2d => format!("max_pool k{} s{} p{} {} {h}x{w}", s.kernel, s.stride, s.padding, s.in_channels),
        OpKind::GlobalAvgPool => format!("global_avg_pool {} {h}x{w}", s.in_channels),
        OpKind::Add => format!("add x{} {} {h}x{w}", s.inputs, s.in_channels),
        OpKind::Concat => format!("concat x{} {}->{} {h}x{w}", s.inputs, s.in_channels, s.out_channels),
        OpKind::PixelShuffle => format!("pixel_shuffle r{} {}->{} {h}x{w}", s.stride, s.in_channels, s.out_channels),
    };
    body + &bits
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu",
        Activation::Relu6 => "relu6",
        Activation::HardSwish => "hard_swish",
        Activation::Sigmoid => "sigmoid",
    }
}

/// The burn module of one layer.
#[derive(Debug)]
enum LayerOp {
    Conv(Conv2d),
    Bn(BatchNorm),
    Act(Activation),
    AvgPool(AvgPool2d),
    MaxPool(MaxPool2d),
    Gap,
    Add,
    Concat,
    Linear(Linear),
    PixelShuffle(usize),
}

/// One layer built with burn, with its inputs, ready to be timed.
pub struct LayerRunner {
    op: LayerOp,
    /// The inputs (one per input tensor of the layer). For chained layers the first
    /// one is replaced by each call's output.
    inputs: Vec<Tensor<4>>,
    flat: Option<Tensor<2>>,
    chained: bool,
}

impl std::fmt::Debug for LayerRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerRunner").field("op", &self.op).field("chained", &self.chained).finish()
    }
}

fn check(spec: &LayerSpec, ok: bool, reason: impl FnOnce() -> String) -> Result<()> {
    if ok { Ok(()) } else { Err(LutError::Unmeasurable { key: layer_key(spec), reason: reason() }) }
}

impl LayerRunner {
    /// Builds the layer and random inputs of batch `batch` on `device` (use a plain
    /// flex device). Quantised layers (bit-widths other than 32) are refused: the
    /// burn CPU kernels run in f32, so their time would not be the quantised time.
    pub fn new(spec: &LayerSpec, batch: usize, device: &Device) -> Result<Self> {
        let s = spec;
        check(s, s.weight_bits == 32 && s.act_bits == 32, || {
            format!(
                "{}-bit weights / {}-bit activations: burn's CPU kernels run in f32, so a quantised layer \
                 cannot be measured",
                s.weight_bits, s.act_bits
            )
        })?;
        check(s, batch > 0 && s.in_channels > 0 && s.out_channels > 0, || "zero batch or channels".into())?;
        check(s, s.inputs >= 1, || "a layer needs at least one input".into())?;
        let [h, w] = s.input_hw;
        check(s, h > 0 && w > 0, || "empty input".into())?;
        let rand4 = |c: usize| Tensor::<4>::random([batch, c, h, w], Distribution::Normal(0.0, 1.0), device);
        let pad = |p: usize| PaddingConfig2d::Explicit(p, p, p, p);
        let mut chained = false;
        let mut flat = None;
        let (op, inputs) = match s.op {
            OpKind::Conv2d => {
                check(
                    s,
                    s.groups >= 1 && s.in_channels.is_multiple_of(s.groups) && s.out_channels.is_multiple_of(s.groups),
                    || format!("groups {} must divide {} and {}", s.groups, s.in_channels, s.out_channels),
                )?;
                check(s, s.kernel >= 1 && s.stride >= 1 && s.dilation >= 1, || "zero kernel/stride/dilation".into())?;
                let eff = s.dilation * (s.kernel - 1) + 1;
                check(s, h + 2 * s.padding >= eff && w + 2 * s.padding >= eff, || "kernel larger than input".into())?;
                let conv = Conv2dConfig::new([s.in_channels, s.out_channels], [s.kernel, s.kernel])
                    .with_stride([s.stride, s.stride])
                    .with_padding(pad(s.padding))
                    .with_dilation([s.dilation, s.dilation])
                    .with_groups(s.groups)
                    .with_bias(s.bias)
                    .init(device);
                (LayerOp::Conv(conv), vec![rand4(s.in_channels)])
            }
            OpKind::BatchNorm2d => {
                chained = true;
                (LayerOp::Bn(BatchNormConfig::new(s.in_channels).init(device)), vec![rand4(s.in_channels)])
            }
            OpKind::Activation(a) => {
                chained = true;
                (LayerOp::Act(a), vec![rand4(s.in_channels)])
            }
            OpKind::AvgPool2d | OpKind::MaxPool2d => {
                check(s, s.kernel >= 1 && s.stride >= 1, || "zero kernel or stride".into())?;
                check(s, h + 2 * s.padding >= s.kernel && w + 2 * s.padding >= s.kernel, || {
                    "window larger than input".into()
                })?;
                let op = if s.op == OpKind::AvgPool2d {
                    // Both spaces exclude the padding from the average (PyTorch's
                    // count_include_pad=False); without padding the flag is moot.
                    LayerOp::AvgPool(
                        AvgPool2dConfig::new([s.kernel, s.kernel])
                            .with_strides([s.stride, s.stride])
                            .with_padding(pad(s.padding))
                            .with_count_include_pad(false)
                            .init(),
                    )
                } else {
                    LayerOp::MaxPool(
                        MaxPool2dConfig::new([s.kernel, s.kernel])
                            .with_strides([s.stride, s.stride])
                            .with_padding(pad(s.padding))
                            .init(),
                    )
                };
                (op, vec![rand4(s.in_channels)])
            }
            OpKind::GlobalAvgPool => (LayerOp::Gap, vec![rand4(s.in_channels)]),
            OpKind::Add => {
                check(s, s.inputs >= 2, || "a sum needs at least 2 inputs".into())?;
                chained = true;
                (LayerOp::Add, (0..s.inputs).map(|_| rand4(s.in_channels)).collect())
            }
            OpKind::Concat => {
                check(s, s.inputs >= 2, || "a concatenation needs at least 2 inputs".into())?;
                (LayerOp::Concat, (0..s.inputs).map(|_| rand4(s.in_channels)).collect())
            }
            OpKind::Linear => {
                flat = Some(Tensor::<2>::random([batch, s.in_channels], Distribution::Normal(0.0, 1.0), device));
                let lin = LinearConfig::new(s.in_channels, s.out_channels).with_bias(s.bias).init(device);
                (LayerOp::Linear(lin), Vec::new())
            }
            OpKind::PixelShuffle => {
                let r = s.stride;
                check(s, r >= 1 && s.in_channels.is_multiple_of(r * r), || {
                    format!("upscale {r}: {} channels are not a multiple of {}", s.in_channels, r * r)
                })?;
                (LayerOp::PixelShuffle(r), vec![rand4(s.in_channels)])
            }
        };
        let mut runner = LayerRunner { op, inputs, flat, chained };
        // Run once eagerly: parameters initialise lazily, and a shape error should
        // surface here rather than inside a timing loop.
        catch_unwind(AssertUnwindSafe(|| runner.run())).map_err(|p| LutError::Unmeasurable {
            key: layer_key(spec),
            reason: format!("burn refused it: {}", panic_message(p)),
        })?;
        Ok(runner)
    }

    /// One forward pass of the layer (the output is dropped, or kept as the next
    /// call's input for chained layers).
    pub fn run(&mut self) {
        let inputs = &mut self.inputs;
        match &self.op {
            LayerOp::Linear(l) => {
                if let Some(x) = &self.flat {
                    drop(l.forward(x.clone()));
                }
            }
            LayerOp::Conv(c) => drop(kernels::conv2d(c, inputs[0].clone())),
            LayerOp::AvgPool(p) => drop(kernels::avg_pool2d(p, inputs[0].clone())),
            LayerOp::MaxPool(p) => drop(p.forward(inputs[0].clone())),
            LayerOp::Gap => {
                let x = inputs[0].clone();
                let [n, c, _, _] = x.dims();
                drop(x.mean_dim(3).mean_dim(2).reshape([n, c]));
            }
            LayerOp::Concat => drop(Tensor::cat(inputs.to_vec(), 1)),
            LayerOp::PixelShuffle(r) => {
                let x = inputs[0].clone();
                let [n, c, h, w] = x.dims();
                let r = *r;
                let out = x.reshape([n, c / (r * r), r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([
                    n,
                    c / (r * r),
                    h * r,
                    w * r,
                ]);
                drop(out);
            }
            LayerOp::Bn(bn) => {
                let x = take_first(inputs);
                inputs[0] = kernels::batch_norm(bn, x);
            }
            LayerOp::Act(a) => {
                let x = take_first(inputs);
                inputs[0] = apply_activation(*a, x);
            }
            LayerOp::Add => {
                let mut acc = take_first(inputs);
                for t in inputs.iter().skip(1) {
                    acc = acc + t.clone();
                }
                inputs[0] = acc;
            }
        }
    }

    /// Whether each call consumes the previous call's output (see the module docs).
    pub fn is_chained(&self) -> bool {
        self.chained
    }
}

/// Moves the first input out (leaving a cheap placeholder) so that the layer owns
/// it uniquely, as it would inside a network.
fn take_first(inputs: &mut [Tensor<4>]) -> Tensor<4> {
    let placeholder = inputs[1.min(inputs.len() - 1)].clone();
    std::mem::replace(&mut inputs[0], placeholder)
}

/// Applies an activation as the spaces' networks do.
pub fn apply_activation<const D: usize>(a: Activation, x: Tensor<D>) -> Tensor<D> {
    match a {
        Activation::Relu => activation::relu(x),
        Activation::Relu6 => activation::relu6(x),
        Activation::HardSwish => activation::hard_swish(x),
        Activation::Sigmoid => activation::sigmoid(x),
    }
}

/// Times one layer with the whole protocol (all rounds back to back) on a plain
/// flex device, inside the protocol's thread pool.
pub fn measure_layer(spec: &LayerSpec, p: &Protocol) -> Result<Timing> {
    p.validate()?;
    let device = p.backend.device();
    let mut runner = p.install(|| LayerRunner::new(spec, p.batch, &device))??;
    time_fn(p, || runner.run())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.25), 2.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
        assert_eq!(quantile(&[], 0.5), 0.0);
        let t = Timing::from_samples(&[5.0, 1.0, 3.0, 2.0, 4.0], 10, 7, 0);
        assert_eq!((t.median_ms, t.iqr_ms, t.count, t.calls_per_sample, t.warmup), (3.0, 2.0, 5, 10, 7));
    }

    #[test]
    fn keys_are_readable() {
        assert_eq!(layer_key(&LayerSpec::conv(16, 32, 3, 2, 1, [32, 32])), "conv2d 16->32 k3 s2 p1 d1 g1 32x32");
        assert_eq!(layer_key(&LayerSpec::add(8, 3, [4, 4])), "add x3 8 4x4");
        assert_eq!(layer_key(&LayerSpec::linear(64, 10).with_bits(8, 8)), "linear 64->10 bias w8a8");
    }

    #[test]
    fn every_op_kind_builds_and_runs() {
        let device = Device::flex();
        let hw = [8, 8];
        let specs = [
            LayerSpec::conv(4, 8, 3, 2, 1, hw),
            LayerSpec { dilation: 2, padding: 2, ..LayerSpec::conv(4, 4, 3, 1, 4, hw) },
            LayerSpec::conv(4, 8, 1, 1, 1, [7, 7]).with_padding(0).with_bias(true),
            LayerSpec::batch_norm(4, true, hw),
            LayerSpec::activation(Activation::Relu, 4, hw),
            LayerSpec::activation(Activation::Relu6, 4, hw),
            LayerSpec::activation(Activation::HardSwish, 4, hw),
            LayerSpec::activation(Activation::Sigmoid, 4, hw),
            LayerSpec::pool(OpKind::AvgPool2d, 4, 3, 1, 1, hw),
            LayerSpec::pool(OpKind::MaxPool2d, 4, 3, 2, 1, hw),
            LayerSpec::global_avg_pool(4, hw),
            LayerSpec::add(4, 3, hw),
            LayerSpec::concat(4, 2, hw),
            LayerSpec::linear(16, 10),
            LayerSpec { stride: 2, ..LayerSpec::pool(OpKind::PixelShuffle, 8, 1, 2, 0, hw) },
        ];
        for s in specs {
            let mut r = LayerRunner::new(&s, 2, &device).unwrap_or_else(|e| panic!("{}: {e}", layer_key(&s)));
            for _ in 0..3 {
                r.run();
            }
        }
    }

    #[test]
    fn impossible_layers_are_refused_with_their_key() {
        let device = Device::flex();
        let q = LayerSpec::conv(4, 4, 3, 1, 1, [8, 8]).with_bits(8, 8);
        let e = LayerRunner::new(&q, 1, &device).expect_err("quantised").to_string();
        assert!(e.contains("conv2d 4->4") && e.contains("f32"), "{e}");
        let g = LayerSpec::conv(6, 4, 3, 1, 4, [8, 8]);
        assert!(LayerRunner::new(&g, 1, &device).expect_err("groups").to_string().contains("groups 4"));
    }

    #[test]
    fn protocol_validation_names_the_field() {
        let p = Protocol { threads: 0, ..Protocol::default() };
        assert!(p.validate().expect_err("zero").to_string().contains("protocol.threads"));
        let p = Protocol { backend: Backend::Ndarray, ..Protocol::default() };
        assert!(p.validate().expect_err("ndarray").to_string().contains("flex"));
        assert!(Protocol::quick().validate().is_ok());
    }
}
