//! Heterogeneous accelerators: networks of several tasks mapped onto the
//! sub-accelerators of an [`AcceleratorDesign`], priced with the systolic-array
//! model ([`crate::systolic`]: latency, utilisation, energy) and the area model
//! ([`crate::area`]).
//!
//! As in NASAIC (Yang et al., "Co-Exploration of Neural Architectures and
//! Heterogeneous ASIC Accelerator Designs Targeting Multiple Tasks", DAC 2020,
//! §III), every layer of a task's network runs on the sub-accelerator the task is
//! mapped to; tasks run in parallel on different sub-accelerators, so the
//! system latency is that of the slowest sub-accelerator, where the tasks sharing
//! one run one after the other. Energy adds up over tasks, area over
//! sub-accelerators.
//!
//! A design is **infeasible** (an [`Infeasible`] with the reason, not a crash)
//! when a task is mapped to a sub-accelerator the design does not have, when a
//! sub-accelerator's per-PE register file cannot hold the working set its
//! dataflow keeps in a PE for some layer, or when its global buffer cannot hold
//! one fold (the operands in flight for one pass of the array) of some layer.

use crate::area::AreaModel;
use crate::energy::{Technology, TechnologyChoice};
use crate::systolic::{SystolicArray, SystolicConfig};
use nas_core::hardware::{AcceleratorDesign, Dataflow, SubAccelerator};
use nas_core::{LayerSpec, Metric, NetworkSpec, OpKind};
use serde::{Deserialize, Serialize};

/// Why a design cannot run its tasks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Infeasible(pub String);

/// One layer of a task on its sub-accelerator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The layer's name in the network.
    pub name: String,
    /// Its operation.
    pub op: String,
    /// Latency in milliseconds.
    pub latency_ms: f64,
    /// PE utilisation in percent (absent for layers without MACs, which run on
    /// the vector unit).
    pub pe_utilisation: Option<f64>,
    /// `compute` or `memory`: what bounds the layer.
    pub bound: String,
}

/// One task on its sub-accelerator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    /// The task.
    pub task: String,
    /// The sub-accelerator slot it runs on.
    pub sub: usize,
    /// Latency of one inference in milliseconds.
    pub latency_ms: f64,
    /// Energy of one inference in millijoules.
    pub energy_mj: f64,
    /// MACs of one inference.
    pub macs: f64,
    /// MAC-weighted PE utilisation in percent.
    pub pe_utilisation: f64,
    /// Per layer.
    pub layers: Vec<LayerReport>,
}

/// One sub-accelerator of the design.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubReport {
    /// Its notation.
    pub notation: String,
    /// Its parameters.
    pub params: SubAccelerator,
    /// Its template in words.
    pub template: String,
    /// Area in mm².
    pub area_mm2: f64,
    /// The tasks it runs.
    pub tasks: Vec<String>,
    /// Time it is busy per round of all tasks, in milliseconds.
    pub busy_ms: f64,
}

/// A whole design running its tasks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemReport {
    /// Per task.
    pub tasks: Vec<TaskReport>,
    /// Per sub-accelerator.
    pub subs: Vec<SubReport>,
    /// System latency (slowest sub-accelerator) in milliseconds.
    pub latency_ms: f64,
    /// Energy of one inference of every task, in millijoules.
    pub energy_mj: f64,
    /// Area in mm².
    pub area_mm2: f64,
    /// MAC-weighted PE utilisation over all tasks, in percent.
    pub pe_utilisation: f64,
}

impl SystemReport {
    /// The value of a hardware metric (`latency_ms`, `energy_mj`, `area_mm2`,
    /// `pe_utilisation`).
    pub fn metric(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::LatencyMs => Some(self.latency_ms),
            Metric::EnergyMj => Some(self.energy_mj),
            Metric::AreaMm2 => Some(self.area_mm2),
            Metric::PeUtilisation => Some(self.pe_utilisation),
            _ => None,
        }
    }
}

/// Prices designs: technology (energies), area constants, batch.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceleratorModel {
    technology: TechnologyChoice,
    area: AreaModel,
    batch: usize,
}

/// Bits of the accumulator a dataflow keeps per PE.
fn acc_bits(s: &LayerSpec) -> f64 {
    f64::from(Technology::acc_bits(s.weight_bits, s.act_bits))
}

/// Bytes a PE must hold for `layer` under `dataflow`: ws and os keep one
/// weight, one input and one accumulator; rs keeps one filter row, the sliding
/// window of inputs over it and one partial sum (Eyeriss's three scratchpads).
pub fn pe_working_set_bytes(dataflow: Dataflow, s: &LayerSpec) -> f64 {
    let (wb, ab) = (f64::from(s.weight_bits), f64::from(s.act_bits));
    let bits = match dataflow {
        Dataflow::WeightStationary | Dataflow::OutputStationary => wb + ab + acc_bits(s),
        Dataflow::RowStationary => {
            let k = if s.op == OpKind::Linear { 1.0 } else { s.kernel as f64 };
            k * wb + k * ab + acc_bits(s)
        }
    };
    bits / 8.0
}

/// Bytes of one fold of `layer` on an `rows x cols` array under `dataflow`: the
/// stationary operand of one pass of the array plus one row and one column of
/// the streamed operands, at their widths.
pub fn fold_bytes(dataflow: Dataflow, rows: usize, cols: usize, s: &LayerSpec) -> f64 {
    let (wb, ab) = (f64::from(s.weight_bits), f64::from(s.act_bits));
    let g = s.groups.max(1);
    let [oh, ow] = s.output_hw();
    let (m, k, n) = if s.op == OpKind::Linear {
        (1, s.in_channels, s.out_channels)
    } else {
        (oh * ow, s.in_channels / g * s.kernel * s.kernel, s.out_channels / g)
    };
    let bits = match dataflow {
        Dataflow::WeightStationary => {
            let (r, c) = (k.min(rows) as f64, n.min(cols) as f64);
            r * c * wb + r * ab + c * acc_bits(s)
        }
        Dataflow::OutputStationary => {
            let (r, c) = (m.min(rows) as f64, n.min(cols) as f64);
            r * c * acc_bits(s) + r * ab + c * wb
        }
        Dataflow::RowStationary => {
            let kk = if s.op == OpKind::Linear { 1 } else { s.kernel };
            let (r, c) = (kk.min(rows) as f64, oh.max(1).min(cols) as f64);
            r * (kk as f64) * wb + (r + c - 1.0) * (ow.max(1) as f64) * ab + c * (ow.max(1) as f64) * acc_bits(s)
        }
    };
    bits / 8.0
}

impl AcceleratorModel {
    /// A model from a technology, area constants and a batch size.
    pub fn new(technology: TechnologyChoice, area: AreaModel, batch: usize) -> crate::error::Result<Self> {
        technology.resolve()?;
        area.validate()?;
        if batch == 0 {
            return Err(crate::error::LutError::invalid("batch", 0, "an integer >= 1"));
        }
        Ok(AcceleratorModel { technology, area, batch })
    }

    /// The area constants.
    pub fn area(&self) -> &AreaModel {
        &self.area
    }

    /// The systolic array of one sub-accelerator.
    pub fn array(&self, sub: &SubAccelerator) -> Result<SystolicArray, Infeasible> {
        let third = sub.buffer_kib as f64 / 3.0;
        SystolicArray::new(SystolicConfig {
            rows: sub.rows,
            cols: sub.cols,
            dataflow: sub.dataflow,
            clock_mhz: sub.clock_mhz,
            ifmap_kib: third,
            filter_kib: third,
            ofmap_kib: third,
            dram_bytes_per_cycle: sub.bytes_per_cycle(),
            technology: self.technology.clone(),
            batch: self.batch,
            metrics: vec![Metric::LatencyMs, Metric::EnergyMj],
        })
        .map_err(|e| Infeasible(format!("sub-accelerator {}: {e}", sub.notation())))
    }

    /// Checks that `sub` can run every layer of `net` (register file and
    /// global buffer); the error names the layer and the sizes.
    pub fn check_fits(&self, sub: &SubAccelerator, net: &NetworkSpec) -> Result<(), Infeasible> {
        for l in net.layers.iter().filter(|l| matches!(l.spec.op, OpKind::Conv2d | OpKind::Linear)) {
            let need = pe_working_set_bytes(sub.dataflow, &l.spec);
            if need > sub.rf_bytes as f64 {
                return Err(Infeasible(format!(
                    "sub-accelerator {}: layer `{}` needs {need} bytes of register file per PE under {}, it has {}",
                    sub.notation(),
                    l.name,
                    sub.dataflow,
                    sub.rf_bytes
                )));
            }
            let fold = fold_bytes(sub.dataflow, sub.rows, sub.cols, &l.spec);
            if fold > sub.buffer_kib as f64 * 1024.0 {
                return Err(Infeasible(format!(
                    "sub-accelerator {}: layer `{}` needs {:.1} KiB of global buffer for one fold, it has {} KiB",
                    sub.notation(),
                    l.name,
                    fold / 1024.0,
                    sub.buffer_kib
                )));
            }
        }
        Ok(())
    }

    /// One task's network on one sub-accelerator.
    pub fn task(
        &self,
        task: &str,
        slot: usize,
        sub: &SubAccelerator,
        net: &NetworkSpec,
    ) -> Result<TaskReport, Infeasible> {
        self.task_with(task, slot, sub, net, true)
    }

    fn task_with(
        &self,
        task: &str,
        slot: usize,
        sub: &SubAccelerator,
        net: &NetworkSpec,
        detail: bool,
    ) -> Result<TaskReport, Infeasible> {
        self.check_fits(sub, net)?;
        let array = self.array(sub)?;
        let m = array.network(net);
        let cycles_to_ms = |c: f64| c / (sub.clock_mhz * 1e3);
        let layers = if !detail {
            Vec::new()
        } else {
            net.layers
                .iter()
                .zip(&m.layers)
                .map(|(l, lm)| LayerReport {
                    name: l.name.clone(),
                    op: format!("{:?}", l.spec.op),
                    latency_ms: cycles_to_ms(lm.cycles),
                    pe_utilisation: lm.utilization.map(|u| 100.0 * u),
                    bound: if lm.memory_cycles > lm.compute_cycles { "memory" } else { "compute" }.into(),
                })
                .collect()
        };
        Ok(TaskReport {
            task: task.into(),
            sub: slot,
            latency_ms: m.latency_ms,
            energy_mj: m.energy.total_pj() * 1e-9,
            macs: m.layers.iter().map(|l| l.macs).sum(),
            pe_utilisation: 100.0 * m.utilization,
            layers,
        })
    }

    /// Every task on the design under `mapping` (task `t` runs on
    /// `design.subs[mapping[t]]`); `tasks` are (name, network) in task order.
    pub fn system(
        &self,
        design: &AcceleratorDesign,
        mapping: &[usize],
        tasks: &[(String, NetworkSpec)],
    ) -> Result<SystemReport, Infeasible> {
        self.system_with(design, mapping, tasks, true)
    }

    /// [`AcceleratorModel::system`] without the per-layer reports (what a
    /// search needs; the totals are the same).
    pub fn system_totals(
        &self,
        design: &AcceleratorDesign,
        mapping: &[usize],
        tasks: &[(String, NetworkSpec)],
    ) -> Result<SystemReport, Infeasible> {
        self.system_with(design, mapping, tasks, false)
    }

    fn system_with(
        &self,
        design: &AcceleratorDesign,
        mapping: &[usize],
        tasks: &[(String, NetworkSpec)],
        detail: bool,
    ) -> Result<SystemReport, Infeasible> {
        if design.subs.is_empty() {
            return Err(Infeasible("the design has no sub-accelerator".into()));
        }
        if mapping.len() != tasks.len() {
            return Err(Infeasible(format!("{} tasks but {} mapping entries", tasks.len(), mapping.len())));
        }
        let mut reports = Vec::with_capacity(tasks.len());
        for ((name, net), &slot) in tasks.iter().zip(mapping) {
            let sub = design.subs.get(slot).ok_or_else(|| {
                Infeasible(format!(
                    "task `{name}` is mapped to sub-accelerator {slot}, but the design has {} (slots 0..{})",
                    design.subs.len(),
                    design.subs.len() - 1
                ))
            })?;
            reports.push(self.task_with(name, slot, sub, net, detail)?);
        }
        let subs: Vec<SubReport> = design
            .subs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mine: Vec<&TaskReport> = reports.iter().filter(|t| t.sub == i).collect();
                SubReport {
                    notation: s.notation(),
                    params: s.clone(),
                    template: s.dataflow.template().into(),
                    area_mm2: self.area.sub_mm2(s),
                    tasks: mine.iter().map(|t| t.task.clone()).collect(),
                    busy_ms: mine.iter().map(|t| t.latency_ms).sum(),
                }
            })
            .collect();
        // MAC-weighted utilisation: sum of MACs over sum of (MAC-layer compute
        // cycles x PEs), through each task's own utilisation and MACs.
        let (macs, pe_cycles) = reports.iter().fold((0.0, 0.0), |(m, c), t| {
            if t.pe_utilisation > 0.0 { (m + t.macs, c + t.macs / (t.pe_utilisation / 100.0)) } else { (m, c) }
        });
        Ok(SystemReport {
            latency_ms: subs.iter().map(|s| s.busy_ms).fold(0.0, f64::max),
            energy_mj: reports.iter().map(|t| t.energy_mj).sum(),
            area_mm2: subs.iter().map(|s| s.area_mm2).sum(),
            pe_utilisation: if pe_cycles > 0.0 { 100.0 * macs / pe_cycles } else { 0.0 },
            tasks: reports,
            subs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(dataflow: Dataflow, rows: usize, buffer_kib: usize, rf_bytes: usize) -> SubAccelerator {
        SubAccelerator { dataflow, rows, cols: rows, buffer_kib, rf_bytes, bandwidth_gbs: 1e6, clock_mhz: 1000.0 }
    }

    fn model() -> AcceleratorModel {
        AcceleratorModel::new(TechnologyChoice::default(), AreaModel::horowitz45(), 1).expect("model")
    }

    /// One 1x1 conv 8->8 on 2x2: 56 cycles on a 4x4 ws array (see the
    /// systolic tests), 56 ns at 1 GHz.
    fn net() -> NetworkSpec {
        let mut n = NetworkSpec::new([8, 2, 2], 8);
        n.push("conv", LayerSpec::conv(8, 8, 1, 1, 1, [2, 2]));
        n
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn tasks_in_parallel_take_the_slowest_and_shared_ones_add_up() {
        let m = model();
        let a = sub(Dataflow::WeightStationary, 4, 32, 64);
        let tasks = vec![("t0".to_string(), net()), ("t1".to_string(), net())];
        let two = AcceleratorDesign { subs: vec![a.clone(), a.clone()] };
        let par = m.system(&two, &[0, 1], &tasks).expect("feasible");
        assert!(close(par.latency_ms, 56e-6), "{}", par.latency_ms);
        assert!(close(par.area_mm2, 2.0 * m.area().sub_mm2(&a)));
        let shared = m.system(&two, &[1, 1], &tasks).expect("feasible");
        assert!(close(shared.latency_ms, 112e-6));
        assert_eq!(shared.subs[1].tasks, vec!["t0".to_string(), "t1".to_string()]);
        assert!(shared.subs[0].tasks.is_empty() && shared.subs[0].busy_ms == 0.0);
        // Energy adds over tasks; utilisation is the MAC-weighted mean.
        assert!(close(par.energy_mj, 2.0 * par.tasks[0].energy_mj));
        assert!(close(par.pe_utilisation, 100.0 * 256.0 / (56.0 * 16.0)));
        assert_eq!(par.tasks[0].layers[0].name, "conv");
        assert_eq!(par.tasks[0].layers[0].bound, "compute");
        assert!(close(par.tasks[0].layers[0].pe_utilisation.expect("macs"), par.pe_utilisation));
        assert_eq!(par.metric(Metric::AreaMm2), Some(par.area_mm2));
        assert_eq!(par.metric(Metric::Accuracy), None);
        // The totals without the per-layer reports are the same numbers.
        let totals = m.system_totals(&two, &[0, 1], &tasks).expect("feasible");
        assert!(totals.tasks.iter().all(|t| t.layers.is_empty()));
        assert_eq!(
            (totals.latency_ms, totals.energy_mj, totals.area_mm2),
            (par.latency_ms, par.energy_mj, par.area_mm2)
        );
        assert_eq!(totals.pe_utilisation, par.pe_utilisation);
    }

    #[test]
    fn infeasible_designs_say_why() {
        let m = model();
        let tasks = vec![("t0".to_string(), net()), ("t1".to_string(), net())];
        let one = AcceleratorDesign { subs: vec![sub(Dataflow::WeightStationary, 4, 32, 64)] };
        let e = m.system(&one, &[0, 1], &tasks).expect_err("no sub 1");
        assert!(e.0.contains("task `t1` is mapped to sub-accelerator 1"), "{e}");
        // f32 weight + input + accumulator = 12 bytes per PE under ws.
        let small_rf = AcceleratorDesign { subs: vec![sub(Dataflow::WeightStationary, 4, 32, 8)] };
        let e = m.system(&small_rf, &[0, 0], &tasks).expect_err("register file");
        assert!(e.0.contains("layer `conv` needs 12 bytes of register file per PE under ws, it has 8"), "{e}");
        // rs keeps a 3-wide filter row, 3 inputs and a partial sum: 28 bytes.
        let conv3 = LayerSpec::conv(64, 64, 3, 1, 1, [8, 8]);
        assert_eq!(pe_working_set_bytes(Dataflow::RowStationary, &conv3), 28.0);
        // A 64x64 ws fold of a 3x3 64->64 conv: 64*64 weights + 64 inputs + 64
        // accumulators, f32: 16.5 KiB, more than an 8 KiB buffer.
        assert_eq!(fold_bytes(Dataflow::WeightStationary, 64, 64, &conv3), (4096.0 + 128.0) * 4.0);
        let mut big = NetworkSpec::new([64, 8, 8], 10);
        big.push("c3", conv3);
        let tiny_buffer = AcceleratorDesign { subs: vec![sub(Dataflow::WeightStationary, 64, 8, 64)] };
        let e = m.system(&tiny_buffer, &[0], &[("t".into(), big)]).expect_err("buffer");
        assert!(e.0.contains("needs 16.5 KiB of global buffer for one fold, it has 8 KiB"), "{e}");
        assert!(m.system(&AcceleratorDesign { subs: vec![] }, &[], &[]).is_err());
    }
}
