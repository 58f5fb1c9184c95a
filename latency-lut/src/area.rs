//! Silicon area of accelerator designs.
//!
//! A sub-accelerator's area is
//!
//! ```text
//! PEs x (PE logic + register file bytes x RF area per byte + NoC per PE)
//!   + global buffer KiB x SRAM area per KiB
//!   + bandwidth GB/s x memory-interface area per GB/s
//! ```
//!
//! and a design's area is the sum over its sub-accelerators.
//!
//! # Constants (`horowitz45`, 45 nm)
//!
//! | constant | value | source |
//! |---|---|---|
//! | PE logic | 1 265 µm² | a 16-bit multiplier (Horowitz, "Computing's energy problem", ISSCC 2014: 8-bit multiply 282 µm², scaled by the square of the width — *assumption*) plus a 32-bit adder (137 µm², same table) |
//! | register file | 60 µm² per byte | Aladdin's register, 5.98 µm² per bit at 40 nm (Shao et al., ISCA 2014, as packaged in Accelergy), scaled by (45/40)² — *assumption* |
//! | NoC per PE | 127 µm² | *assumption*: 10% of the PE logic for the neighbour links and the operand registers of a systolic array |
//! | SRAM | 0.010 mm² per KiB | TPU v1's floor plan (Jouppi et al., ISCA 2017: the 24 MiB unified buffer is 29% of a ≤ 331 mm² die at 28 nm, 0.0039 mm² per KiB), scaled by (45/28)² — *assumption* |
//! | memory interface | 0.05 mm² per GB/s | *assumption*: an LPDDR4 PHY of about 0.6 mm² for 12.8 GB/s |
//!
//! `eyeriss65` is the same at 65 nm (every area times (65/45)²). Check: Eyeriss
//! (Chen et al., JSSC 2017: 168 PEs with 448-byte scratchpads, a 108 KiB global
//! buffer, 12.25 mm² of core at 65 nm) comes out at 12.2 mm² with these constants
//! (a test), which is why the assumptions above were kept.

use crate::error::{LutError, Result};
use nas_core::hardware::{AcceleratorDesign, SubAccelerator};
use serde::{Deserialize, Serialize};

/// Area constants (see the module docs), in mm².
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaModel {
    /// Name for reports.
    pub name: String,
    /// One PE's arithmetic (MAC) and control.
    pub pe_mm2: f64,
    /// Register file (scratchpad) per byte.
    pub rf_mm2_per_byte: f64,
    /// On-chip network per PE.
    pub noc_mm2_per_pe: f64,
    /// Global-buffer SRAM per KiB.
    pub sram_mm2_per_kib: f64,
    /// Memory interface per GB/s of bandwidth.
    pub io_mm2_per_gbs: f64,
}

impl AreaModel {
    /// Names of the built-in constants.
    pub const NAMES: [&'static str; 2] = ["horowitz45", "eyeriss65"];

    /// 45 nm constants (see the module docs).
    pub fn horowitz45() -> Self {
        AreaModel {
            name: "horowitz45".into(),
            pe_mm2: 1265e-6,
            rf_mm2_per_byte: 60e-6,
            noc_mm2_per_pe: 127e-6,
            sram_mm2_per_kib: 0.010,
            io_mm2_per_gbs: 0.05,
        }
    }

    /// The 45 nm constants scaled to 65 nm.
    pub fn eyeriss65() -> Self {
        AreaModel { name: "eyeriss65".into(), ..AreaModel::horowitz45().scaled((65.0f64 / 45.0).powi(2)) }
    }

    /// Every area times `factor` (a change of technology node).
    pub fn scaled(&self, factor: f64) -> Self {
        AreaModel {
            name: self.name.clone(),
            pe_mm2: self.pe_mm2 * factor,
            rf_mm2_per_byte: self.rf_mm2_per_byte * factor,
            noc_mm2_per_pe: self.noc_mm2_per_pe * factor,
            sram_mm2_per_kib: self.sram_mm2_per_kib * factor,
            io_mm2_per_gbs: self.io_mm2_per_gbs * factor,
        }
    }

    /// The built-in constants of that name.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "horowitz45" => Ok(AreaModel::horowitz45()),
            "eyeriss65" => Ok(AreaModel::eyeriss65()),
            other => Err(LutError::invalid("area", other, &Self::NAMES.join(", "))),
        }
    }

    /// Checks that every constant is a finite number `>= 0`.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("pe_mm2", self.pe_mm2),
            ("rf_mm2_per_byte", self.rf_mm2_per_byte),
            ("noc_mm2_per_pe", self.noc_mm2_per_pe),
            ("sram_mm2_per_kib", self.sram_mm2_per_kib),
            ("io_mm2_per_gbs", self.io_mm2_per_gbs),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(LutError::invalid(field, v, "a finite number >= 0 (mm²)"));
            }
        }
        Ok(())
    }

    /// Area of one PE with its register file and NoC share.
    pub fn pe_total_mm2(&self, rf_bytes: usize) -> f64 {
        self.pe_mm2 + rf_bytes as f64 * self.rf_mm2_per_byte + self.noc_mm2_per_pe
    }

    /// Area of one sub-accelerator in mm².
    pub fn sub_mm2(&self, s: &SubAccelerator) -> f64 {
        s.pes() as f64 * self.pe_total_mm2(s.rf_bytes)
            + s.buffer_kib as f64 * self.sram_mm2_per_kib
            + s.bandwidth_gbs * self.io_mm2_per_gbs
    }

    /// Area of a design in mm².
    pub fn design_mm2(&self, d: &AcceleratorDesign) -> f64 {
        d.subs.iter().map(|s| self.sub_mm2(s)).sum()
    }
}

/// Area constants by name (`"horowitz45"`, `"eyeriss65"`) or given in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AreaChoice {
    /// Built-in constants.
    Named(String),
    /// Custom constants.
    Custom(AreaModel),
}

impl Default for AreaChoice {
    fn default() -> Self {
        AreaChoice::Named("horowitz45".into())
    }
}

impl AreaChoice {
    /// The constants (validated).
    pub fn resolve(&self) -> Result<AreaModel> {
        let m = match self {
            AreaChoice::Named(n) => AreaModel::by_name(n)?,
            AreaChoice::Custom(m) => m.clone(),
        };
        m.validate()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nas_core::hardware::Dataflow;

    fn sub(rows: usize, cols: usize, buffer_kib: usize, rf_bytes: usize, bandwidth_gbs: f64) -> SubAccelerator {
        SubAccelerator {
            dataflow: Dataflow::WeightStationary,
            rows,
            cols,
            buffer_kib,
            rf_bytes,
            bandwidth_gbs,
            clock_mhz: 500.0,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn hand_worked_designs() {
        let m = AreaModel {
            name: "round".into(),
            pe_mm2: 0.001,
            rf_mm2_per_byte: 0.0001,
            noc_mm2_per_pe: 0.0002,
            sram_mm2_per_kib: 0.01,
            io_mm2_per_gbs: 0.1,
        };
        // 4x4 PEs of (0.001 + 64 * 0.0001 + 0.0002) = 0.0076 -> 0.1216;
        // 32 KiB -> 0.32; 2 GB/s -> 0.2. Total 0.6416 mm².
        let a = sub(4, 4, 32, 64, 2.0);
        assert!(close(m.sub_mm2(&a), 0.6416), "{}", m.sub_mm2(&a));
        // 8x2 PEs without register file: 16 * 0.0012 = 0.0192; 0 KiB; 1 GB/s 0.1.
        let b = sub(8, 2, 0, 0, 1.0);
        assert!(close(m.sub_mm2(&b), 0.1192));
        let d = AcceleratorDesign { subs: vec![a, b] };
        assert!(close(m.design_mm2(&d), 0.7608));
        // Scaling by a node change scales every term.
        assert!(close(m.scaled(2.0).design_mm2(&d), 1.5216));
    }

    #[test]
    fn eyeriss_core_area_is_reproduced_at_65nm() {
        // 168 PEs (12 x 14) with 448-byte scratchpads, 108 KiB global buffer;
        // the published core is 12.25 mm² (without the I/O, so no bandwidth).
        let eyeriss = sub(12, 14, 108, 448, 0.0);
        let a = AreaModel::eyeriss65().sub_mm2(&eyeriss);
        assert!((a - 12.25).abs() / 12.25 < 0.05, "{a}");
    }

    #[test]
    fn names_and_bad_constants_are_refused_with_the_allowed_values() {
        let e = AreaChoice::Named("tsmc7".into()).resolve().expect_err("unknown");
        assert!(e.to_string().contains("horowitz45, eyeriss65"), "{e}");
        let bad = AreaModel { sram_mm2_per_kib: f64::NAN, ..AreaModel::horowitz45() };
        let e = AreaChoice::Custom(bad).resolve().expect_err("nan");
        assert!(e.to_string().contains("sram_mm2_per_kib"), "{e}");
        let c: AreaChoice = serde_json::from_str(r#""eyeriss65""#).expect("name");
        assert_eq!(c.resolve().expect("ok"), AreaModel::eyeriss65());
    }
}
