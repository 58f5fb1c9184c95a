//! The hardware vocabulary of network × accelerator co-design: dataflows,
//! sub-accelerator templates, heterogeneous designs, and the `codesign`
//! capability through which a joint space shows its networks, its design and
//! the mapping of tasks onto sub-accelerators.
//!
//! The values live here so that the spaces (`search-spaces`, which searches
//! them) and the models (`latency-lut`, which prices them: latency,
//! utilisation, energy, area) meet without depending on each other.

use crate::dynspace::{AnyArch, DynSpace};
use crate::error::{NasError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which operand stays in the processing elements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Dataflow {
    /// Weights stay; inputs stream through, partial sums flow down (TPU-like,
    /// NVDLA-like).
    #[default]
    #[serde(rename = "ws")]
    WeightStationary,
    /// Each PE accumulates one output; inputs and weights stream through
    /// (ShiDianNao-like).
    #[serde(rename = "os")]
    OutputStationary,
    /// Filter rows stay; 1-D row convolutions accumulate vertically (Eyeriss).
    #[serde(rename = "rs")]
    RowStationary,
}

impl Dataflow {
    /// Every dataflow.
    pub const ALL: [Dataflow; 3] = [Dataflow::WeightStationary, Dataflow::OutputStationary, Dataflow::RowStationary];

    /// The config name (`ws`, `os`, `rs`).
    pub fn name(&self) -> &'static str {
        match self {
            Dataflow::WeightStationary => "ws",
            Dataflow::OutputStationary => "os",
            Dataflow::RowStationary => "rs",
        }
    }

    /// The accelerator whose template it is, for reports.
    pub fn template(&self) -> &'static str {
        match self {
            Dataflow::WeightStationary => "NVDLA-like weight stationary",
            Dataflow::OutputStationary => "ShiDianNao-like output stationary",
            Dataflow::RowStationary => "Eyeriss-like row stationary",
        }
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataflow {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self> {
        Dataflow::ALL.into_iter().find(|d| d.name() == s.trim()).ok_or_else(|| NasError::InvalidValue {
            field: "dataflow".into(),
            value: s.into(),
            allowed: "ws, os, rs".into(),
        })
    }
}

/// One sub-accelerator: a dataflow template and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubAccelerator {
    /// The dataflow template.
    pub dataflow: Dataflow,
    /// PE rows.
    pub rows: usize,
    /// PE columns.
    pub cols: usize,
    /// Global (on-chip SRAM) buffer in KiB, split equally between inputs,
    /// filters and outputs.
    pub buffer_kib: usize,
    /// Register file (scratchpad) per PE in bytes.
    pub rf_bytes: usize,
    /// Off-chip / NoC bandwidth in GB/s (10^9 bytes per second).
    pub bandwidth_gbs: f64,
    /// Clock in MHz.
    pub clock_mhz: f64,
}

impl SubAccelerator {
    /// Processing elements (`rows * cols`).
    pub fn pes(&self) -> usize {
        self.rows * self.cols
    }

    /// Bandwidth in bytes per clock cycle.
    pub fn bytes_per_cycle(&self) -> f64 {
        self.bandwidth_gbs * 1e3 / self.clock_mhz
    }

    /// The canonical notation, e.g. `ws-32x32-gb128k-rf64b-bw16g-500mhz`.
    pub fn notation(&self) -> String {
        format!(
            "{}-{}x{}-gb{}k-rf{}b-bw{}g-{}mhz",
            self.dataflow, self.rows, self.cols, self.buffer_kib, self.rf_bytes, self.bandwidth_gbs, self.clock_mhz
        )
    }
}

impl FromStr for SubAccelerator {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: String| NasError::InvalidValue {
            field: "sub-accelerator".into(),
            value: s.into(),
            allowed: format!("DATAFLOW-RxC-gbNk-rfNb-bwNg-Nmhz, e.g. ws-32x32-gb128k-rf64b-bw16g-500mhz ({reason})"),
        };
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [df, array, gb, rf, bw, clock] = parts[..] else {
            return Err(bad(format!("{} fields given, 6 expected", parts.len())));
        };
        let dataflow: Dataflow = df.parse()?;
        let (r, c) = array.split_once('x').ok_or_else(|| bad(format!("`{array}` is not RxC")))?;
        let int = |v: &str, what: &str| v.parse::<usize>().map_err(|_| bad(format!("`{v}` is not a {what}")));
        let num = |v: &str, what: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .ok_or_else(|| bad(format!("`{v}` is not a {what}")))
        };
        let strip = |v: &'_ str, pre: &str, post: &str| -> Result<String> {
            v.strip_prefix(pre)
                .and_then(|x| x.strip_suffix(post))
                .map(String::from)
                .ok_or_else(|| bad(format!("`{v}` should read {pre}N{post}")))
        };
        Ok(SubAccelerator {
            dataflow,
            rows: int(r, "row count")?,
            cols: int(c, "column count")?,
            buffer_kib: int(&strip(gb, "gb", "k")?, "buffer size in KiB")?,
            rf_bytes: int(&strip(rf, "rf", "b")?, "register file size in bytes")?,
            bandwidth_gbs: num(&strip(bw, "bw", "g")?, "bandwidth in GB/s")?,
            clock_mhz: num(&strip(clock, "", "mhz")?, "clock in MHz")?,
        })
    }
}

/// A hardware design: one or more sub-accelerators.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceleratorDesign {
    /// The sub-accelerators, in slot order.
    pub subs: Vec<SubAccelerator>,
}

impl AcceleratorDesign {
    /// Total PEs.
    pub fn pes(&self) -> usize {
        self.subs.iter().map(SubAccelerator::pes).sum()
    }

    /// Total bandwidth in GB/s.
    pub fn bandwidth_gbs(&self) -> f64 {
        self.subs.iter().map(|s| s.bandwidth_gbs).sum()
    }

    /// The canonical notation: the sub-accelerators' joined by `+`.
    pub fn notation(&self) -> String {
        self.subs.iter().map(SubAccelerator::notation).collect::<Vec<_>>().join("+")
    }
}

impl FromStr for AcceleratorDesign {
    type Err = NasError;
    fn from_str(s: &str) -> Result<Self> {
        let subs = s.split('+').map(str::parse).collect::<Result<Vec<SubAccelerator>>>()?;
        Ok(AcceleratorDesign { subs })
    }
}

/// One task of a joint space: its name and its network space.
#[derive(Clone, Debug)]
pub struct CoDesignTask {
    /// The task's name (e.g. `cifar10`).
    pub name: String,
    /// The space its network comes from.
    pub space: DynSpace,
}

/// A joint architecture taken apart.
#[derive(Clone, Debug)]
pub struct CoDesignView {
    /// One network per task, in task order (architectures of the task spaces).
    pub nets: Vec<AnyArch>,
    /// The hardware.
    pub design: AcceleratorDesign,
    /// The sub-accelerator (slot index into `design.subs`) each task runs on.
    pub mapping: Vec<usize>,
}

/// The `codesign` capability: a space of (networks, hardware, mapping)
/// architectures shows its tasks and takes an architecture apart, so cost models
/// of heterogeneous accelerators can price it.
pub trait DynCoDesign: Send + Sync {
    /// The tasks, in order.
    fn tasks(&self) -> Vec<CoDesignTask>;
    /// The parts of an architecture of this space; `Err` when `arch` is not one.
    fn view(&self, arch: &AnyArch) -> Result<CoDesignView>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_round_trips_and_errors_name_the_format() {
        let s = SubAccelerator {
            dataflow: Dataflow::RowStationary,
            rows: 12,
            cols: 14,
            buffer_kib: 108,
            rf_bytes: 512,
            bandwidth_gbs: 12.5,
            clock_mhz: 200.0,
        };
        assert_eq!(s.notation(), "rs-12x14-gb108k-rf512b-bw12.5g-200mhz");
        assert_eq!(s.notation().parse::<SubAccelerator>().expect("parses"), s);
        assert_eq!(s.pes(), 168);
        assert!((s.bytes_per_cycle() - 62.5).abs() < 1e-12);
        let d =
            AcceleratorDesign { subs: vec![s.clone(), SubAccelerator { dataflow: Dataflow::WeightStationary, ..s }] };
        assert_eq!(d.notation().parse::<AcceleratorDesign>().expect("parses"), d);
        assert_eq!((d.pes(), d.bandwidth_gbs()), (336, 25.0));
        let e = "xs-12x14-gb108k-rf512b-bw12.5g-200mhz".parse::<SubAccelerator>().expect_err("dataflow");
        assert!(e.to_string().contains("ws, os, rs"), "{e}");
        let e = "ws-12x14-gb108k-rf512b-200mhz".parse::<SubAccelerator>().expect_err("short");
        assert!(e.to_string().contains("5 fields given"), "{e}");
        let e = "ws-12x14-gb108-rf512b-bw1g-200mhz".parse::<SubAccelerator>().expect_err("unit");
        assert!(e.to_string().contains("gbNk"), "{e}");
    }
}
