//! The plain-CNN space: sampling, validation, mutation by one Net2Wider or
//! Net2Deeper step, the architecture side of both transformations, and the
//! lowering to a [`NetworkSpec`].

use super::config::PlainCnnConfig;
use super::genotype::{ConvLayer, PlainCnnArch};
use crate::blocks::lower::{bn, relu};
use nas_core::{
    Architecture, LayerSpec, Mutate, NasError, NetworkSpec, OpKind, Result, SearchSpace, SpaceSize, ToNetworkSpec,
};
use rand::{Rng, RngCore};

/// One transformation of a plain CNN (architecture side; [`super::morph`]
/// carries the weights along).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Transform {
    /// Net2Wider: convolution `layer` goes to the next width of the ladder.
    Widen {
        /// The convolution (0-based).
        layer: usize,
    },
    /// Net2Deeper: an identity convolution with `kernel` inserted after
    /// convolution `layer` (before its pool, if it has one).
    Deepen {
        /// The convolution it follows (0-based).
        layer: usize,
        /// Its kernel size.
        kernel: usize,
    },
}

impl std::fmt::Display for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transform::Widen { layer } => write!(f, "widen conv{layer}"),
            Transform::Deepen { layer, kernel } => write!(f, "deepen after conv{layer} (k{kernel})"),
        }
    }
}

/// The plain-CNN space (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct PlainCnnSpace {
    config: PlainCnnConfig,
}

impl PlainCnnSpace {
    /// A space with `config` (validated).
    pub fn new(config: PlainCnnConfig) -> Result<Self> {
        config.validate()?;
        Ok(PlainCnnSpace { config })
    }

    /// The settings.
    pub fn config(&self) -> &PlainCnnConfig {
        &self.config
    }

    /// Trainable parameters of `arch` (convolutions without bias, affine batch
    /// norms, the classifier).
    pub fn params(&self, arch: &PlainCnnArch) -> u64 {
        self.network_spec(arch).params()
    }

    /// The next width of the ladder after `filters`, if any.
    pub fn next_width(&self, filters: usize) -> Option<usize> {
        self.config.widths.iter().copied().find(|&w| w > filters)
    }

    /// `arch` transformed by `t`, or `None` when `t` does not apply or the result
    /// breaks a limit of the space (widths, kernels, convolutions, parameters).
    pub fn apply(&self, arch: &PlainCnnArch, t: Transform) -> Option<PlainCnnArch> {
        let mut convs = arch.convs.clone();
        match t {
            Transform::Widen { layer } => {
                let c = convs.get_mut(layer)?;
                c.filters = self.next_width(c.filters)?;
            }
            Transform::Deepen { layer, kernel } => {
                let c = *convs.get(layer)?;
                if !self.config.kernels.contains(&kernel) {
                    return None;
                }
                convs[layer].pool = false;
                convs.insert(layer + 1, ConvLayer { kernel, filters: c.filters, pool: c.pool });
            }
        }
        let out = PlainCnnArch { convs };
        self.validate(&out).ok().map(|_| out)
    }

    /// Every transformation of `arch` that gives an architecture of the space.
    pub fn transforms(&self, arch: &PlainCnnArch) -> Vec<Transform> {
        let mut out = Vec::new();
        for layer in 0..arch.convs.len() {
            out.push(Transform::Widen { layer });
            for &kernel in &self.config.kernels {
                out.push(Transform::Deepen { layer, kernel });
            }
        }
        out.retain(|&t| self.apply(arch, t).is_some());
        out
    }

    fn invalid(&self, arch: &PlainCnnArch, reason: String) -> NasError {
        NasError::InvalidArchitecture { space: "plain_cnn".into(), notation: arch.notation(), reason }
    }
}

impl SearchSpace for PlainCnnSpace {
    type Arch = PlainCnnArch;

    fn name(&self) -> &str {
        "plain_cnn"
    }

    /// 1 to `min(max_convs, 6)` convolutions with random kernels and widths (the
    /// lower half of the ladder), pools after random ones; redrawn until the
    /// parameter limit holds (else the smallest network).
    fn sample(&self, rng: &mut dyn RngCore) -> PlainCnnArch {
        let c = &self.config;
        let half = c.widths.len().div_ceil(2);
        for _ in 0..100 {
            let n = rng.random_range(1..=c.max_convs.min(6));
            let mut convs: Vec<ConvLayer> = (0..n)
                .map(|_| ConvLayer {
                    kernel: c.kernels[rng.random_range(0..c.kernels.len())],
                    filters: c.widths[rng.random_range(0..half)],
                    pool: false,
                })
                .collect();
            let pools = rng.random_range(0..=c.max_pools.min(n));
            for i in rand::seq::index::sample(rng, n, pools) {
                convs[i].pool = true;
            }
            let arch = PlainCnnArch { convs };
            if self.validate(&arch).is_ok() {
                return arch;
            }
        }
        PlainCnnArch { convs: vec![ConvLayer { kernel: c.kernels[0], filters: c.widths[0], pool: false }] }
    }

    fn validate(&self, arch: &PlainCnnArch) -> Result<()> {
        let c = &self.config;
        if arch.convs.is_empty() || arch.convs.len() > c.max_convs {
            return Err(self.invalid(arch, format!("{} convolutions; 1 to {} allowed", arch.convs.len(), c.max_convs)));
        }
        if arch.pools() > c.max_pools {
            return Err(self.invalid(arch, format!("{} pools; at most {} allowed", arch.pools(), c.max_pools)));
        }
        for (i, l) in arch.convs.iter().enumerate() {
            if !c.kernels.contains(&l.kernel) {
                return Err(self.invalid(arch, format!("conv{i} has kernel {}; allowed: {:?}", l.kernel, c.kernels)));
            }
            if !c.widths.contains(&l.filters) {
                return Err(self.invalid(arch, format!("conv{i} has {} filters; allowed: {:?}", l.filters, c.widths)));
            }
        }
        let params = self.params(arch);
        if params > c.max_params as u64 {
            return Err(self.invalid(arch, format!("{params} parameters; at most {} allowed", c.max_params)));
        }
        Ok(())
    }

    fn parse(&self, notation: &str) -> Result<PlainCnnArch> {
        let a = PlainCnnArch::parse(notation)?;
        self.validate(&a)?;
        Ok(a)
    }

    /// Sequences of up to `max_convs` convolutions (kernel × width each) with up
    /// to `max_pools` pools after distinct ones, before the parameter limit (an
    /// upper bound of the count).
    fn size(&self) -> SpaceSize {
        let c = &self.config;
        let per_conv = (c.kernels.len() * c.widths.len()) as f64;
        let mut total = 0.0f64;
        for n in 1..=c.max_convs {
            let mut choose = 1.0f64;
            let mut placements = 0.0f64;
            for p in 0..=c.max_pools.min(n) {
                if p > 0 {
                    choose *= (n - p + 1) as f64 / p as f64;
                }
                placements += choose;
            }
            total += placements * per_conv.powi(n as i32);
        }
        SpaceSize::Log10(total.log10())
    }
}

impl Mutate for PlainCnnSpace {
    /// One Net2Wider or Net2Deeper step chosen uniformly among those that fit;
    /// a random architecture when none does.
    fn mutate(&self, arch: &PlainCnnArch, rng: &mut dyn RngCore) -> PlainCnnArch {
        let options = self.transforms(arch);
        if options.is_empty() {
            return self.sample(rng);
        }
        let t = options[rng.random_range(0..options.len())];
        self.apply(arch, t).expect("transforms() lists applicable transformations")
    }
}

impl ToNetworkSpec for PlainCnnSpace {
    /// `convI.conv` (no bias, same padding), `convI.bn`, `convI.relu`,
    /// `convI.pool` (2x2 / 2 max) when it has one, then `head.gap`, `head.fc`.
    fn network_spec(&self, arch: &PlainCnnArch) -> NetworkSpec {
        let [c_in, h, w] = self.config.input_chw;
        let mut spec = NetworkSpec::new(self.config.input_chw, self.config.num_classes);
        let (mut channels, mut hw) = (c_in, [h, w]);
        for (i, l) in arch.convs.iter().enumerate() {
            hw = spec.push(format!("conv{i}.conv"), LayerSpec::conv(channels, l.filters, l.kernel, 1, 1, hw));
            bn(&mut spec, format!("conv{i}.bn"), l.filters, hw);
            relu(&mut spec, format!("conv{i}.relu"), l.filters, hw);
            if l.pool {
                hw = spec.push(format!("conv{i}.pool"), LayerSpec::pool(OpKind::MaxPool2d, l.filters, 2, 2, 0, hw));
            }
            channels = l.filters;
        }
        spec.push("head.gap", LayerSpec::global_avg_pool(channels, hw));
        spec.push("head.fc", LayerSpec::linear(channels, self.config.num_classes));
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn params_of_a_known_network_by_hand() {
        let space = PlainCnnSpace::default();
        let a = space.parse("c3x8-p-c5x16-p").expect("valid");
        // conv 1->8 3x3 + bn 2*8; conv 8->16 5x5 + bn 2*16; fc 16*10 + 10.
        let want = 9 * 8 + 16 + 8 * 16 * 25 + 32 + 160 + 10;
        assert_eq!(space.params(&a), want as u64);
        let spec = space.network_spec(&a);
        assert_eq!(spec.layers.last().map(|l| l.name.as_str()), Some("head.fc"));
        // 28 -> 14 -> 7 after the two pools.
        let gap = spec.layers.iter().find(|l| l.name == "head.gap").expect("gap");
        assert_eq!(gap.spec.input_hw, [7, 7]);
    }

    #[test]
    fn samples_and_mutants_are_valid_and_transformations_respect_the_limits() {
        let space = PlainCnnSpace::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let a = space.sample(&mut rng);
            space.validate(&a).expect("sample valid");
            assert_eq!(space.parse(&a.notation()).expect("round trip"), a);
            let m = space.mutate(&a, &mut rng);
            space.validate(&m).expect("mutant valid");
            assert_ne!(m, a);
        }
        let a = space.parse("c3x8-p-c3x16").expect("valid");
        let w = space.apply(&a, Transform::Widen { layer: 0 }).expect("widen");
        assert_eq!(w.notation(), "c3x12-p-c3x16");
        let d = space.apply(&a, Transform::Deepen { layer: 0, kernel: 5 }).expect("deepen");
        assert_eq!(d.notation(), "c3x8-c5x8-p-c3x16");
        assert!(space.apply(&a, Transform::Deepen { layer: 0, kernel: 7 }).is_none());
        let top = space.parse("c3x128").expect("valid");
        assert!(space.apply(&top, Transform::Widen { layer: 0 }).is_none());
        // The parameter limit masks transformations out.
        let small = PlainCnnSpace::new(PlainCnnConfig { max_params: 2_000, ..Default::default() }).expect("space");
        let b = small.parse("c3x8-p-c3x16").expect("valid");
        assert!(small.params(&b) <= 2_000);
        for t in small.transforms(&b) {
            assert!(small.params(&small.apply(&b, t).expect("listed")) <= 2_000);
        }
        assert!(small.apply(&b, Transform::Widen { layer: 1 }).is_none());
        // By hand: one kernel, one width, up to 2 convolutions and 1 pool gives
        // c, c-p, c-c, c-p-c, c-c-p.
        let tiny = PlainCnnSpace::new(PlainCnnConfig {
            kernels: vec![3],
            widths: vec![8],
            max_convs: 2,
            max_pools: 1,
            ..Default::default()
        })
        .expect("space");
        assert!(matches!(tiny.size(), SpaceSize::Log10(l) if (l - 5f64.log10()).abs() < 1e-12));
    }
}
