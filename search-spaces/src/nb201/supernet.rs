//! The NAS-Bench-201 supernet: the benchmark's macro network with every
//! candidate op on every cell edge, combined by an [`EdgeMix`]; one set of
//! architecture weights is shared by all cells, as in the benchmark's DARTS,
//! GDAS and ProxylessNAS baselines (Dong & Yang 2020, sec. 5).
//!
//! With PC-DARTS's `K > 1` the edge ops are built on `C / K` channels of each
//! stage. [`Nb201Supernet::subnet`] extracts the network of one cell with the
//! supernet's weights (what a one-hot mix computes).

use super::genotype::{EDGES, NUM_EDGES, Nb201Arch};
use super::lower::NUM_STAGES;
use super::model::{EdgeOp, Nb201Cell, Nb201Network, Nb201Stage, ResNetReduction, cell_dag};
use super::ops::Nb201Op;
use super::space::Nb201Space;
use crate::blocks::nn::{ConvBn, ConvShape, ReluConvBn, batch_norm};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{BatchNorm, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use nas_core::NasError;
use nas_core::differentiable::{EdgeChoices, EdgeMix, SupernetLayout, SupernetModel, SupernetSpace};
use nas_core::kernels;
use nas_core::train::zero_cost::relu;

/// The candidate ops of one edge (`none` and `skip_connect` have no module).
#[derive(Module, Debug)]
pub struct MixedEdge {
    /// `nor_conv_1x1`.
    pub conv1: ReluConvBn,
    /// `nor_conv_3x3`.
    pub conv3: ReluConvBn,
    /// `avg_pool_3x3`.
    pub pool: AvgPool2d,
}

fn pool3() -> AvgPool2d {
    AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init()
}

impl MixedEdge {
    fn new(channels: usize, device: &Device) -> Self {
        MixedEdge {
            conv1: ReluConvBn::new(ConvShape::dense(channels, channels, 1, 1), device),
            conv3: ReluConvBn::new(ConvShape::dense(channels, channels, 3, 1), device),
            pool: pool3(),
        }
    }

    /// Candidate `op` (index of [`Nb201Op::ALL`]) on `x`; `None` for `none`.
    pub fn op(&self, op: usize, x: Tensor<4>) -> Option<Tensor<4>> {
        match Nb201Op::ALL[op] {
            Nb201Op::None => None,
            Nb201Op::SkipConnect => Some(x),
            Nb201Op::NorConv1x1 => Some(self.conv1.forward(x)),
            Nb201Op::NorConv3x3 => Some(self.conv3.forward(x)),
            Nb201Op::AvgPool3x3 => Some(kernels::avg_pool2d(&self.pool, x)),
        }
    }

    fn extract(&self, op: Nb201Op) -> EdgeOp {
        match op {
            Nb201Op::None => EdgeOp::Zero(burn::nn::Identity::new()),
            Nb201Op::SkipConnect => EdgeOp::Skip(burn::nn::Identity::new()),
            Nb201Op::NorConv1x1 => EdgeOp::Conv(self.conv1.clone()),
            Nb201Op::NorConv3x3 => EdgeOp::Conv(self.conv3.clone()),
            Nb201Op::AvgPool3x3 => EdgeOp::Pool(pool3()),
        }
    }
}

/// A supernet cell: node `j` sums the mixed edges entering it.
#[derive(Module, Debug)]
pub struct MixedCell {
    /// One mixed edge per edge of [`EDGES`].
    pub edges: Vec<MixedEdge>,
}

impl MixedCell {
    fn forward(&self, x: Tensor<4>, mix: &EdgeMix) -> Tensor<4> {
        cell_dag(x, |edge, input| mix.apply(edge, input, |o, x| self.edges[edge].op(o, x)))
    }
}

/// One stage: an optional reduction, then the mixed cells.
#[derive(Module, Debug)]
pub struct MixedStage {
    /// The ResNet reduction starting stages 2 and 3.
    pub reduction: Option<ResNetReduction>,
    /// The cells.
    pub cells: Vec<MixedCell>,
}

/// The NAS-Bench-201 supernet (see the module docs).
#[derive(Module, Debug)]
pub struct Nb201Supernet {
    /// Conv3x3 + BN stem.
    pub stem: ConvBn,
    /// The three stages.
    pub stages: Vec<MixedStage>,
    /// Final BN.
    pub last_bn: BatchNorm,
    /// Classifier.
    pub classifier: Linear,
}

impl Nb201Supernet {
    /// Builds the supernet of `space`'s macro network with edge ops on
    /// `C / partial` channels.
    pub fn new(space: &Nb201Space, partial: usize, device: &Device) -> Self {
        let cfg = space.config();
        let c = cfg.channels;
        let mut stages = Vec::with_capacity(NUM_STAGES);
        let mut prev = c;
        for stage in 0..NUM_STAGES {
            let channels = c << stage;
            let reduction = (stage > 0).then(|| ResNetReduction::new(prev, channels, device));
            let cells = (0..cfg.cells_per_stage)
                .map(|_| MixedCell {
                    edges: (0..NUM_EDGES).map(|_| MixedEdge::new(channels / partial.max(1), device)).collect(),
                })
                .collect();
            stages.push(MixedStage { reduction, cells });
            prev = channels;
        }
        Nb201Supernet {
            stem: ConvBn::new(ConvShape::dense(cfg.input_chw[0], c, 3, 1), device),
            stages,
            last_bn: batch_norm(prev, device),
            classifier: LinearConfig::new(prev, cfg.num_classes).init(device),
        }
    }

    /// The network of `arch` with this supernet's weights (built with
    /// `partial = 1`).
    pub fn subnet(&self, arch: &Nb201Arch) -> Nb201Network {
        let ops = arch.ops();
        let stages = self
            .stages
            .iter()
            .map(|s| Nb201Stage {
                reduction: s.reduction.clone(),
                cells: s
                    .cells
                    .iter()
                    .map(|cell| Nb201Cell { edges: cell.edges.iter().zip(ops).map(|(m, op)| m.extract(op)).collect() })
                    .collect(),
            })
            .collect();
        Nb201Network {
            stem: self.stem.clone(),
            stages,
            last_bn: self.last_bn.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

impl SupernetModel for Nb201Supernet {
    fn forward(&self, images: Tensor<4>, mix: &EdgeMix) -> Tensor<2> {
        let mut x = self.stem.forward(images);
        for stage in &self.stages {
            if let Some(r) = &stage.reduction {
                x = r.forward(x);
            }
            for cell in &stage.cells {
                x = cell.forward(x, mix);
            }
        }
        let x = relu(kernels::batch_norm(&self.last_bn, x));
        let [n, c, _, _] = x.dims();
        self.classifier.forward(x.mean_dim(3).mean_dim(2).reshape([n, c]))
    }
}

impl SupernetSpace for Nb201Space {
    type Net = Nb201Supernet;

    fn supernet_layout(&self) -> SupernetLayout {
        let ops: Vec<String> = Nb201Op::NAMES.iter().map(|s| s.to_string()).collect();
        SupernetLayout {
            edges: EDGES
                .iter()
                .map(|(to, from)| EdgeChoices { name: format!("{to}<-{from}"), ops: ops.clone() })
                .collect(),
            node_edges: vec![vec![0], vec![1, 2], vec![3, 4, 5]],
            param_free: vec!["none".into(), "skip_connect".into(), "avg_pool_3x3".into()],
        }
    }

    fn check_partial(&self, partial: usize, field: &str) -> nas_core::Result<()> {
        let c = self.config().channels;
        if partial == 0 || !c.is_multiple_of(partial) {
            return Err(NasError::InvalidValue {
                field: field.into(),
                value: partial.to_string(),
                allowed: format!("a divisor of the space's {c} channels (space.channels)"),
            });
        }
        Ok(())
    }

    fn build_supernet(&self, partial: usize, device: &Device) -> Nb201Supernet {
        Nb201Supernet::new(self, partial, device)
    }

    fn arch_from_choices(&self, choices: &[usize]) -> nas_core::Result<Nb201Arch> {
        if choices.len() != NUM_EDGES || choices.iter().any(|&c| c >= Nb201Op::ALL.len()) {
            return Err(NasError::InvalidArchitecture {
                space: "nb201".into(),
                notation: format!("{choices:?}"),
                reason: format!("{NUM_EDGES} op indices below {}", Nb201Op::ALL.len()),
            });
        }
        let mut ops = [Nb201Op::None; NUM_EDGES];
        for (slot, &c) in ops.iter_mut().zip(choices) {
            *slot = Nb201Op::ALL[c];
        }
        Ok(Nb201Arch::new(ops))
    }

    fn choices_of(&self, arch: &Nb201Arch) -> Vec<usize> {
        arch.ops().iter().map(|o| o.index()).collect()
    }

    fn supernet_input(&self) -> [usize; 3] {
        self.config().input_chw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nb201::Nb201Config;
    use burn::tensor::{Distribution, TensorData};
    use nas_core::train::ImageClassifier;

    fn small() -> Nb201Space {
        Nb201Space::new(Nb201Config { channels: 4, cells_per_stage: 1, input_chw: [1, 8, 8], num_classes: 3 })
            .expect("valid")
    }

    fn one_hot(arch: &Nb201Arch, device: &Device) -> Tensor<2> {
        let mut v = vec![0.0f32; NUM_EDGES * 5];
        for (e, op) in arch.ops().iter().enumerate() {
            v[e * 5 + op.index()] = 1.0;
        }
        Tensor::from_data(TensorData::new(v, [NUM_EDGES, 5]), device)
    }

    #[test]
    fn a_one_hot_mix_computes_exactly_the_subnetwork() {
        let device = Device::flex();
        let space = small();
        let net = Nb201Supernet::new(&space, 1, &device);
        let x = Tensor::<4>::random([3, 1, 8, 8], Distribution::Default, &device);
        for notation in [
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "|none~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        ] {
            let arch = Nb201Arch::parse(notation).expect("valid");
            let sub = net.subnet(&arch);
            let want: Vec<f32> = ImageClassifier::forward(&sub, x.clone()).into_data().try_to_vec().expect("f32");
            let got: Vec<f32> = SupernetModel::forward(&net, x.clone(), &EdgeMix::dense(one_hot(&arch, &device)))
                .into_data()
                .try_to_vec()
                .expect("f32");
            for (a, b) in want.iter().zip(&got) {
                assert!((a - b).abs() <= 1e-6, "{notation}: {want:?} vs {got:?}");
            }
        }
    }

    #[test]
    fn partial_channels_must_divide_the_channels() {
        let space = small();
        assert!(space.check_partial(2, "strategy.k").is_ok());
        let err = space.check_partial(3, "strategy.k").expect_err("3 does not divide 4").to_string();
        assert!(err.contains("strategy.k") && err.contains("4 channels"), "{err}");
        // A PC-DARTS supernet runs with K = 2.
        let device = Device::flex();
        let net = Nb201Supernet::new(&space, 2, &device);
        let w = Tensor::<2>::ones([NUM_EDGES, 5], &device) / 5.0;
        let mix = EdgeMix { kind: nas_core::differentiable::MixKind::Dense(w), partial: 2, edge_scale: None };
        let y = SupernetModel::forward(&net, Tensor::<4>::ones([2, 1, 8, 8], &device), &mix);
        assert_eq!(y.dims(), [2, 3]);
    }

    #[test]
    fn choices_round_trip() {
        let space = small();
        let arch = Nb201Arch::parse(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        )
        .expect("valid");
        let c = space.choices_of(&arch);
        assert_eq!(c, vec![3, 3, 4, 1, 3, 1]);
        assert_eq!(space.arch_from_choices(&c).expect("valid"), arch);
        assert!(space.arch_from_choices(&[9; 6]).is_err());
        space.supernet_layout().validate().expect("layout");
    }
}

#[cfg(test)]
mod search_tests {
    //! One seed's search on a tiny supernet and synthetic images. (Determinism
    //! and resume after a kill are tested through the binary, in separate
    //! processes: burn's generator is process-wide and the other tests of this
    //! binary draw from it.)
    use super::*;
    use crate::nb201::Nb201Config;
    use burn::tensor::TensorData;
    use nas_core::differentiable::{DifferentiableSettings, GuardSettings, Method, SeedJob, run_seed};
    use nas_core::train::{ImageDataset, init_seeded};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn space() -> Nb201Space {
        Nb201Space::new(Nb201Config { channels: 4, cells_per_stage: 1, input_chw: [1, 8, 8], num_classes: 3 })
            .expect("valid")
    }

    /// Class `c` lights rows `2c..2c+2` of an 8x8 image, plus noise.
    fn toy(n: usize, seed: u64) -> ImageDataset {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pixels = Vec::with_capacity(n * 64);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let c = (i % 3) as u32;
            for r in 0..8 {
                for _ in 0..8 {
                    let on = r / 2 == c as usize;
                    pixels.push(if on { 1.0 } else { 0.0 } + 0.3 * (rng.random::<f32>() - 0.5));
                }
            }
            labels.push(c);
        }
        ImageDataset::new("toy", [1, 8, 8], 3, pixels, labels).expect("dataset")
    }

    fn settings(epochs: usize) -> DifferentiableSettings {
        DifferentiableSettings {
            epochs,
            batch_size: 16,
            max_train_samples: None,
            guard: GuardSettings { hessian_iterations: 2, ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn gradients_reach_the_architecture_weights_and_match_finite_differences() {
        let device = Device::flex();
        let ad = device.clone().autodiff();
        let net = init_seeded(11, &device, || Nb201Supernet::new(&space(), 1, &device)).train();
        let data = toy(6, 1);
        let batch = data.batch_range(0, 6, &ad);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let alpha0: Vec<f32> = (0..30).map(|_| rng.random::<f32>() - 0.5).collect();
        let loss_of = |alpha: &[f32]| -> Tensor<1> {
            let a = Tensor::<2>::from_data(TensorData::new(alpha.to_vec(), [6, 5]), &ad).require_grad();
            let mix = EdgeMix::dense(burn::tensor::activation::softmax(a, 1));
            let logits = SupernetModel::forward(&net, batch.images.clone(), &mix);
            burn::nn::loss::CrossEntropyLossConfig::new().init(&ad).forward(logits, batch.labels.clone())
        };
        let a = Tensor::<2>::from_data(TensorData::new(alpha0.clone(), [6, 5]), &ad).require_grad();
        let mix = EdgeMix::dense(burn::tensor::activation::softmax(a.clone(), 1));
        let logits = SupernetModel::forward(&net, batch.images.clone(), &mix);
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&ad).forward(logits, batch.labels.clone());
        let grads = loss.backward();
        let analytic: Vec<f32> = a.grad(&grads).expect("α gradient").into_data().try_to_vec().expect("f32");
        assert!(analytic.iter().any(|g| g.abs() > 1e-4), "the loss depends on α: {analytic:?}");
        // Central differences at several steps: ReLU kinks of the batch-normalised
        // activations lie within a step of α for some entries and steps; away
        // from them the difference converges to the gradient (checked: at
        // h = 1e-3 to 3e-4 the agreement is within 0.2%).
        for i in 0..30 {
            let best = [3e-3f32, 1e-3, 3e-4, 1e-4]
                .iter()
                .map(|&h| {
                    let mut up = alpha0.clone();
                    up[i] += h;
                    let mut down = alpha0.clone();
                    down[i] -= h;
                    let fd = (loss_of(&up).into_scalar::<f32>() - loss_of(&down).into_scalar::<f32>()) / (2.0 * h);
                    (fd - analytic[i]).abs()
                })
                .fold(f32::INFINITY, f32::min);
            assert!(
                best <= 1e-4 + 0.03 * analytic[i].abs(),
                "α[{i}]: autodiff {} is {best} from every finite difference",
                analytic[i]
            );
        }
    }

    #[test]
    fn every_method_derives_a_valid_cell_and_logs_every_epoch() {
        let sp = space();
        let (train, val) = (toy(48, 3), toy(48, 4));
        for method in [
            Method::Darts { second_order: false },
            Method::Darts { second_order: true },
            Method::PcDarts { k: 2 },
            Method::Gdas { tau_max: 10.0, tau_min: 0.1 },
            Method::Proxyless { paths: 2 },
            Method::Proxyless { paths: 1 },
        ] {
            let s = settings(2);
            let lines = std::sync::Mutex::new(Vec::new());
            let log = |l: &str| lines.lock().expect("log").push(l.to_string());
            let job =
                SeedJob { method, settings: &s, seed: 1, train: &train, val: &val, cost: None, dir: None, log: &log };
            let out = run_seed(&sp, &job).unwrap_or_else(|e| panic!("{method:?}: {e}"));
            assert_eq!(out.history.len(), 2, "{method:?}");
            assert_eq!(out.choices.len(), NUM_EDGES);
            sp.arch_from_choices(&out.choices).expect("a cell of the space");
            let last = out.history.last().expect("epochs");
            for row in &last.op_weights {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{method:?}: {row:?}");
            }
            // The architecture weights moved away from their 1e-3 initialisation.
            assert!(last.entropy < (5f64).ln() - 1e-6, "{method:?}: entropy {}", last.entropy);
            assert_eq!(last.hessian_eigenvalue.is_some(), !matches!(method, Method::Proxyless { .. }), "{method:?}");
            let logged = lines.lock().expect("log").iter().filter(|l| l.contains("epoch 2/2")).count();
            assert_eq!(logged, 1, "{method:?}");
        }
    }

    #[test]
    fn a_hardware_term_that_drives_every_edge_to_none_is_survived() {
        use nas_core::differentiable::cost::FitQuality;
        use nas_core::differentiable::{HardwareLoss, LinearCost};
        let sp = space();
        let (train, val) = (toy(48, 3), toy(48, 4));
        let cost = LinearCost {
            metric: nas_core::Metric::LatencyMs,
            intercept: 1.0,
            per_op: vec![vec![0.0, 1.0, 1.0, 1.0, 1.0]; NUM_EDGES],
            mean_cost: 5.8,
            fit: FitQuality { samples: 0, r2: 1.0, rmse: 0.0, max_abs_error: 0.0 },
        };
        let hw = HardwareLoss { metric: nas_core::Metric::LatencyMs, lambda: 200.0, limit: None, samples: 300 };
        for method in [
            Method::Proxyless { paths: 1 },
            Method::Proxyless { paths: 2 },
            Method::Gdas { tau_max: 1.0, tau_min: 0.1 },
        ] {
            let s = DifferentiableSettings { hardware: Some(hw.clone()), arch_lr: 0.3, ..settings(3) };
            let log = |_: &str| {};
            let job = SeedJob {
                method,
                settings: &s,
                seed: 2,
                train: &train,
                val: &val,
                cost: Some(&cost),
                dir: None,
                log: &log,
            };
            let out = run_seed(&sp, &job).unwrap_or_else(|e| panic!("{method:?}: {e}"));
            assert_eq!(out.choices, vec![0; NUM_EDGES], "{method:?}: the cost drives every edge to `none`");
        }
    }

    #[test]
    fn a_diverging_search_names_the_epoch_and_step() {
        let sp = space();
        let (train, val) = (toy(32, 3), toy(32, 4));
        let s = DifferentiableSettings { divergence_loss: 1e-6, ..settings(2) };
        let log = |_: &str| {};
        let job = SeedJob {
            method: Method::Darts { second_order: false },
            settings: &s,
            seed: 1,
            train: &train,
            val: &val,
            cost: None,
            dir: None,
            log: &log,
        };
        let err = run_seed(&sp, &job).expect_err("diverges").to_string();
        assert!(err.contains("epoch 1, step 1") && err.contains("no checkpoint"), "{err}");
    }
}
