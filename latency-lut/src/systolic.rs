//! Latency, PE utilisation and energy of layers mapped onto an `R x C` systolic
//! array under weight-, output- and row-stationary dataflows.
//!
//! This follows the analytical treatment of DRACO (Jha et al., "DRACO:
//! Co-optimizing hardware utilization, and performance of DNNs on systolic
//! accelerator", ISVLSI 2020), which studies how layer shapes (depthwise and
//! pointwise convolutions in particular) map onto a fixed array under each
//! dataflow, and the runtime formula of SCALE-Sim (Samajdar et al., "A systematic
//! methodology for characterizing scalability of DNN accelerators using
//! SCALE-Sim", ISPASS 2020).
//!
//! # Compute
//!
//! A convolution with `g` groups is `g` independent matrix products of an
//! `M x K` input (im2col) by a `K x N` filter matrix, with `M = batch * out_h *
//! out_w`, `K = in_c / g * k * k`, `N = out_c / g` (a linear layer: `M = batch`,
//! `K = in`, `N = out`). A dataflow chooses which two dimensions are spread over
//! the array's rows and columns (`S_R`, `S_C`) and which one streams in time (`T`):
//!
//! | dataflow | `S_R` | `S_C` | `T` |
//! |---|---|---|---|
//! | weight stationary (`ws`) | K | N | M |
//! | output stationary (`os`) | M | N | K |
//!
//! and takes `(2R + C + T - 2) * ceil(S_R / R) * ceil(S_C / C)` cycles per group
//! (SCALE-Sim: filling, streaming and draining each fold of the array).
//!
//! **Row stationary** (`rs`, Eyeriss: Chen et al., ISCA 2016) maps each 2-D
//! convolution of one (input channel, output channel) pair onto a set of
//! `min(k, R)` x `out_h` PEs: PE `(i, j)` keeps filter row `i` and computes the 1-D
//! convolution that row contributes to output row `j` (`k * out_w` MACs, one per
//! cycle). `floor(R / min(k, R))` sets stack vertically and, when `out_h < C`,
//! `floor(C / out_h)` side by side; filters taller than `R` and outputs taller than
//! `C` are folded. Cycles are `ceil(pairs / sets) * folds * k * out_w + R + C - 2`.
//!
//! Utilisation is `MACs / (cycles * R * C)`. Layers without MACs (batch norm,
//! activations, pooling, sums, concatenation) run on a `C`-lane vector unit at one
//! operation (or one moved word) per lane and cycle.
//!
//! # Memory
//!
//! Three on-chip buffers (input, filter, output) sit between the array and DRAM.
//! An operand that fits its buffer is read from DRAM once; one that does not is
//! re-read once per fold of the loop it is not stationary in (input per column
//! fold, filters per row fold under `os`, partial sums written and read back per
//! row fold under `ws`). A layer takes `max(compute cycles, DRAM bytes / bandwidth)`
//! cycles: transfers overlap compute (double buffering), so a layer is either
//! compute- or bandwidth-bound.
//!
//! # Energy
//!
//! MACs at the technology's MAC energy; register-file bits per MAC by dataflow
//! (`ws`: the stationary weight; `os`: reading and writing the accumulator; `rs`:
//! weight, input and accumulator, as Eyeriss counts); inter-PE bits per MAC (`ws`:
//! input and partial sum move; `os`: input and weight move; `rs`: a partial sum
//! moves once per filter row); buffer words as streamed to and from the array; DRAM
//! bytes as above. Energies come from a [`Technology`].

use crate::energy::{EnergyBreakdown, Technology, TechnologyChoice};
use crate::error::{LutError, Result};
pub use nas_core::hardware::Dataflow;
use nas_core::{CostModel, LayerSpec, Metric, MetricMap, NasError, NetworkSpec, OpKind};
use serde::{Deserialize, Serialize};

/// The array and its memory system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystolicConfig {
    /// PE rows (default 16).
    pub rows: usize,
    /// PE columns (default 16).
    pub cols: usize,
    /// Dataflow (default `ws`).
    pub dataflow: Dataflow,
    /// Clock in MHz (default 500).
    pub clock_mhz: f64,
    /// Input buffer in KiB (default 64).
    pub ifmap_kib: f64,
    /// Filter buffer in KiB (default 64).
    pub filter_kib: f64,
    /// Output buffer in KiB (default 64).
    pub ofmap_kib: f64,
    /// DRAM bandwidth in bytes per cycle (default 16).
    pub dram_bytes_per_cycle: f64,
    /// Per-access energies (default `horowitz45`).
    pub technology: TechnologyChoice,
    /// Inputs per inference (default 1).
    pub batch: usize,
    /// Metrics it reports: `latency_ms`, `energy_mj`, `pe_utilisation` (default
    /// the first two).
    pub metrics: Vec<Metric>,
}

impl Default for SystolicConfig {
    fn default() -> Self {
        SystolicConfig {
            rows: 16,
            cols: 16,
            dataflow: Dataflow::WeightStationary,
            clock_mhz: 500.0,
            ifmap_kib: 64.0,
            filter_kib: 64.0,
            ofmap_kib: 64.0,
            dram_bytes_per_cycle: 16.0,
            technology: TechnologyChoice::default(),
            batch: 1,
            metrics: vec![Metric::LatencyMs, Metric::EnergyMj],
        }
    }
}

/// How one layer maps onto the array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerMapping {
    /// Cycles of the array (or vector unit).
    pub compute_cycles: f64,
    /// Cycles to move the layer's DRAM traffic at the configured bandwidth.
    pub memory_cycles: f64,
    /// `max(compute, memory)`.
    pub cycles: f64,
    /// MACs of the batch.
    pub macs: f64,
    /// `MACs / (compute cycles * R * C)`; `None` for layers without MACs.
    pub utilization: Option<f64>,
    /// DRAM traffic in bytes.
    pub dram_bytes: f64,
    /// Words read from or written to the on-chip buffers.
    pub buffer_words: f64,
    /// Energy per level.
    pub energy: EnergyBreakdown,
}

/// A whole network on the array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkMapping {
    /// Per layer, in the network's order.
    pub layers: Vec<LayerMapping>,
    /// Total cycles.
    pub cycles: f64,
    /// Latency in milliseconds at the clock.
    pub latency_ms: f64,
    /// MAC-weighted utilisation over the layers with MACs.
    pub utilization: f64,
    /// Total energy per level.
    pub energy: EnergyBreakdown,
}

/// A systolic array (see the module docs); a [`CostModel`] for `latency_ms`,
/// `energy_mj` and `pe_utilisation` (percent).
#[derive(Clone, Debug, PartialEq)]
pub struct SystolicArray {
    config: SystolicConfig,
    technology: Technology,
    provides: Vec<Metric>,
}

fn ceil_div(a: usize, b: usize) -> usize {
    a.div_ceil(b.max(1))
}

impl SystolicArray {
    /// An array from a validated configuration, providing `config.metrics`.
    pub fn new(config: SystolicConfig) -> Result<Self> {
        if let Some(m) =
            config.metrics.iter().find(|m| !matches!(m, Metric::LatencyMs | Metric::EnergyMj | Metric::PeUtilisation))
        {
            return Err(LutError::invalid("metrics", m, "latency_ms, energy_mj, pe_utilisation"));
        }
        if config.metrics.is_empty() {
            return Err(LutError::invalid("metrics", "[]", "at least one of latency_ms, energy_mj, pe_utilisation"));
        }
        let technology = config.technology.resolve()?;
        for (field, v) in [("rows", config.rows), ("cols", config.cols), ("batch", config.batch)] {
            if v == 0 {
                return Err(LutError::invalid(field, v, "an integer >= 1"));
            }
        }
        for (field, v) in [
            ("clock_mhz", config.clock_mhz),
            ("ifmap_kib", config.ifmap_kib),
            ("filter_kib", config.filter_kib),
            ("ofmap_kib", config.ofmap_kib),
            ("dram_bytes_per_cycle", config.dram_bytes_per_cycle),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(LutError::invalid(field, v, "a positive number"));
            }
        }
        let provides = config.metrics.clone();
        Ok(SystolicArray { config, technology, provides })
    }

    /// The configuration.
    pub fn config(&self) -> &SystolicConfig {
        &self.config
    }

    /// Maps one layer (whole batch).
    pub fn layer(&self, s: &LayerSpec) -> LayerMapping {
        let c = &self.config;
        let t = &self.technology;
        let (r, cols) = (c.rows, c.cols);
        let b = c.batch;
        let (wb, ab) = (s.weight_bits, s.act_bits);
        let (wbf, abf) = (f64::from(wb), f64::from(ab));
        let acc = f64::from(Technology::acc_bits(wb, ab));
        let float = Technology::is_float(wb, ab);
        let (w, i, o) = (s.params() as f64, (b as u64 * s.input_elems()) as f64, (b as u64 * s.output_elems()) as f64);
        let macs = (b as u64 * s.macs()) as f64;
        let fits = |words: f64, bits: f64, kib: f64| words * bits / 8.0 <= kib * 1024.0;
        let mut energy = EnergyBreakdown::default();
        let (compute_cycles, dram_bytes, buffer_words) = if matches!(s.op, OpKind::Conv2d | OpKind::Linear) {
            let [oh, ow] = s.output_hw();
            let g = s.groups.max(1);
            let (m, k, n, groups, kernel) = if s.op == OpKind::Linear {
                (b, s.in_channels, s.out_channels, 1, 1)
            } else {
                (b * oh * ow, s.in_channels / g * s.kernel * s.kernel, s.out_channels / g, g, s.kernel)
            };
            let (fit_i, fit_w, fit_o) =
                (fits(i, abf, c.ifmap_kib), fits(w, wbf, c.filter_kib), fits(o, abf, c.ofmap_kib));
            let gemm = |sr: usize, sc: usize, tm: usize| {
                let (fr, fc) = (ceil_div(sr, r), ceil_div(sc, cols));
                let cycles = (groups * fr * fc * (2 * r + cols + tm - 2)) as f64;
                (cycles, fr as f64, fc as f64)
            };
            let (mf, kf, nf, gf) = (m as f64, k as f64, n as f64, groups as f64);
            let (cycles, dram, words, rf_bits, noc_bits) = match c.dataflow {
                Dataflow::WeightStationary => {
                    let (cy, fr, fc) = gemm(k, n, m);
                    let dram = w * wbf
                        + i * abf * if fit_i { 1.0 } else { fc }
                        + o * abf * if fit_o { 1.0 } else { 2.0 * fr - 1.0 };
                    let words = gf * (kf * nf + mf * kf * fc + mf * nf * (2.0 * fr - 1.0));
                    (cy, dram / 8.0, words, wbf, abf + acc)
                }
                Dataflow::OutputStationary => {
                    let (cy, fr, fc) = gemm(m, n, k);
                    let dram =
                        w * wbf * if fit_w { 1.0 } else { fr } + i * abf * if fit_i { 1.0 } else { fc } + o * abf;
                    let words = gf * (mf * kf * fc + kf * nf * fr + mf * nf);
                    (cy, dram / 8.0, words, 2.0 * acc, abf + wbf)
                }
                Dataflow::RowStationary => {
                    let (ohx, owx) = if s.op == OpKind::Linear { (1, 1) } else { (oh, ow) };
                    let pairs = b * s.out_channels * (s.in_channels / g);
                    let pairs = if s.op == OpKind::Linear { b * s.out_channels * s.in_channels } else { pairs };
                    let k_eff = kernel.min(r);
                    let row_folds = ceil_div(kernel, r);
                    let r_v = (r / k_eff).max(1);
                    let (r_h, col_folds) =
                        if ohx <= cols { ((cols / ohx).max(1), 1) } else { (1, ceil_div(ohx, cols)) };
                    let sets = r_v * r_h;
                    let cy = (ceil_div(pairs, sets) * row_folds * col_folds * kernel * owx + r + cols - 2) as f64;
                    let out_passes = ceil_div(s.out_channels / g, r_v) as f64;
                    let dram = w * wbf + i * abf * if fit_i { 1.0 } else { out_passes } + o * abf;
                    let words = w * col_folds as f64 + i * out_passes + o;
                    (cy, dram / 8.0, words, wbf + abf + 2.0 * acc, acc / kernel as f64)
                }
            };
            energy.compute_pj = macs * t.mac_pj(wb, ab)
                + (b as u64 * s.flops().saturating_sub(2 * s.macs())) as f64 * t.add_pj(u32::from(ab), float);
            energy.rf_pj = macs * rf_bits * t.rf_pj_per_bit;
            energy.noc_pj = macs * noc_bits * t.noc_pj_per_bit;
            energy.buffer_pj = words * abf.max(wbf) * t.buffer_pj_per_bit;
            (cycles, dram, words)
        } else {
            // Vector unit: one operation (or one moved word) per lane and cycle.
            let alu = (b as u64 * s.flops()) as f64;
            let work = if alu > 0.0 { alu } else { o };
            let cycles = (work / cols as f64).ceil();
            let dram = if fits(i + o, abf, c.ofmap_kib) { 0.0 } else { (i + o) * abf / 8.0 };
            energy.compute_pj = alu * t.add_pj(u32::from(ab), float);
            energy.buffer_pj = (i + o) * abf * t.buffer_pj_per_bit;
            (cycles, dram, i + o)
        };
        energy.dram_pj = dram_bytes * 8.0 * t.dram_pj_per_bit;
        let memory_cycles = dram_bytes / c.dram_bytes_per_cycle;
        let utilization = (macs > 0.0).then(|| macs / (compute_cycles * (r * cols) as f64));
        LayerMapping {
            compute_cycles,
            memory_cycles,
            cycles: compute_cycles.max(memory_cycles),
            macs,
            utilization,
            dram_bytes,
            buffer_words,
            energy,
        }
    }

    /// Maps a whole network.
    pub fn network(&self, net: &NetworkSpec) -> NetworkMapping {
        let layers: Vec<LayerMapping> = net.layers.iter().map(|l| self.layer(&l.spec)).collect();
        let cycles: f64 = layers.iter().map(|l| l.cycles).sum();
        let (macs, mac_cycles) = layers
            .iter()
            .filter(|l| l.utilization.is_some())
            .fold((0.0, 0.0), |(m, cy), l| (m + l.macs, cy + l.compute_cycles));
        let mut energy = EnergyBreakdown::default();
        for l in &layers {
            energy.add(&l.energy);
        }
        let pes = (self.config.rows * self.config.cols) as f64;
        NetworkMapping {
            latency_ms: cycles / (self.config.clock_mhz * 1e3),
            utilization: if mac_cycles > 0.0 { macs / (mac_cycles * pes) } else { 0.0 },
            cycles,
            energy,
            layers,
        }
    }
}

impl CostModel for SystolicArray {
    fn name(&self) -> String {
        let c = &self.config;
        format!("systolic({}x{} {}, {} MHz, {})", c.rows, c.cols, c.dataflow, c.clock_mhz, self.technology.name)
    }

    fn provides(&self) -> Vec<Metric> {
        self.provides.clone()
    }

    fn cost(&self, net: &NetworkSpec) -> Result<MetricMap, NasError> {
        let m = self.network(net);
        let mut out = MetricMap::new();
        for metric in &self.provides {
            let v = match metric {
                Metric::LatencyMs => m.latency_ms,
                Metric::PeUtilisation => 100.0 * m.utilization,
                _ => m.energy.total_pj() * 1e-9,
            };
            out.insert(*metric, v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::tests::round;

    fn array(dataflow: Dataflow) -> SystolicArray {
        SystolicArray::new(SystolicConfig {
            rows: 4,
            cols: 4,
            dataflow,
            clock_mhz: 1000.0,
            dram_bytes_per_cycle: 1e6,
            technology: TechnologyChoice::Custom(round()),
            ..SystolicConfig::default()
        })
        .expect("valid")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// 1x1 conv 8->8 on 2x2 (M = 4, K = 8, N = 8, 256 MACs) on a 4x4 array.
    fn conv() -> LayerSpec {
        LayerSpec::conv(8, 8, 1, 1, 1, [2, 2])
    }

    #[test]
    fn weight_stationary_matches_scale_sim_formula() {
        // S_R = K = 8, S_C = N = 8: 2 x 2 folds of (2*4 + 4 + 4 - 2) = 14 cycles.
        let m = array(Dataflow::WeightStationary).layer(&conv());
        assert_eq!(m.compute_cycles, 56.0);
        assert!(close(m.utilization.expect("macs"), 256.0 / (56.0 * 16.0)));
        // Energy (f32): MACs 256 * (4 + 1) = 1280; RF 256 * 32 bits * 0.01 = 81.92;
        // NoC 256 * (32 + 32) * 0.02 = 327.68; buffer words 64 (weights) + 4*8*2
        // (inputs, per column fold) + 4*8*3 (outputs, 2*2-1 per row fold) = 224
        // words * 32 bits * 0.1 = 716.8; DRAM (all fits) (64 + 32 + 32) * 32 = 4096.
        let e = m.energy;
        assert!(close(e.compute_pj, 1280.0) && close(e.rf_pj, 81.92) && close(e.noc_pj, 327.68), "{e:?}");
        assert!(close(e.buffer_pj, 716.8) && close(e.dram_pj, 4096.0), "{e:?}");
        assert!(close(e.total_pj(), 6502.4));
    }

    #[test]
    fn output_stationary_matches_scale_sim_formula() {
        // S_R = M = 4, S_C = N = 8, T = K = 8: 1 x 2 folds of (8 + 4 + 8 - 2) = 18.
        let m = array(Dataflow::OutputStationary).layer(&conv());
        assert_eq!(m.compute_cycles, 36.0);
        assert!(close(m.utilization.expect("macs"), 256.0 / (36.0 * 16.0)));
    }

    #[test]
    fn row_stationary_matches_hand_mapping() {
        // k = 1: 4 sets stack vertically, out_h = 2 <= 4 columns: 2 side by side;
        // 64 channel pairs / 8 sets = 8 passes of k * out_w = 2 cycles, + 4 + 4 - 2.
        let m = array(Dataflow::RowStationary).layer(&conv());
        assert_eq!(m.compute_cycles, 22.0);
        assert!(close(m.utilization.expect("macs"), 256.0 / (22.0 * 16.0)));
    }

    #[test]
    fn depthwise_convolution_underuses_a_weight_stationary_array() {
        // 4 groups of K = 9, N = 1, M = 16: 3 row folds of (8 + 4 + 16 - 2) = 26.
        let dw = LayerSpec::conv(4, 4, 3, 1, 4, [4, 4]);
        let m = array(Dataflow::WeightStationary).layer(&dw);
        assert_eq!(m.compute_cycles, 4.0 * 3.0 * 26.0);
        assert!(close(m.utilization.expect("macs"), 576.0 / (312.0 * 16.0)));
        assert!(m.utilization.expect("macs") < 0.12);
    }

    #[test]
    fn low_bandwidth_makes_layers_memory_bound() {
        let a = SystolicArray::new(SystolicConfig {
            dram_bytes_per_cycle: 0.5,
            ..array(Dataflow::WeightStationary).config
        })
        .expect("valid");
        // 64 weights + 32 inputs + 32 outputs, f32: 512 bytes at 0.5 B/cycle.
        let m = a.layer(&conv());
        assert_eq!((m.dram_bytes, m.memory_cycles, m.cycles), (512.0, 1024.0, 1024.0));
        let mut net = NetworkSpec::new([8, 2, 2], 8);
        net.push("conv", conv());
        net.push("relu", LayerSpec::activation(nas_core::Activation::Relu, 8, [2, 2]));
        let nm = a.network(&net);
        // ReLU: 32 ops on 4 lanes = 8 cycles, fits on chip. 1032 cycles at 1 GHz.
        assert_eq!(nm.cycles, 1032.0);
        assert!(close(nm.latency_ms, 1032.0 / 1e6));
        let mm = a.cost(&net).expect("cost");
        assert!(close(mm[&Metric::LatencyMs], nm.latency_ms));
        assert!(close(mm[&Metric::EnergyMj], nm.energy.total_pj() * 1e-9));
    }

    #[test]
    fn config_errors_name_the_field() {
        let e = SystolicArray::new(SystolicConfig { rows: 0, ..Default::default() }).expect_err("zero");
        assert!(e.to_string().contains("rows"));
        assert!("xs".parse::<Dataflow>().expect_err("bad").to_string().contains("ws, os, rs"));
        let a = SystolicArray::new(SystolicConfig::default()).expect("default");
        assert_eq!(a.provides(), vec![Metric::LatencyMs, Metric::EnergyMj]);
        let only = |metrics| SystolicArray::new(SystolicConfig { metrics, ..Default::default() });
        assert!(only(vec![Metric::Accuracy]).is_err());
        let util = only(vec![Metric::PeUtilisation]).expect("utilisation");
        let net = {
            let mut n = NetworkSpec::new([8, 2, 2], 8);
            n.push("conv", conv());
            n
        };
        let u = util.cost(&net).expect("cost")[&Metric::PeUtilisation];
        assert!(close(u, 100.0 * util.network(&net).utilization), "{u}");
        assert!(only(vec![]).is_err());
        assert_eq!(only(vec![Metric::EnergyMj]).expect("ok").provides(), vec![Metric::EnergyMj]);
        let cfg: SystolicConfig = serde_json::from_str(r#"{"rows": 8, "dataflow": "rs"}"#).expect("json");
        assert_eq!((cfg.rows, cfg.cols, cfg.dataflow), (8, 16, Dataflow::RowStationary));
    }
}
