//! Lowering of a DARTS network to a [`NetworkSpec`].
//!
//! The layer list follows the DARTS repository's `NetworkCIFAR` (no auxiliary
//! head, no drop-path) in execution order:
//!
//! - `stem.conv` (3x3, no bias, to `stem_multiplier * C`), `stem.bn`;
//! - cells `cellI`: `pre0` (ReLU-Conv1x1-BN, or `FactorizedReduce` after a
//!   reduction cell) and `pre1` (ReLU-Conv1x1-BN); then per node `nodeK` its two
//!   edges `edge0`, `edge1` (canonical order) and `nodeK.add`; then `concat` of
//!   the four nodes. Edges from states 0/1 of a reduction cell have stride 2;
//!   a stride-2 `skip_connect` is a `FactorizedReduce`;
//! - `head.gap`, `head.fc`.
//!
//! Op layers (DARTS `operations.py`): `sep_conv_k` = `relu1, dw1 (kxk, stride),
//! pw1, bn1, relu2, dw2 (kxk), pw2, bn2`; `dil_conv_k` = `relu, dw (kxk, dilation 2,
//! stride), pw, bn`; pools = `pool` (3x3, padding 1); `FactorizedReduce` =
//! `relu, conv1, conv2, concat, bn`. Convolutions are bias-free, batch norms affine.

use super::config::{CellPlan, DartsConfig};
use super::genotype::{CellKind, DartsCell, DartsGenotype, NUM_NODES};
use super::ops::DartsOp;
use super::space::DartsSpace;
use crate::blocks::lower::{bn, dilated, factorized_reduce, relu, relu_conv_bn};
use nas_core::{LayerSpec, NetworkSpec, OpKind, ToNetworkSpec};

/// Stride of an edge from state `input` in a cell of `kind`.
pub(crate) fn edge_stride(kind: CellKind, input: usize) -> usize {
    if kind == CellKind::Reduce && input < 2 { 2 } else { 1 }
}

/// Appends one op on `c` channels; returns the output size.
fn lower_op(spec: &mut NetworkSpec, prefix: &str, op: DartsOp, c: usize, stride: usize, hw: [usize; 2]) -> [usize; 2] {
    match op {
        DartsOp::MaxPool3x3 => {
            spec.push(format!("{prefix}.pool"), LayerSpec::pool(OpKind::MaxPool2d, c, 3, stride, 1, hw))
        }
        DartsOp::AvgPool3x3 => {
            spec.push(format!("{prefix}.pool"), LayerSpec::pool(OpKind::AvgPool2d, c, 3, stride, 1, hw))
        }
        DartsOp::SkipConnect if stride == 1 => hw,
        DartsOp::SkipConnect => factorized_reduce(spec, prefix, c, c, hw),
        DartsOp::SepConv3x3 | DartsOp::SepConv5x5 => {
            let k = op.conv_kernel().expect("sep conv has a kernel");
            relu(spec, format!("{prefix}.relu1"), c, hw);
            let mid = spec.push(format!("{prefix}.dw1"), LayerSpec::conv(c, c, k, stride, c, hw));
            spec.push(format!("{prefix}.pw1"), LayerSpec::conv(c, c, 1, 1, 1, mid));
            bn(spec, format!("{prefix}.bn1"), c, mid);
            relu(spec, format!("{prefix}.relu2"), c, mid);
            spec.push(format!("{prefix}.dw2"), LayerSpec::conv(c, c, k, 1, c, mid));
            spec.push(format!("{prefix}.pw2"), LayerSpec::conv(c, c, 1, 1, 1, mid));
            bn(spec, format!("{prefix}.bn2"), c, mid)
        }
        DartsOp::DilConv3x3 | DartsOp::DilConv5x5 => {
            let k = op.conv_kernel().expect("dil conv has a kernel");
            relu(spec, format!("{prefix}.relu"), c, hw);
            let out = spec.push(format!("{prefix}.dw"), dilated(LayerSpec::conv(c, c, k, stride, c, hw), 2, k - 1));
            spec.push(format!("{prefix}.pw"), LayerSpec::conv(c, c, 1, 1, 1, out));
            bn(spec, format!("{prefix}.bn"), c, out)
        }
    }
}

/// Appends one cell reading states of sizes `hw_pp` and `hw_p`; returns its output size.
fn lower_cell(
    spec: &mut NetworkSpec,
    prefix: &str,
    cell: &DartsCell,
    plan: &CellPlan,
    hw_pp: [usize; 2],
    hw_p: [usize; 2],
) -> [usize; 2] {
    let c = plan.c;
    let pre0 = format!("{prefix}.pre0");
    let hw0 = if plan.reduction_prev {
        factorized_reduce(spec, &pre0, plan.c_prev_prev, c, hw_pp)
    } else {
        relu_conv_bn(spec, &pre0, plan.c_prev_prev, c, 1, 1, hw_pp)
    };
    let hw1 = relu_conv_bn(spec, &format!("{prefix}.pre1"), plan.c_prev, c, 1, 1, hw_p);
    debug_assert_eq!(hw0, hw1, "both cell inputs have the same size");
    let mut states = vec![hw0, hw1];
    for k in 0..NUM_NODES {
        let mut out = hw1;
        for (slot, edge) in cell.node(k).iter().enumerate() {
            let stride = edge_stride(plan.kind, edge.input);
            out = lower_op(spec, &format!("{prefix}.node{k}.edge{slot}"), edge.op, c, stride, states[edge.input]);
        }
        states.push(spec.push(format!("{prefix}.node{k}.add"), LayerSpec::add(c, 2, out)));
    }
    let out = states[NUM_NODES + 1];
    spec.push(format!("{prefix}.concat"), LayerSpec::concat(c, NUM_NODES, out))
}

/// The whole network of `genotype` under `cfg`.
pub(crate) fn lower_network(cfg: &DartsConfig, genotype: &DartsGenotype) -> NetworkSpec {
    let [in_channels, h, w] = cfg.input_chw;
    let mut spec = NetworkSpec::new(cfg.input_chw, cfg.num_classes);
    let stem = cfg.stem_channels();
    let hw = spec.push("stem.conv", LayerSpec::conv(in_channels, stem, 3, 1, 1, [h, w]));
    let (mut hw_pp, mut hw_p) = (hw, bn(&mut spec, "stem.bn".into(), stem, hw));
    for (i, plan) in cfg.plan().iter().enumerate() {
        let out = lower_cell(&mut spec, &format!("cell{i}"), genotype.cell(plan.kind), plan, hw_pp, hw_p);
        (hw_pp, hw_p) = (hw_p, out);
    }
    let c = cfg.final_channels();
    spec.push("head.gap", LayerSpec::global_avg_pool(c, hw_p));
    spec.push("head.fc", LayerSpec::linear(c, cfg.num_classes));
    spec
}

impl ToNetworkSpec for DartsSpace {
    fn network_spec(&self, arch: &DartsGenotype) -> NetworkSpec {
        lower_network(self.config(), arch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_space() -> DartsSpace {
        DartsSpace::new(DartsConfig { channels: 36, layers: 20, ..Default::default() }).expect("valid")
    }

    /// The DARTS repository's CIFAR-10 training log prints `param size = 3.349342MB`
    /// for DARTS_V2 at C=36, 20 layers; its `count_parameters_in_MB` skips the
    /// auxiliary head, so that is exactly the network lowered here (the paper
    /// rounds it to 3.3M).
    #[test]
    fn darts_v2_matches_the_published_parameter_count() {
        let spec = eval_space().network_spec(&DartsGenotype::darts_v2());
        assert_eq!(spec.params(), 3_349_342);
        // Multiply-accumulates of the convolutions and the classifier.
        assert_eq!(spec.macs(), DARTS_V2_MACS);
    }

    /// DARTS_V2 (C=36, 20 layers, 32x32) multiply-accumulates: 528.36 M. The DARTS
    /// paper gives no CIFAR-10 FLOPs; later papers quote about 528 M multiply-adds.
    const DARTS_V2_MACS: u64 = 528_359_040;

    /// Hand count (a transcription of `NetworkCIFAR`'s shapes) for the small
    /// configuration used by the burn parity test: 37,018 parameters.
    #[test]
    fn small_darts_v2_parameter_count() {
        let space = DartsSpace::new(DartsConfig { channels: 8, layers: 5, ..Default::default() }).expect("valid");
        assert_eq!(space.network_spec(&DartsGenotype::darts_v2()).params(), 37_018);
    }

    #[test]
    fn shapes_and_names_follow_network_cifar() {
        let spec = eval_space().network_spec(&DartsGenotype::darts_v2());
        let find = |name: &str| spec.layers.iter().find(|l| l.name == name).unwrap_or_else(|| panic!("{name}")).spec;
        assert_eq!(find("stem.conv").out_channels, 108);
        // Cell 6 is the first reduction: its inputs run at 32x32, its nodes at 16x16.
        let e = find("cell6.node0.edge0.pool");
        assert_eq!((e.op, e.stride, e.input_hw, e.in_channels), (OpKind::MaxPool2d, 2, [32, 32], 72));
        assert_eq!(find("cell6.node1.edge0.pool").input_hw, [32, 32]);
        // A skip from node 0 has stride 1 even in a reduction cell: no layer.
        assert!(!spec.layers.iter().any(|l| l.name.starts_with("cell6.node1.edge1.")));
        assert_eq!(find("cell6.node1.add").input_hw, [16, 16]);
        assert_eq!(find("cell7.pre0.conv1").input_hw, [32, 32]);
        assert_eq!(find("cell7.pre0.conv2").input_hw, [31, 31]);
        assert_eq!(find("cell7.concat").out_channels, 288);
        let dil = find("cell0.node3.edge1.dw");
        assert_eq!((dil.kernel, dil.dilation, dil.padding, dil.groups), (3, 2, 2, 36));
        assert_eq!(find("head.fc").in_channels, 576);
        assert_eq!(find("cell19.concat").input_hw, [8, 8]);
    }
}
