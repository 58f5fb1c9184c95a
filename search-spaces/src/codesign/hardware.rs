//! The accelerator side of a joint space: the template parameters each
//! sub-accelerator may take (ladders) and the budgets the sub-accelerators
//! share; sampling, mutation, crossover and the categorical decisions of a
//! design.

use nas_core::decisions::Decision;
use nas_core::hardware::{AcceleratorDesign, Dataflow, SubAccelerator};
use nas_core::{NasError, Result};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// The hardware half of a `codesign` space (`[space.hardware]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HardwareConfig {
    /// Most sub-accelerators in a design (default 2).
    pub max_subs: usize,
    /// Dataflow templates (default `ws`, `os`, `rs`: NVDLA-, ShiDianNao-,
    /// Eyeriss-like).
    pub dataflows: Vec<Dataflow>,
    /// PE rows a sub-accelerator may have (default 8, 16, 32, 64).
    pub rows: Vec<usize>,
    /// PE columns (default 8, 16, 32, 64).
    pub cols: Vec<usize>,
    /// Global buffer sizes in KiB (default 32, 64, 128, 256).
    pub buffer_kib: Vec<usize>,
    /// Register file per PE in bytes (default 16, 32, 64).
    pub rf_bytes: Vec<usize>,
    /// Bandwidths in GB/s (default 4, 8, 16, 32).
    pub bandwidth_gbs: Vec<f64>,
    /// Clocks in MHz (default 500).
    pub clock_mhz: Vec<f64>,
    /// PEs all sub-accelerators share (default 4096).
    pub max_pes: usize,
    /// Bandwidth all sub-accelerators share, in GB/s (default 64).
    pub max_bandwidth_gbs: f64,
}

impl Default for HardwareConfig {
    fn default() -> Self {
        HardwareConfig {
            max_subs: 2,
            dataflows: Dataflow::ALL.to_vec(),
            rows: vec![8, 16, 32, 64],
            cols: vec![8, 16, 32, 64],
            buffer_kib: vec![32, 64, 128, 256],
            rf_bytes: vec![16, 32, 64],
            bandwidth_gbs: vec![4.0, 8.0, 16.0, 32.0],
            clock_mhz: vec![500.0],
            max_pes: 4096,
            max_bandwidth_gbs: 64.0,
        }
    }
}

/// The parameters of one sub-accelerator as indices into the ladders, in the
/// order of [`HardwareConfig::PARAMS`].
pub type SubGenes = [usize; 7];

fn invalid(field: &str, value: impl std::fmt::Debug, allowed: &str) -> NasError {
    NasError::InvalidValue { field: format!("hardware.{field}"), value: format!("{value:?}"), allowed: allowed.into() }
}

impl HardwareConfig {
    /// The template parameters, in gene order.
    pub const PARAMS: [&'static str; 7] =
        ["dataflow", "rows", "cols", "buffer_kib", "rf_bytes", "bandwidth_gbs", "clock_mhz"];

    /// Checks the ladders and budgets: non-empty, positive, no repeats, and the
    /// smallest design within the budgets.
    pub fn validate(&self) -> Result<()> {
        NasError::check_size("hardware.max_subs", self.max_subs, 1, 8)?;
        if self.dataflows.is_empty()
            || (1..self.dataflows.len()).any(|i| self.dataflows[..i].contains(&self.dataflows[i]))
        {
            return Err(invalid("dataflows", &self.dataflows, "distinct names among ws, os, rs"));
        }
        let ints = [
            ("rows", &self.rows),
            ("cols", &self.cols),
            ("buffer_kib", &self.buffer_kib),
            ("rf_bytes", &self.rf_bytes),
        ];
        for (field, v) in ints {
            if v.is_empty() || v.contains(&0) || (1..v.len()).any(|i| v[..i].contains(&v[i])) {
                return Err(invalid(field, v, "a non-empty list of distinct integers >= 1"));
            }
        }
        for (field, v) in [("bandwidth_gbs", &self.bandwidth_gbs), ("clock_mhz", &self.clock_mhz)] {
            if v.is_empty()
                || v.iter().any(|x| !(x.is_finite() && *x > 0.0))
                || (1..v.len()).any(|i| v[..i].contains(&v[i]))
            {
                return Err(invalid(field, v, "a non-empty list of distinct positive numbers"));
            }
        }
        let min_pes = self.rows.iter().min().copied().unwrap_or(1) * self.cols.iter().min().copied().unwrap_or(1);
        if min_pes > self.max_pes {
            return Err(invalid("max_pes", self.max_pes, &format!("at least the smallest array ({min_pes} PEs)")));
        }
        let min_bw = self.bandwidth_gbs.iter().copied().fold(f64::INFINITY, f64::min);
        if !(self.max_bandwidth_gbs.is_finite() && self.max_bandwidth_gbs >= min_bw) {
            return Err(invalid(
                "max_bandwidth_gbs",
                self.max_bandwidth_gbs,
                &format!("at least the smallest bandwidth ({min_bw} GB/s)"),
            ));
        }
        Ok(())
    }

    fn arities(&self) -> [usize; 7] {
        [
            self.dataflows.len(),
            self.rows.len(),
            self.cols.len(),
            self.buffer_kib.len(),
            self.rf_bytes.len(),
            self.bandwidth_gbs.len(),
            self.clock_mhz.len(),
        ]
    }

    /// The sub-accelerator of some genes.
    pub fn sub(&self, g: &SubGenes) -> SubAccelerator {
        SubAccelerator {
            dataflow: self.dataflows[g[0]],
            rows: self.rows[g[1]],
            cols: self.cols[g[2]],
            buffer_kib: self.buffer_kib[g[3]],
            rf_bytes: self.rf_bytes[g[4]],
            bandwidth_gbs: self.bandwidth_gbs[g[5]],
            clock_mhz: self.clock_mhz[g[6]],
        }
    }

    /// The genes of a sub-accelerator, or why it is not in the ladders.
    pub fn genes(&self, s: &SubAccelerator) -> Result<SubGenes> {
        let pos = |field: &str, found: Option<usize>, allowed: String| {
            found.ok_or_else(|| invalid(field, s.notation(), &allowed))
        };
        let list = |v: &[usize]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
        let listf = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
        Ok([
            pos(
                "dataflows",
                self.dataflows.iter().position(|d| *d == s.dataflow),
                self.dataflows.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "),
            )?,
            pos("rows", self.rows.iter().position(|x| *x == s.rows), list(&self.rows))?,
            pos("cols", self.cols.iter().position(|x| *x == s.cols), list(&self.cols))?,
            pos("buffer_kib", self.buffer_kib.iter().position(|x| *x == s.buffer_kib), list(&self.buffer_kib))?,
            pos("rf_bytes", self.rf_bytes.iter().position(|x| *x == s.rf_bytes), list(&self.rf_bytes))?,
            pos(
                "bandwidth_gbs",
                self.bandwidth_gbs.iter().position(|x| *x == s.bandwidth_gbs),
                listf(&self.bandwidth_gbs),
            )?,
            pos("clock_mhz", self.clock_mhz.iter().position(|x| *x == s.clock_mhz), listf(&self.clock_mhz))?,
        ])
    }

    /// Checks a design: 1..=`max_subs` sub-accelerators from the ladders,
    /// within the PE and bandwidth budgets.
    pub fn check(&self, d: &AcceleratorDesign) -> std::result::Result<(), String> {
        if d.subs.is_empty() || d.subs.len() > self.max_subs {
            return Err(format!("{} sub-accelerators; the space allows 1 to {}", d.subs.len(), self.max_subs));
        }
        for s in &d.subs {
            self.genes(s).map_err(|e| e.to_string())?;
        }
        if d.pes() > self.max_pes {
            return Err(format!("{} PEs, over the budget of {} PEs", d.pes(), self.max_pes));
        }
        if d.bandwidth_gbs() > self.max_bandwidth_gbs + 1e-9 {
            return Err(format!(
                "{} GB/s of bandwidth, over the budget of {} GB/s",
                d.bandwidth_gbs(),
                self.max_bandwidth_gbs
            ));
        }
        Ok(())
    }

    fn random_genes(&self, rng: &mut dyn RngCore) -> SubGenes {
        let a = self.arities();
        std::array::from_fn(|i| rng.random_range(0..a[i]))
    }

    /// A design drawn uniformly among those within the budgets (rejection:
    /// the number of sub-accelerators, then each one's parameters).
    pub fn sample(&self, rng: &mut dyn RngCore) -> AcceleratorDesign {
        loop {
            let n = rng.random_range(1..=self.max_subs);
            let d = AcceleratorDesign { subs: (0..n).map(|_| self.sub(&self.random_genes(rng))).collect() };
            if self.check(&d).is_ok() {
                return d;
            }
        }
    }

    /// One parameter of one sub-accelerator changed, or a sub-accelerator
    /// added or removed; within the budgets, different from `d`.
    pub fn mutate(&self, d: &AcceleratorDesign, rng: &mut dyn RngCore) -> AcceleratorDesign {
        let genes: Vec<SubGenes> = d.subs.iter().map(|s| self.genes(s).expect("design of this space")).collect();
        let a = self.arities();
        let changeable: Vec<usize> = (0..7).filter(|&p| a[p] > 1).collect();
        for _ in 0..200 {
            let mut g = genes.clone();
            let resize = changeable.is_empty() || (self.max_subs > 1 && rng.random_bool(0.2));
            if resize {
                if g.len() > 1 && (g.len() == self.max_subs || rng.random_bool(0.5)) {
                    g.remove(rng.random_range(0..g.len()));
                } else if g.len() < self.max_subs {
                    g.push(self.random_genes(rng));
                }
            } else {
                let s = rng.random_range(0..g.len());
                let p = changeable[rng.random_range(0..changeable.len())];
                let v = rng.random_range(0..a[p] - 1);
                g[s][p] = if v >= g[s][p] { v + 1 } else { v };
            }
            let out = AcceleratorDesign { subs: g.iter().map(|x| self.sub(x)).collect() };
            if out != *d && self.check(&out).is_ok() {
                return out;
            }
        }
        self.sample(rng)
    }

    /// The categorical decisions of a design (group `hardware`): per slot,
    /// whether it is used (from the second slot on) and each parameter.
    pub fn decisions(&self) -> Vec<Decision> {
        let labels = |v: Vec<String>| v;
        let mut out = Vec::new();
        for slot in 0..self.max_subs {
            if slot > 0 {
                out.push(Decision::new(format!("sub{slot} used"), labels(vec!["no".into(), "yes".into()]), "hardware"));
            }
            let options: [Vec<String>; 7] = [
                self.dataflows.iter().map(|d| d.name().to_string()).collect(),
                self.rows.iter().map(|x| x.to_string()).collect(),
                self.cols.iter().map(|x| x.to_string()).collect(),
                self.buffer_kib.iter().map(|x| format!("{x} KiB")).collect(),
                self.rf_bytes.iter().map(|x| format!("{x} B")).collect(),
                self.bandwidth_gbs.iter().map(|x| format!("{x} GB/s")).collect(),
                self.clock_mhz.iter().map(|x| format!("{x} MHz")).collect(),
            ];
            for (name, opts) in Self::PARAMS.iter().zip(options) {
                out.push(Decision::new(format!("sub{slot} {name}"), opts, "hardware"));
            }
        }
        out
    }

    /// Decisions per design ([`HardwareConfig::decisions`]).
    pub fn decision_count(&self) -> usize {
        self.max_subs * 7 + self.max_subs - 1
    }

    /// The design of some decisions (unused slots are left out; the design's
    /// sub-accelerators are the used slots in order).
    pub fn design_from(&self, choices: &[usize]) -> AcceleratorDesign {
        let mut subs = Vec::new();
        let mut at = 0;
        for slot in 0..self.max_subs {
            let used = if slot == 0 {
                true
            } else {
                at += 1;
                choices[at - 1] == 1
            };
            let g: SubGenes = std::array::from_fn(|i| choices[at + i]);
            at += 7;
            if used {
                subs.push(self.sub(&g));
            }
        }
        AcceleratorDesign { subs }
    }

    /// The decisions of a design (unused slots take the first option of each
    /// parameter).
    pub fn decisions_of(&self, d: &AcceleratorDesign) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.decision_count());
        for slot in 0..self.max_subs {
            let sub = d.subs.get(slot);
            if slot > 0 {
                out.push(usize::from(sub.is_some()));
            }
            let g = sub.map(|s| self.genes(s).expect("design of this space")).unwrap_or([0; 7]);
            out.extend(g);
        }
        out
    }

    /// One-hot length of a design: per slot, used + every parameter's options.
    pub fn encoding_len(&self) -> usize {
        self.max_subs * (1 + self.arities().iter().sum::<usize>())
    }

    /// One-hot encoding of a design.
    pub fn encode(&self, d: &AcceleratorDesign) -> Vec<f32> {
        let a = self.arities();
        let mut out = Vec::with_capacity(self.encoding_len());
        for slot in 0..self.max_subs {
            let g = d.subs.get(slot).map(|s| self.genes(s).expect("design of this space"));
            out.push(if g.is_some() { 1.0 } else { 0.0 });
            for (p, &n) in a.iter().enumerate() {
                out.extend((0..n).map(|i| if g.is_some_and(|g| g[p] == i) { 1.0 } else { 0.0 }));
            }
        }
        out
    }

    /// log10 of the number of designs, ignoring the budgets (an upper bound).
    pub fn log10_size(&self) -> f64 {
        let per_sub: f64 = self.arities().iter().map(|&n| n as f64).product();
        let total: f64 = (1..=self.max_subs).map(|n| per_sub.powi(n as i32)).sum();
        total.log10()
    }
}
