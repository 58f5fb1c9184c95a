//! An analytical energy model: MAC counts and memory traffic per level of a
//! register file / on-chip buffer / DRAM hierarchy, priced with per-access
//! energies from the literature.
//!
//! # Model (per layer, batch `B`)
//!
//! With `m = B * macs`, `alu = B * (flops - 2 * macs)` (bias adds, pooling,
//! sums, batch-norm and activation arithmetic), `W` weights, `I` and `O` the input
//! and output activations of the batch, `wb` / `ab` the weight / activation bits and
//! `acc` the accumulator width (32 for f32, `min(wb + ab, 32)` for integers):
//!
//! - **compute** = `m * (mult(wb, ab) + add(acc)) + alu * add(ab)`;
//! - **register file**: each MAC reads a weight, an activation and a partial sum and
//!   writes the partial sum back (`wb + ab + 2 * acc` bits, the accounting of
//!   Eyeriss); each other operation reads and writes one activation (`2 * ab`);
//! - **on-chip buffer**: every weight, input and output word crosses the buffer
//!   once (`W * wb + (I + O) * ab` bits). This is the compulsory traffic that no
//!   dataflow avoids, i.e. it assumes the register files capture all reuse; the
//!   [`systolic`](crate::systolic) model prices dataflow-dependent re-reads;
//! - **DRAM**: weights are read once per inference (a network's weights do not stay
//!   on chip); activations stay on chip when input + output fit half the buffer,
//!   else they are read and written from DRAM, and the input is re-read once per
//!   tile of weights that fits the other half.
//!
//! Energies are per bit, so that narrower words cost proportionally less; integer
//! multipliers scale with `wb * ab` and adders with their width (Horowitz's 8-bit
//! and 32-bit figures agree with both rules within 20%).
//!
//! # Technologies
//!
//! - `horowitz45` — M. Horowitz, "Computing's energy problem (and what we can do
//!   about it)", ISSCC 2014, 45 nm at 0.9 V: 8-bit integer multiply 0.2 pJ and add
//!   0.03 pJ; 32-bit float multiply 3.7 pJ and add 0.9 pJ; SRAM 64-bit access 10 pJ
//!   (8 KB, used for the register-file level, an upper bound for a register file)
//!   and 20 pJ (32 KB, the buffer level); DRAM 1.3–2.6 nJ per 64 bits (the midpoint,
//!   1.95 nJ, is used). Horowitz gives no network-on-chip figure; twice the
//!   register file, as in Eyeriss, is assumed.
//! - `eyeriss65` — Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: a spatial architecture
//!   for energy-efficient dataflow for convolutional neural networks", ISCA 2016,
//!   65 nm, 16-bit fixed point: energy relative to one MAC is 1x for a register
//!   file access, 2x for an inter-PE transfer, 6x for the global buffer and 200x
//!   for DRAM. The paper gives ratios only; the absolute scale (one 16-bit MAC =
//!   1 pJ: multiply 0.9 pJ + add 0.1 pJ) is our assumption, so compare energies
//!   within this technology rather than against other sources.

use crate::error::{LutError, Result};
use nas_core::{CostModel, LayerSpec, Metric, MetricMap, NasError, NetworkSpec};
use serde::{Deserialize, Serialize};

/// Per-operation and per-bit access energies of a technology, in picojoules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technology {
    /// Name for reports.
    pub name: String,
    /// Width at which `int_mult_pj` and `int_add_pj` are given.
    pub int_ref_bits: u8,
    /// Integer multiply at `int_ref_bits` x `int_ref_bits` (scales with `wb * ab`).
    pub int_mult_pj: f64,
    /// Integer add at `int_ref_bits` (scales with the width).
    pub int_add_pj: f64,
    /// 32-bit float multiply.
    pub fp32_mult_pj: f64,
    /// 32-bit float add.
    pub fp32_add_pj: f64,
    /// Register-file access, per bit.
    pub rf_pj_per_bit: f64,
    /// Transfer between neighbouring processing elements, per bit.
    pub noc_pj_per_bit: f64,
    /// On-chip buffer (SRAM) access, per bit.
    pub buffer_pj_per_bit: f64,
    /// DRAM access, per bit.
    pub dram_pj_per_bit: f64,
}

impl Technology {
    /// Names of the built-in technologies.
    pub const NAMES: [&'static str; 2] = ["horowitz45", "eyeriss65"];

    /// Horowitz, ISSCC 2014, 45 nm (see the module docs).
    pub fn horowitz45() -> Self {
        Technology {
            name: "horowitz45".into(),
            int_ref_bits: 8,
            int_mult_pj: 0.2,
            int_add_pj: 0.03,
            fp32_mult_pj: 3.7,
            fp32_add_pj: 0.9,
            rf_pj_per_bit: 10.0 / 64.0,
            noc_pj_per_bit: 2.0 * 10.0 / 64.0,
            buffer_pj_per_bit: 20.0 / 64.0,
            dram_pj_per_bit: 1950.0 / 64.0,
        }
    }

    /// Eyeriss, ISCA 2016, 65 nm, ratios scaled to a 1 pJ 16-bit MAC (see the module docs).
    pub fn eyeriss65() -> Self {
        let mac = 1.0;
        Technology {
            name: "eyeriss65".into(),
            int_ref_bits: 16,
            int_mult_pj: 0.9 * mac,
            int_add_pj: 0.1 * mac,
            // No float unit in Eyeriss: a 32-bit word is priced as 32-bit fixed point.
            fp32_mult_pj: 0.9 * mac * 4.0,
            fp32_add_pj: 0.1 * mac * 2.0,
            rf_pj_per_bit: mac / 16.0,
            noc_pj_per_bit: 2.0 * mac / 16.0,
            buffer_pj_per_bit: 6.0 * mac / 16.0,
            dram_pj_per_bit: 200.0 * mac / 16.0,
        }
    }

    /// A built-in technology by name.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "horowitz45" => Ok(Self::horowitz45()),
            "eyeriss65" => Ok(Self::eyeriss65()),
            other => Err(LutError::invalid("technology", other, &Self::NAMES.join(", "))),
        }
    }

    /// Checks that every energy is finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        if self.int_ref_bits == 0 {
            return Err(LutError::invalid("technology.int_ref_bits", 0, "a width >= 1"));
        }
        for (field, v) in [
            ("int_mult_pj", self.int_mult_pj),
            ("int_add_pj", self.int_add_pj),
            ("fp32_mult_pj", self.fp32_mult_pj),
            ("fp32_add_pj", self.fp32_add_pj),
            ("rf_pj_per_bit", self.rf_pj_per_bit),
            ("noc_pj_per_bit", self.noc_pj_per_bit),
            ("buffer_pj_per_bit", self.buffer_pj_per_bit),
            ("dram_pj_per_bit", self.dram_pj_per_bit),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(LutError::invalid(&format!("technology.{field}"), v, "a finite energy >= 0 (pJ)"));
            }
        }
        Ok(())
    }

    /// Whether a layer with these widths runs in 32-bit float.
    pub fn is_float(wb: u8, ab: u8) -> bool {
        wb >= 32 && ab >= 32
    }

    /// Accumulator width: 32 for float, `min(wb + ab, 32)` for integers.
    pub fn acc_bits(wb: u8, ab: u8) -> u32 {
        if Self::is_float(wb, ab) { 32 } else { (u32::from(wb) + u32::from(ab)).min(32) }
    }

    /// One multiply of a `wb`-bit weight by an `ab`-bit activation.
    pub fn mult_pj(&self, wb: u8, ab: u8) -> f64 {
        if Self::is_float(wb, ab) {
            self.fp32_mult_pj
        } else {
            let r = f64::from(self.int_ref_bits);
            self.int_mult_pj * f64::from(wb) * f64::from(ab) / (r * r)
        }
    }

    /// One add of `bits`-wide operands (float at 32 bits when `float`).
    pub fn add_pj(&self, bits: u32, float: bool) -> f64 {
        if float { self.fp32_add_pj } else { self.int_add_pj * f64::from(bits) / f64::from(self.int_ref_bits) }
    }

    /// One multiply-accumulate.
    pub fn mac_pj(&self, wb: u8, ab: u8) -> f64 {
        self.mult_pj(wb, ab) + self.add_pj(Self::acc_bits(wb, ab), Self::is_float(wb, ab))
    }
}

/// A technology by name (`"horowitz45"`) or given in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TechnologyChoice {
    /// A built-in technology.
    Named(String),
    /// Custom energies.
    Custom(Technology),
}

impl Default for TechnologyChoice {
    fn default() -> Self {
        TechnologyChoice::Named("horowitz45".into())
    }
}

impl TechnologyChoice {
    /// The technology (validated).
    pub fn resolve(&self) -> Result<Technology> {
        let t = match self {
            TechnologyChoice::Named(n) => Technology::by_name(n)?,
            TechnologyChoice::Custom(t) => t.clone(),
        };
        t.validate()?;
        Ok(t)
    }
}

/// Energy of a layer or network per level, in picojoules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnergyBreakdown {
    /// Arithmetic.
    pub compute_pj: f64,
    /// Register files.
    pub rf_pj: f64,
    /// Transfers between processing elements (systolic arrays only).
    pub noc_pj: f64,
    /// On-chip buffer.
    pub buffer_pj: f64,
    /// DRAM.
    pub dram_pj: f64,
}

impl EnergyBreakdown {
    /// Sum of all levels.
    pub fn total_pj(&self) -> f64 {
        self.compute_pj + self.rf_pj + self.noc_pj + self.buffer_pj + self.dram_pj
    }

    /// Adds another breakdown level by level.
    pub fn add(&mut self, o: &EnergyBreakdown) {
        self.compute_pj += o.compute_pj;
        self.rf_pj += o.rf_pj;
        self.noc_pj += o.noc_pj;
        self.buffer_pj += o.buffer_pj;
        self.dram_pj += o.dram_pj;
    }
}

/// The analytical energy model (see the module docs); a [`CostModel`] for `energy_mj`.
#[derive(Clone, Debug, PartialEq)]
pub struct EnergyModel {
    /// Per-access energies.
    pub technology: Technology,
    /// On-chip buffer capacity in KiB.
    pub buffer_kib: f64,
    /// Inputs per inference.
    pub batch: usize,
}

impl EnergyModel {
    /// A model with a validated technology, buffer and batch.
    pub fn new(technology: Technology, buffer_kib: f64, batch: usize) -> Result<Self> {
        technology.validate()?;
        if !(buffer_kib.is_finite() && buffer_kib > 0.0) {
            return Err(LutError::invalid("buffer_kib", buffer_kib, "a positive capacity in KiB"));
        }
        if batch == 0 {
            return Err(LutError::invalid("batch", 0, "an integer >= 1"));
        }
        Ok(EnergyModel { technology, buffer_kib, batch })
    }

    /// The energy of one layer for the whole batch.
    pub fn layer(&self, s: &LayerSpec) -> EnergyBreakdown {
        let t = &self.technology;
        let b = self.batch as f64;
        let (wb, ab) = (s.weight_bits, s.act_bits);
        let (wbf, abf) = (f64::from(wb), f64::from(ab));
        let float = Technology::is_float(wb, ab);
        let acc = f64::from(Technology::acc_bits(wb, ab));
        let m = b * s.macs() as f64;
        let alu = b * s.flops().saturating_sub(2 * s.macs()) as f64;
        let (w, i, o) = (s.params() as f64, b * s.input_elems() as f64, b * s.output_elems() as f64);
        let compute_pj = m * t.mac_pj(wb, ab) + alu * t.add_pj(u32::from(ab), float);
        let rf_bits = m * (wbf + abf + 2.0 * acc) + alu * 2.0 * abf;
        let buffer_bits = w * wbf + (i + o) * abf;
        let cap = self.buffer_kib * 8192.0;
        let spill = (i + o) * abf > cap / 2.0;
        let weight_tiles = (w * wbf / (cap / 2.0)).ceil().max(1.0);
        let dram_bits = w * wbf + if spill { i * abf * weight_tiles + o * abf } else { 0.0 };
        EnergyBreakdown {
            compute_pj,
            rf_pj: rf_bits * t.rf_pj_per_bit,
            noc_pj: 0.0,
            buffer_pj: buffer_bits * t.buffer_pj_per_bit,
            dram_pj: dram_bits * t.dram_pj_per_bit,
        }
    }

    /// The energy of a network (sum of its layers).
    pub fn network(&self, net: &NetworkSpec) -> EnergyBreakdown {
        let mut e = EnergyBreakdown::default();
        for l in &net.layers {
            e.add(&self.layer(&l.spec));
        }
        e
    }
}

impl CostModel for EnergyModel {
    fn name(&self) -> String {
        format!("energy({}, {} KiB buffer, batch {})", self.technology.name, self.buffer_kib, self.batch)
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::EnergyMj]
    }

    fn cost(&self, net: &NetworkSpec) -> Result<MetricMap, NasError> {
        // 1 pJ = 1e-12 J = 1e-9 mJ.
        Ok(MetricMap::from([(Metric::EnergyMj, self.network(net).total_pj() * 1e-9)]))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use nas_core::OpKind;

    /// A technology with round energies, for hand-checked figures.
    pub(crate) fn round() -> Technology {
        Technology {
            name: "round".into(),
            int_ref_bits: 8,
            int_mult_pj: 1.0,
            int_add_pj: 0.5,
            fp32_mult_pj: 4.0,
            fp32_add_pj: 1.0,
            rf_pj_per_bit: 0.01,
            noc_pj_per_bit: 0.02,
            buffer_pj_per_bit: 0.1,
            dram_pj_per_bit: 1.0,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// 1x1 convolution 2->2 channels on 2x2, 8-bit, batch 1, 1 KiB buffer:
    /// 16 MACs at 1 + 0.5 * 16/8 = 2 pJ = 32 pJ; RF 16 * (8 + 8 + 2 * 16) = 768 bits
    /// = 7.68 pJ; buffer 4 * 8 + (8 + 8) * 8 = 160 bits = 16 pJ; activations (128
    /// bits) fit half the buffer, so DRAM moves the weights only: 32 bits = 32 pJ.
    #[test]
    fn small_int8_convolution_matches_hand_computation() {
        let m = EnergyModel::new(round(), 1.0, 1).expect("valid");
        let conv = LayerSpec::conv(2, 2, 1, 1, 1, [2, 2]).with_bits(8, 8);
        let e = m.layer(&conv);
        assert!(close(e.compute_pj, 32.0), "{e:?}");
        assert!(close(e.rf_pj, 7.68), "{e:?}");
        assert!(close(e.buffer_pj, 16.0), "{e:?}");
        assert!(close(e.dram_pj, 32.0), "{e:?}");
        assert!(close(e.total_pj(), 87.68));
        let mm = m.cost(&NetworkSpec { input_chw: [2, 2, 2], num_outputs: 2, layers: vec![] }).expect("cost");
        assert_eq!(mm[&Metric::EnergyMj], 0.0);
    }

    /// An f32 ReLU on 4 x 16 x 16 (1024 elements), batch 2, 1 KiB buffer: 2048 ALU
    /// ops at the f32 add (1 pJ) = 2048 pJ; RF 2048 * 64 bits * 0.01 = 1310.72 pJ;
    /// buffer (2048 + 2048) * 32 bits * 0.1 = 13107.2 pJ; activations (131072 bits)
    /// exceed half the buffer (4096 bits): DRAM reads and writes them once (no
    /// weights): 131072 pJ.
    #[test]
    fn spilling_activation_matches_hand_computation() {
        let m = EnergyModel::new(round(), 1.0, 2).expect("valid");
        let relu = LayerSpec::activation(nas_core::Activation::Relu, 4, [16, 16]);
        let e = m.layer(&relu);
        assert!(close(e.compute_pj, 2048.0), "{e:?}");
        assert!(close(e.rf_pj, 1310.72), "{e:?}");
        assert!(close(e.buffer_pj, 13107.2), "{e:?}");
        assert!(close(e.dram_pj, 131072.0), "{e:?}");
    }

    /// Weights larger than half the buffer tile it: a 64->64 1x1 f32 conv on 8x8
    /// has 4096 weights = 131072 bits = 32 half-buffers of 4096 bits (1 KiB
    /// buffer), and 8192 activations spill, so the input is read 32 times.
    #[test]
    fn weight_tiles_multiply_input_reads() {
        let m = EnergyModel::new(round(), 1.0, 1).expect("valid");
        let conv = LayerSpec::conv(64, 64, 1, 1, 1, [8, 8]);
        let e = m.layer(&conv);
        let (w, i, o) = (4096.0 * 32.0, 4096.0 * 32.0, 4096.0 * 32.0);
        assert!(close(e.dram_pj, w + i * 32.0 + o), "{e:?}");
        let pool = LayerSpec::pool(OpKind::MaxPool2d, 4, 2, 2, 0, [4, 4]);
        // 16 outputs x 4 compares (flops) = 64 ALU ops, no MACs.
        assert!(close(m.layer(&pool).compute_pj, 64.0));
    }

    #[test]
    fn builtin_technologies_follow_their_sources() {
        let h = Technology::horowitz45();
        assert!(close(h.mac_pj(8, 8), 0.2 + 0.03 * 2.0));
        assert!(close(h.mac_pj(32, 32), 4.6));
        assert!(close(h.dram_pj_per_bit * 64.0, 1950.0));
        let e = Technology::eyeriss65();
        // Relative to a 16-bit MAC: RF 1x, inter-PE 2x, buffer 6x, DRAM 200x per 16-bit word.
        let mac = e.mac_pj(16, 16) - e.add_pj(32, false) + e.add_pj(16, false);
        assert!(close(mac, 1.0));
        assert!(close(e.rf_pj_per_bit * 16.0, 1.0) && close(e.buffer_pj_per_bit * 16.0, 6.0));
        assert!(close(e.dram_pj_per_bit * 16.0, 200.0) && close(e.noc_pj_per_bit * 16.0, 2.0));
        assert!(Technology::by_name("tsmc5").expect_err("unknown").to_string().contains("horowitz45, eyeriss65"));
        let bad = Technology { dram_pj_per_bit: -1.0, ..h };
        assert!(bad.validate().expect_err("negative").to_string().contains("dram_pj_per_bit"));
        let choice: TechnologyChoice = serde_json::from_str("\"eyeriss65\"").expect("named");
        assert_eq!(choice.resolve().expect("known"), e);
    }
}
