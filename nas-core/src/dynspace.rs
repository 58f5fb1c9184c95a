//! Spaces of any architecture type behind one type: what the registries hand out.
//!
//! A [`DynSpace`] wraps any space that declares its [`Capabilities`]; its
//! architectures are [`AnyArch`] values (the typed architecture, its canonical
//! notation and id, behind an `Arc`). Code written once against `DynSpace` — the
//! CLI, the run driver, every registry — serves every space, and a test can add a
//! space without touching that code.
//!
//! `DynSpace` implements every capability trait by delegation. Calling one the
//! wrapped space lacks is a programming error and panics; the registries rule it
//! out by checking each component's needs first ([`DynSpace::require`]), which
//! is also where the user gets a message naming the missing capability. The
//! contract tests run every strategy on a space with exactly the capabilities it
//! declares it needs, so a strategy that uses more than it declares fails there.

use crate::arch::{ArchId, Architecture};
use crate::capability::{Capabilities, Capability};
use crate::decisions::{Decision, Decisions};
use crate::encoding::{EncodingKind, MultiEncode};
use crate::error::{NasError, Result};
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::layer::NetworkSpec;
use crate::metric::{Metric, MetricMap};
use crate::space::{Crossover, Encode, Mutate, Neighbors, SearchSpace, SpaceSize, ToNetworkSpec};
use crate::train::{Backend, DynTrainable, Forward, ImageDataset, TrainConfig};
use burn::tensor::Device;
use rand::RngCore;
use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An architecture of any space: the typed value with its notation and id
/// computed once. Equal when the notations are equal.
#[derive(Clone)]
pub struct AnyArch {
    id: ArchId,
    notation: Arc<str>,
    value: Arc<dyn Any + Send + Sync>,
}

impl AnyArch {
    /// Wraps a typed architecture.
    pub fn new<A: Architecture>(arch: A) -> Self {
        let notation: Arc<str> = arch.notation().into();
        AnyArch { id: ArchId::of(&notation), notation, value: Arc::new(arch) }
    }

    /// The typed architecture, when it is an `A`.
    pub fn downcast_ref<A: Architecture>(&self) -> Option<&A> {
        self.value.downcast_ref::<A>()
    }

    /// The canonical notation without copying it.
    pub fn notation_str(&self) -> &str {
        &self.notation
    }
}

impl PartialEq for AnyArch {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.notation == other.notation
    }
}

impl Eq for AnyArch {}

impl Hash for AnyArch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl fmt::Debug for AnyArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyArch({})", self.notation)
    }
}

impl Architecture for AnyArch {
    fn notation(&self) -> String {
        self.notation.to_string()
    }
    fn id(&self) -> ArchId {
        self.id
    }
}

/// The space behind a [`DynSpace`], with typed arguments erased.
trait ErasedSpace: Send + Sync {
    fn name(&self) -> &str;
    fn sample(&self, rng: &mut dyn RngCore) -> AnyArch;
    fn validate(&self, arch: &AnyArch) -> Result<()>;
    fn parse(&self, notation: &str) -> Result<AnyArch>;
    fn size(&self) -> SpaceSize;
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = AnyArch> + '_>>;
    fn capabilities(&self) -> Vec<Capability>;
    fn mutate(&self, arch: &AnyArch, rng: &mut dyn RngCore) -> Option<AnyArch>;
    fn crossover(&self, a: &AnyArch, b: &AnyArch, rng: &mut dyn RngCore) -> Option<AnyArch>;
    fn neighbors(&self, arch: &AnyArch) -> Option<Vec<AnyArch>>;
    fn encoding_len(&self) -> Option<usize>;
    fn encode(&self, arch: &AnyArch) -> Option<Vec<f32>>;
    fn encodings(&self) -> Option<Vec<EncodingKind>>;
    fn encode_with(&self, arch: &AnyArch, kind: EncodingKind) -> Option<Option<Vec<f32>>>;
    fn network_spec(&self, arch: &AnyArch) -> Option<NetworkSpec>;
    fn trainable(&self) -> Option<&dyn DynTrainable<AnyArch>>;
    fn supernet(&self) -> Option<&dyn crate::differentiable::DynSupernet>;
    fn codesign(&self) -> Option<&dyn crate::hardware::DynCoDesign>;
    fn decisions(&self) -> Option<Vec<Decision>>;
    fn arch_from_decisions(&self, choices: &[usize]) -> Option<Result<AnyArch>>;
    fn decisions_of(&self, arch: &AnyArch) -> Option<Vec<usize>>;
    fn as_any(&self) -> &dyn Any;
}

/// A typed space behind [`ErasedSpace`].
struct Typed<S>(S);

impl<S: Capabilities> Typed<S> {
    fn typed<'a>(&self, arch: &'a AnyArch) -> &'a S::Arch {
        arch.downcast_ref::<S::Arch>().unwrap_or_else(|| {
            panic!(
                "architecture {} is not of space `{}` (mixed spaces are a programming error)",
                arch.notation,
                self.0.name()
            )
        })
    }
}

impl<S: Capabilities> ErasedSpace for Typed<S> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn sample(&self, rng: &mut dyn RngCore) -> AnyArch {
        AnyArch::new(self.0.sample(rng))
    }
    fn validate(&self, arch: &AnyArch) -> Result<()> {
        match arch.downcast_ref::<S::Arch>() {
            Some(a) => self.0.validate(a),
            None => Err(NasError::InvalidArchitecture {
                space: self.0.name().into(),
                notation: arch.notation(),
                reason: "it belongs to another space".into(),
            }),
        }
    }
    fn parse(&self, notation: &str) -> Result<AnyArch> {
        self.0.parse(notation).map(AnyArch::new)
    }
    fn size(&self) -> SpaceSize {
        self.0.size()
    }
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = AnyArch> + '_>> {
        self.0.enumerate().map(|it| Box::new(it.map(AnyArch::new)) as Box<dyn Iterator<Item = AnyArch>>)
    }
    fn capabilities(&self) -> Vec<Capability> {
        self.0.capabilities()
    }
    fn mutate(&self, arch: &AnyArch, rng: &mut dyn RngCore) -> Option<AnyArch> {
        Some(AnyArch::new(self.0.as_mutate()?.mutate(self.typed(arch), rng)))
    }
    fn crossover(&self, a: &AnyArch, b: &AnyArch, rng: &mut dyn RngCore) -> Option<AnyArch> {
        Some(AnyArch::new(self.0.as_crossover()?.crossover(self.typed(a), self.typed(b), rng)))
    }
    fn neighbors(&self, arch: &AnyArch) -> Option<Vec<AnyArch>> {
        Some(self.0.as_neighbors()?.neighbors(self.typed(arch)).into_iter().map(AnyArch::new).collect())
    }
    fn encoding_len(&self) -> Option<usize> {
        Some(self.0.as_encode()?.encoding_len())
    }
    fn encode(&self, arch: &AnyArch) -> Option<Vec<f32>> {
        Some(self.0.as_encode()?.encode(self.typed(arch)))
    }
    fn encodings(&self) -> Option<Vec<EncodingKind>> {
        Some(self.0.as_multi_encode()?.encodings())
    }
    fn encode_with(&self, arch: &AnyArch, kind: EncodingKind) -> Option<Option<Vec<f32>>> {
        Some(self.0.as_multi_encode()?.encode_with(self.typed(arch), kind))
    }
    fn network_spec(&self, arch: &AnyArch) -> Option<NetworkSpec> {
        Some(self.0.as_network_spec()?.network_spec(self.typed(arch)))
    }
    fn trainable(&self) -> Option<&dyn DynTrainable<AnyArch>> {
        self.0.as_trainable()?;
        Some(self)
    }
    fn supernet(&self) -> Option<&dyn crate::differentiable::DynSupernet> {
        self.0.as_supernet()
    }
    fn codesign(&self) -> Option<&dyn crate::hardware::DynCoDesign> {
        self.0.as_codesign()
    }
    fn decisions(&self) -> Option<Vec<Decision>> {
        Some(self.0.as_decisions()?.decisions())
    }
    fn arch_from_decisions(&self, choices: &[usize]) -> Option<Result<AnyArch>> {
        Some(self.0.as_decisions()?.arch_from_decisions(choices).map(AnyArch::new))
    }
    fn decisions_of(&self, arch: &AnyArch) -> Option<Vec<usize>> {
        Some(self.0.as_decisions()?.decisions_of(self.typed(arch)))
    }
    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}

impl<S: Capabilities> DynTrainable<AnyArch> for Typed<S> {
    fn input_chw(&self) -> [usize; 3] {
        self.0.as_trainable().map_or([0; 3], |t| t.input_chw())
    }
    fn num_classes(&self) -> usize {
        self.0.as_trainable().map_or(0, |t| t.num_classes())
    }
    fn build_forward(&self, arch: &AnyArch, device: &Device, seed: u64) -> Box<dyn Forward> {
        self.0.as_trainable().expect(CHECKED).build_forward(self.typed(arch), device, seed)
    }
    fn load_forward(
        &self,
        arch: &AnyArch,
        weights: Option<&std::path::Path>,
        device: &Device,
        seed: u64,
    ) -> Result<Box<dyn Forward>> {
        self.0.as_trainable().expect(CHECKED).load_forward(self.typed(arch), weights, device, seed)
    }
    fn export_onnx(
        &self,
        arch: &AnyArch,
        weights: Option<&std::path::Path>,
        seed: u64,
        info: &crate::onnx::OnnxModelInfo,
    ) -> Result<crate::onnx::OnnxModel> {
        self.0.as_trainable().expect(CHECKED).export_onnx(self.typed(arch), weights, seed, info)
    }
    fn retrain(
        &self,
        arch: &AnyArch,
        job: &crate::train::RetrainJob,
        events: &mut (dyn FnMut(crate::train::RetrainEvent) + Send),
    ) -> Result<crate::train::RetrainOutcome> {
        self.0.as_trainable().expect(CHECKED).retrain(self.typed(arch), job, events)
    }
    fn zero_cost(
        &self,
        arch: &AnyArch,
        batch: &ImageDataset,
        proxies: &[crate::train::zero_cost::Proxy],
        device: &Device,
        seed: u64,
    ) -> Result<crate::train::zero_cost::ProxyScores> {
        self.0.as_trainable().expect(CHECKED).zero_cost(self.typed(arch), batch, proxies, device, seed)
    }
    fn training_evaluator(
        &self,
        train: Arc<ImageDataset>,
        val: Arc<ImageDataset>,
        config: TrainConfig,
        backend: Backend,
    ) -> Result<Arc<dyn Evaluator<AnyArch>>> {
        let inner = self.0.as_trainable().expect(CHECKED).training_evaluator(train, val, config, backend)?;
        Ok(Arc::new(Downcasting { inner }))
    }
}

/// An evaluator of typed architectures serving [`AnyArch`] values.
struct Downcasting<A: Architecture> {
    inner: Arc<dyn Evaluator<A>>,
}

impl<A: Architecture> Evaluator<AnyArch> for Downcasting<A> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn provides(&self) -> Vec<Metric> {
        self.inner.provides()
    }
    fn is_cheap(&self) -> bool {
        self.inner.is_cheap()
    }
    fn fidelity(&self) -> crate::fidelity::FidelitySupport {
        self.inner.fidelity()
    }
    fn evaluate(&self, arch: &AnyArch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        match arch.downcast_ref::<A>() {
            Some(a) => self.inner.evaluate(a, ctx),
            None => {
                Err(EvalError::failed(format!("{} is not an architecture of this evaluator's space", arch.notation)))
            }
        }
    }
}

/// The invariant behind the delegating capability impls.
const CHECKED: &str = "capability checked by the registry before use (DynSpace::require)";

/// A space of any architecture type (see the module docs).
#[derive(Clone)]
pub struct DynSpace {
    inner: Arc<dyn ErasedSpace>,
    settings: Arc<serde_json::Value>,
}

impl fmt::Debug for DynSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynSpace({} {})", self.inner.name(), self.settings)
    }
}

impl DynSpace {
    /// Wraps a typed space; `settings` is its configuration as JSON (what tables
    /// and saved predictors record to recognise the space).
    pub fn new<S: Capabilities>(space: S, settings: serde_json::Value) -> Self {
        DynSpace { inner: Arc::new(Typed(space)), settings: Arc::new(settings) }
    }

    /// The space's configuration as JSON.
    pub fn settings(&self) -> &serde_json::Value {
        &self.settings
    }

    /// The capabilities the wrapped space declares.
    pub fn capabilities(&self) -> Vec<Capability> {
        self.inner.capabilities()
    }

    /// Whether the space has `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities().contains(&capability)
    }

    /// Checks that the space has every capability in `needs`; `user` names who
    /// needs them (``strategy `nsga2` ``) and `alternatives` are components of the
    /// same kind the space can serve, suggested in the error.
    pub fn require(&self, needs: &[Capability], user: &str, alternatives: &[String]) -> Result<()> {
        let have = self.capabilities();
        match needs.iter().find(|c| !have.contains(c)) {
            None => Ok(()),
            Some(missing) => Err(NasError::MissingCapability {
                space: self.inner.name().to_string(),
                capability: missing.describe().to_string(),
                user: user.to_string(),
                alternatives: alternatives.to_vec(),
            }),
        }
    }

    /// The typed space, when it is an `S`.
    pub fn downcast_ref<S: Capabilities>(&self) -> Option<&S> {
        self.inner.as_any().downcast_ref::<S>()
    }

    /// The supernet side of the space, when differentiable search can search it.
    pub fn supernet(&self) -> Option<&dyn crate::differentiable::DynSupernet> {
        self.inner.supernet()
    }

    /// The co-design side of the space, when it joins networks and hardware.
    pub fn codesign(&self) -> Option<&dyn crate::hardware::DynCoDesign> {
        self.inner.codesign()
    }

    /// The training side of the space, when it builds burn networks.
    pub fn trainable(&self) -> Option<&dyn DynTrainable<AnyArch>> {
        self.inner.trainable()
    }
}

impl SearchSpace for DynSpace {
    type Arch = AnyArch;
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn sample(&self, rng: &mut dyn RngCore) -> AnyArch {
        self.inner.sample(rng)
    }
    fn validate(&self, arch: &AnyArch) -> Result<()> {
        self.inner.validate(arch)
    }
    fn parse(&self, notation: &str) -> Result<AnyArch> {
        self.inner.parse(notation)
    }
    fn size(&self) -> SpaceSize {
        self.inner.size()
    }
    fn enumerate(&self) -> Option<Box<dyn Iterator<Item = AnyArch> + '_>> {
        self.inner.enumerate()
    }
}

impl Mutate for DynSpace {
    fn mutate(&self, arch: &AnyArch, rng: &mut dyn RngCore) -> AnyArch {
        self.inner.mutate(arch, rng).expect(CHECKED)
    }
}

impl Crossover for DynSpace {
    fn crossover(&self, a: &AnyArch, b: &AnyArch, rng: &mut dyn RngCore) -> AnyArch {
        self.inner.crossover(a, b, rng).expect(CHECKED)
    }
}

impl Neighbors for DynSpace {
    fn neighbors(&self, arch: &AnyArch) -> Vec<AnyArch> {
        self.inner.neighbors(arch).expect(CHECKED)
    }
}

impl Encode for DynSpace {
    fn encoding_len(&self) -> usize {
        self.inner.encoding_len().expect(CHECKED)
    }
    fn encode(&self, arch: &AnyArch) -> Vec<f32> {
        self.inner.encode(arch).expect(CHECKED)
    }
}

impl MultiEncode for DynSpace {
    fn encodings(&self) -> Vec<EncodingKind> {
        self.inner.encodings().unwrap_or_default()
    }
    fn encode_with(&self, arch: &AnyArch, kind: EncodingKind) -> Option<Vec<f32>> {
        self.inner.encode_with(arch, kind).flatten()
    }
}

impl Decisions for DynSpace {
    fn decisions(&self) -> Vec<Decision> {
        self.inner.decisions().expect(CHECKED)
    }
    fn arch_from_decisions(&self, choices: &[usize]) -> Result<AnyArch> {
        self.inner.arch_from_decisions(choices).expect(CHECKED)
    }
    fn decisions_of(&self, arch: &AnyArch) -> Vec<usize> {
        self.inner.decisions_of(arch).expect(CHECKED)
    }
}

impl ToNetworkSpec for DynSpace {
    fn network_spec(&self, arch: &AnyArch) -> NetworkSpec {
        self.inner.network_spec(arch).expect(CHECKED)
    }
}
