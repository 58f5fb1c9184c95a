//! The DARTS search network (`Network` of DARTS's `model_search.py`): the
//! evaluation macro network with every cell holding all 14 edges of its four
//! nodes, each a mixed op over the eight primitives (`none` included); the
//! normal and the reduction cells have their own architecture weights (edges
//! 0..14 and 14..28). DARTS's search network puts an affine-free batch norm
//! after the pooling ops; this one does not, so that a one-hot mix computes
//! exactly the evaluation network of the derived genotype
//! ([`DartsSupernet::subnet`]).
//!
//! Derivation follows DARTS's `genotype()`: per node, the two incoming edges
//! with the strongest non-`none` op weight (times the edge weight with
//! PC-DARTS's edge normalisation), each with its strongest non-`none` op.

use super::config::CellPlan;
use super::genotype::{CellKind, DartsCell, DartsEdge, DartsGenotype, NUM_NODES};
use super::lower::edge_stride;
use super::model::{DartsCellNet, DartsEdgeOp, DartsNetwork, DilConv, Preprocess, SepConv};
use super::ops::{DartsOp, PRIMITIVES};
use super::space::DartsSpace;
use crate::blocks::nn::{ConvBn, ConvShape, FactorizedReduce, ReluConvBn};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use nas_core::NasError;
use nas_core::differentiable::{EdgeChoices, EdgeMix, SupernetLayout, SupernetModel, SupernetSpace, argmax};
use nas_core::kernels;
use rand::Rng;

/// Edges of one search cell: node `k` reads states `0..k + 2`.
pub const CELL_EDGES: usize = 14;

/// `(node, input)` of each edge of a cell, in weight order.
pub fn cell_edges() -> Vec<(usize, usize)> {
    (0..NUM_NODES).flat_map(|k| (0..k + 2).map(move |i| (k, i))).collect()
}

/// The seven non-`none` candidates of one edge.
#[derive(Module, Debug)]
pub struct DartsMixedEdge {
    /// `max_pool_3x3`.
    pub max_pool: MaxPool2d,
    /// `avg_pool_3x3`.
    pub avg_pool: AvgPool2d,
    /// `skip_connect` on a stride-2 edge.
    pub reduce: Option<FactorizedReduce>,
    /// `sep_conv_3x3`.
    pub sep3: SepConv,
    /// `sep_conv_5x5`.
    pub sep5: SepConv,
    /// `dil_conv_3x3`.
    pub dil3: DilConv,
    /// `dil_conv_5x5`.
    pub dil5: DilConv,
}

impl DartsMixedEdge {
    fn new(c: usize, stride: usize, device: &Device) -> Self {
        let pad = PaddingConfig2d::Explicit(1, 1, 1, 1);
        DartsMixedEdge {
            max_pool: MaxPool2dConfig::new([3, 3]).with_strides([stride, stride]).with_padding(pad.clone()).init(),
            avg_pool: AvgPool2dConfig::new([3, 3])
                .with_strides([stride, stride])
                .with_padding(pad)
                .with_count_include_pad(false)
                .init(),
            reduce: (stride == 2).then(|| FactorizedReduce::new(c, c, device)),
            sep3: SepConv::new(c, 3, stride, device),
            sep5: SepConv::new(c, 5, stride, device),
            dil3: DilConv::new(c, 3, stride, device),
            dil5: DilConv::new(c, 5, stride, device),
        }
    }

    /// Primitive `op` (index of [`PRIMITIVES`]) on `x`; `None` for `none`.
    pub fn op(&self, op: usize, x: Tensor<4>) -> Option<Tensor<4>> {
        Some(match op {
            0 => return None,
            1 => self.max_pool.forward(x),
            2 => kernels::avg_pool2d(&self.avg_pool, x),
            3 => match &self.reduce {
                Some(r) => r.forward(x),
                None => x,
            },
            4 => self.sep3.forward(x),
            5 => self.sep5.forward(x),
            6 => self.dil3.forward(x),
            _ => self.dil5.forward(x),
        })
    }

    fn extract(&self, op: DartsOp) -> DartsEdgeOp {
        match op {
            DartsOp::MaxPool3x3 => DartsEdgeOp::MaxPool(self.max_pool.clone()),
            DartsOp::AvgPool3x3 => DartsEdgeOp::AvgPool(self.avg_pool.clone()),
            DartsOp::SkipConnect => match &self.reduce {
                Some(r) => DartsEdgeOp::Reduce(r.clone()),
                None => DartsEdgeOp::Identity(burn::nn::Identity::new()),
            },
            DartsOp::SepConv3x3 => DartsEdgeOp::Sep(self.sep3.clone()),
            DartsOp::SepConv5x5 => DartsEdgeOp::Sep(self.sep5.clone()),
            DartsOp::DilConv3x3 => DartsEdgeOp::Dil(self.dil3.clone()),
            DartsOp::DilConv5x5 => DartsEdgeOp::Dil(self.dil5.clone()),
        }
    }
}

/// One search cell.
#[derive(Module, Debug)]
pub struct DartsSearchCell {
    /// Preprocessing of state 0.
    pub pre0: Preprocess,
    /// Preprocessing of state 1.
    pub pre1: ReluConvBn,
    /// The 14 mixed edges.
    pub edges: Vec<DartsMixedEdge>,
    /// Index of this cell's first edge in the architecture weights (0 normal, 14 reduce).
    #[module(skip)]
    pub offset: usize,
}

impl DartsSearchCell {
    fn new(plan: &CellPlan, partial: usize, device: &Device) -> Self {
        let c = plan.c;
        let pre0 = if plan.reduction_prev {
            Preprocess::Reduce(FactorizedReduce::new(plan.c_prev_prev, c, device))
        } else {
            Preprocess::Conv(ReluConvBn::new(ConvShape::dense(plan.c_prev_prev, c, 1, 1), device))
        };
        let edges = cell_edges()
            .iter()
            .map(|&(_, input)| DartsMixedEdge::new(c / partial.max(1), edge_stride(plan.kind, input), device))
            .collect();
        let offset = if plan.kind == CellKind::Reduce { CELL_EDGES } else { 0 };
        DartsSearchCell { pre0, pre1: ReluConvBn::new(ConvShape::dense(plan.c_prev, c, 1, 1), device), edges, offset }
    }

    fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, mix: &EdgeMix) -> Tensor<4> {
        let s0 = match &self.pre0 {
            Preprocess::Conv(m) => m.forward(s0),
            Preprocess::Reduce(m) => m.forward(s0),
        };
        let mut states = vec![s0, self.pre1.forward(s1)];
        let mut e = 0;
        for k in 0..NUM_NODES {
            let mut sum: Option<Tensor<4>> = None;
            for state in states.iter().take(k + 2) {
                let edge = &self.edges[e];
                if let Some(term) = mix.apply(self.offset + e, state.clone(), |o, x| edge.op(o, x)) {
                    sum = Some(match sum {
                        Some(s) => s + term,
                        None => term,
                    });
                }
                e += 1;
            }
            let node = sum.unwrap_or_else(|| {
                // Every input of the node is `none`: a zero state of the node's shape.
                let [n, c, h, w] = states[1].dims();
                let stride = if self.offset == CELL_EDGES { 2 } else { 1 };
                Tensor::zeros([n, c, h / stride, w / stride], &states[1].device())
            });
            states.push(node);
        }
        Tensor::cat(states.split_off(2), 1)
    }
}

/// The DARTS search network (see the module docs).
#[derive(Module, Debug)]
pub struct DartsSupernet {
    /// Conv3x3 + BN stem.
    pub stem: ConvBn,
    /// The cells.
    pub cells: Vec<DartsSearchCell>,
    /// Classifier.
    pub classifier: Linear,
}

impl DartsSupernet {
    /// Builds the search network of `space` with edge ops on `C / partial` channels.
    pub fn new(space: &DartsSpace, partial: usize, device: &Device) -> Self {
        let cfg = space.config();
        DartsSupernet {
            stem: ConvBn::new(ConvShape::dense(cfg.input_chw[0], cfg.stem_channels(), 3, 1), device),
            cells: cfg.plan().iter().map(|p| DartsSearchCell::new(p, partial, device)).collect(),
            classifier: LinearConfig::new(cfg.final_channels(), cfg.num_classes).init(device),
        }
    }

    /// The evaluation network of `genotype` with this supernet's weights (built
    /// with `partial = 1`).
    pub fn subnet(&self, genotype: &DartsGenotype) -> DartsNetwork {
        let cells = self
            .cells
            .iter()
            .map(|cell| {
                let kind = if cell.offset == CELL_EDGES { CellKind::Reduce } else { CellKind::Normal };
                let dc = genotype.cell(kind);
                let index = |e: &DartsEdge, k: usize| (0..k).map(|j| j + 2).sum::<usize>() + e.input;
                let mut ops = Vec::new();
                for k in 0..NUM_NODES {
                    for e in dc.node(k) {
                        ops.push(cell.edges[index(&e, k)].extract(e.op));
                    }
                }
                DartsCellNet {
                    pre0: cell.pre0.clone(),
                    pre1: cell.pre1.clone(),
                    ops,
                    inputs: dc.edges().iter().map(|e| e.input).collect(),
                }
            })
            .collect();
        DartsNetwork { stem: self.stem.clone(), cells, classifier: self.classifier.clone() }
    }
}

impl SupernetModel for DartsSupernet {
    fn forward(&self, images: Tensor<4>, mix: &EdgeMix) -> Tensor<2> {
        let s = self.stem.forward(images);
        let (mut s0, mut s1) = (s.clone(), s);
        for cell in &self.cells {
            let out = cell.forward(s0, s1.clone(), mix);
            (s0, s1) = (s1, out);
        }
        let [n, c, _, _] = s1.dims();
        self.classifier.forward(s1.mean_dim(3).mean_dim(2).reshape([n, c]))
    }
}

fn cell_choices(cell: &DartsCell) -> Vec<usize> {
    let mut c = vec![0; CELL_EDGES];
    let mut base = 0;
    for k in 0..NUM_NODES {
        for e in cell.node(k) {
            c[base + e.input] = e.op.index() + 1;
        }
        base += k + 2;
    }
    c
}

fn cell_of(choices: &[usize]) -> Result<DartsCell, String> {
    let mut edges = Vec::with_capacity(2 * NUM_NODES);
    let mut base = 0;
    for k in 0..NUM_NODES {
        let chosen: Vec<DartsEdge> = (0..k + 2)
            .filter(|&i| choices[base + i] != 0)
            .map(|i| DartsEdge::new(DartsOp::ALL[choices[base + i] - 1], i))
            .collect();
        if chosen.len() != 2 {
            return Err(format!("node {k} has {} non-`none` inputs; it needs exactly 2", chosen.len()));
        }
        edges.extend(chosen);
        base += k + 2;
    }
    let edges: [DartsEdge; 8] = edges.try_into().map_err(|_| "8 edges".to_string())?;
    DartsCell::new(edges).map_err(|e| e.to_string())
}

impl SupernetSpace for DartsSpace {
    type Net = DartsSupernet;

    fn supernet_layout(&self) -> SupernetLayout {
        let ops: Vec<String> = PRIMITIVES.iter().map(|s| s.to_string()).collect();
        let mut edges = Vec::new();
        let mut node_edges = Vec::new();
        for kind in CellKind::ALL {
            let mut e = edges.len();
            for k in 0..NUM_NODES {
                node_edges.push((e..e + k + 2).collect());
                e += k + 2;
            }
            edges.extend(
                cell_edges()
                    .into_iter()
                    .map(|(k, i)| EdgeChoices { name: format!("{} {}<-{}", kind.name(), k + 2, i), ops: ops.clone() }),
            );
        }
        SupernetLayout {
            edges,
            node_edges,
            param_free: ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect"].map(String::from).to_vec(),
        }
    }

    fn check_partial(&self, partial: usize, field: &str) -> nas_core::Result<()> {
        let plan = self.config().plan();
        // Each edge op works on C / K channels; FactorizedReduce needs them even.
        let bad =
            plan.iter().find(|p| partial == 0 || !p.c.is_multiple_of(partial) || !(p.c / partial).is_multiple_of(2));
        if let Some(p) = bad {
            return Err(NasError::InvalidValue {
                field: field.into(),
                value: partial.to_string(),
                allowed: format!(
                    "a divisor K of every cell's channels with C / K even (a cell has {} channels; space.channels)",
                    p.c
                ),
            });
        }
        Ok(())
    }

    fn build_supernet(&self, partial: usize, device: &Device) -> DartsSupernet {
        DartsSupernet::new(self, partial, device)
    }

    fn arch_from_choices(&self, choices: &[usize]) -> nas_core::Result<DartsGenotype> {
        let bad = |reason: String| NasError::InvalidArchitecture {
            space: "darts".into(),
            notation: format!("{choices:?}"),
            reason,
        };
        if choices.len() != 2 * CELL_EDGES || choices.iter().any(|&c| c >= PRIMITIVES.len()) {
            return Err(bad(format!("{} op indices below {}", 2 * CELL_EDGES, PRIMITIVES.len())));
        }
        let normal = cell_of(&choices[..CELL_EDGES]).map_err(|r| bad(format!("normal cell: {r}")))?;
        let reduce = cell_of(&choices[CELL_EDGES..]).map_err(|r| bad(format!("reduction cell: {r}")))?;
        Ok(DartsGenotype::new(normal, reduce))
    }

    fn choices_of(&self, arch: &DartsGenotype) -> Vec<usize> {
        let mut c = cell_choices(&arch.normal);
        c.extend(cell_choices(&arch.reduce));
        c
    }

    fn derive_choices(&self, op_weights: &[Vec<f64>], edge_weights: Option<&[f64]>) -> Vec<usize> {
        let mut out = vec![0; op_weights.len()];
        let mut e = 0;
        for _ in CellKind::ALL {
            for k in 0..NUM_NODES {
                let edges: Vec<usize> = (e..e + k + 2).collect();
                let strength = |i: usize| {
                    let best = op_weights[i][1..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    best * edge_weights.map_or(1.0, |w| w[i])
                };
                let mut ranked = edges.clone();
                ranked.sort_by(|a, b| strength(*b).total_cmp(&strength(*a)).then(a.cmp(b)));
                for &i in ranked.iter().take(2) {
                    out[i] = 1 + argmax(&op_weights[i][1..]);
                }
                e += k + 2;
            }
        }
        out
    }

    fn supernet_input(&self) -> [usize; 3] {
        self.config().input_chw
    }

    fn sample_choices(&self, rng: &mut dyn rand::RngCore, fixed: Option<(usize, usize)>) -> Vec<usize> {
        let mut c = vec![0; 2 * CELL_EDGES];
        let mut e = 0;
        for _ in CellKind::ALL {
            for k in 0..NUM_NODES {
                let n = k + 2;
                let mut inputs: Vec<usize> = (0..n).collect();
                // The fixed edge first when it must be chosen, last when it must be dropped.
                if let Some((fe, fo)) = fixed
                    && (e..e + n).contains(&fe)
                {
                    inputs.retain(|&i| i != fe - e);
                    for i in (1..inputs.len()).rev() {
                        inputs.swap(i, rng.random_range(0..=i));
                    }
                    if fo != 0 {
                        inputs.insert(0, fe - e);
                    } else {
                        // A node of two inputs cannot drop one: the edge stays.
                        inputs.push(fe - e);
                    }
                } else {
                    for i in (1..n).rev() {
                        inputs.swap(i, rng.random_range(0..=i));
                    }
                }
                for &i in inputs.iter().take(2) {
                    c[e + i] = rng.random_range(1..PRIMITIVES.len());
                }
                if let Some((fe, fo)) = fixed
                    && fo != 0
                    && (e..e + n).contains(&fe)
                {
                    c[fe] = fo;
                }
                e += n;
            }
        }
        c
    }

    fn swap_allowed(&self, from: usize, to: usize) -> bool {
        from != 0 && to != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darts::{DARTS_V2, DartsConfig};
    use burn::tensor::TensorData;
    use nas_core::train::ImageClassifier;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn small() -> DartsSpace {
        DartsSpace::new(DartsConfig {
            channels: 4,
            layers: 3,
            input_chw: [1, 8, 8],
            num_classes: 3,
            stem_multiplier: 2,
        })
        .expect("valid")
    }

    #[test]
    fn choices_round_trip_and_derivation_keeps_two_inputs_per_node() {
        let sp = small();
        let g = DartsGenotype::parse(DARTS_V2).expect("published genotype");
        let c = sp.choices_of(&g);
        assert_eq!(c.len(), 28);
        assert_eq!(c.iter().filter(|&&o| o != 0).count(), 16);
        assert_eq!(sp.arch_from_choices(&c).expect("valid"), g);
        // One-hot weights on those choices derive the same genotype.
        let w: Vec<Vec<f64>> =
            c.iter().map(|&o| (0..8).map(|j| if j == o { 0.9 } else { 0.1 / 7.0 }).collect()).collect();
        assert_eq!(sp.derive_choices(&w, None), c);
        let mut three = c.clone();
        three[4] = 2;
        assert!(sp.arch_from_choices(&three).is_err(), "a node with three inputs is not a genotype");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for e in 0..28 {
            for o in 0..8 {
                let s = sp.sample_choices(&mut rng, Some((e, o)));
                sp.arch_from_choices(&s).expect("samples are genotypes");
                if o != 0 {
                    assert_eq!(s[e], o, "edge {e} op {o}");
                }
            }
        }
        sp.supernet_layout().validate().expect("layout");
        assert!(sp.check_partial(2, "strategy.k").is_ok());
        assert!(sp.check_partial(4, "strategy.k").expect_err("C / K = 1 is odd").to_string().contains("strategy.k"));
    }

    #[test]
    fn a_one_hot_mix_computes_exactly_the_evaluation_network() {
        let device = Device::flex();
        let sp = small();
        let net = DartsSupernet::new(&sp, 1, &device);
        let g = DartsGenotype::parse(DARTS_V2).expect("published genotype");
        let c = sp.choices_of(&g);
        let flat: Vec<f32> = c.iter().flat_map(|&o| (0..8).map(move |j| if j == o { 1.0 } else { 0.0 })).collect();
        let w = Tensor::<2>::from_data(TensorData::new(flat, [28, 8]), &device);
        let x: Vec<f32> = (0..2 * 64).map(|i| ((i * 37 % 19) as f32) / 19.0 - 0.5).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [2, 1, 8, 8]), &device);
        let got: Vec<f32> =
            SupernetModel::forward(&net, x.clone(), &EdgeMix::dense(w)).into_data().try_to_vec().expect("f32");
        let want: Vec<f32> = ImageClassifier::forward(&net.subnet(&g), x).into_data().try_to_vec().expect("f32");
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-5, "{got:?} vs {want:?}");
        }
        // PC-DARTS with K = 2 runs, the bypass pooled on reduction edges.
        let pc = DartsSupernet::new(&sp, 2, &device);
        let mix = EdgeMix {
            kind: nas_core::differentiable::MixKind::Dense(Tensor::<2>::ones([28, 8], &device) / 8.0),
            partial: 2,
            edge_scale: None,
        };
        let y = SupernetModel::forward(&pc, Tensor::<4>::ones([2, 1, 8, 8], &device), &mix);
        assert_eq!(y.dims(), [2, 3]);
    }
}
