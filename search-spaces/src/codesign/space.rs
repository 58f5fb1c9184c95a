//! The joint space: one network per task (each from its own registered space)
//! times an accelerator design times the mapping of tasks onto its
//! sub-accelerators.

use super::hardware::HardwareConfig;
use nas_core::decisions::{Decision, Decisions, check_choices};
use nas_core::hardware::{AcceleratorDesign, CoDesignTask, CoDesignView, DynCoDesign};
use nas_core::{
    AnyArch, Architecture, Capabilities, Capability, Crossover, DynSpace, Encode, Mutate, NasError, Result,
    SearchSpace, SpaceSize,
};
use rand::{Rng, RngCore};
use std::fmt;
use std::hash::{Hash, Hasher};

/// Separates the parts of a joint notation.
pub const SEPARATOR: &str = " ; ";

/// A joint architecture: networks, design, mapping (see the module docs).
/// Equal when the notations are equal.
#[derive(Clone)]
pub struct CoDesignArch {
    nets: Vec<AnyArch>,
    design: AcceleratorDesign,
    mapping: Vec<usize>,
    notation: String,
}

impl CoDesignArch {
    fn new(names: &[String], nets: Vec<AnyArch>, design: AcceleratorDesign, mapping: Vec<usize>) -> Self {
        let mut parts: Vec<String> =
            names.iter().zip(&nets).map(|(n, a)| format!("{n}={}", a.notation_str())).collect();
        parts.push(format!("hw={}", design.notation()));
        parts.push(format!("map={}", mapping.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")));
        CoDesignArch { notation: parts.join(SEPARATOR), nets, design, mapping }
    }

    /// One network per task.
    pub fn nets(&self) -> &[AnyArch] {
        &self.nets
    }

    /// The hardware design.
    pub fn design(&self) -> &AcceleratorDesign {
        &self.design
    }

    /// The sub-accelerator each task runs on.
    pub fn mapping(&self) -> &[usize] {
        &self.mapping
    }
}

impl PartialEq for CoDesignArch {
    fn eq(&self, other: &Self) -> bool {
        self.notation == other.notation
    }
}
impl Eq for CoDesignArch {}
impl Hash for CoDesignArch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.notation.hash(state);
    }
}
impl fmt::Debug for CoDesignArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.notation)
    }
}
impl Architecture for CoDesignArch {
    fn notation(&self) -> String {
        self.notation.clone()
    }
}

/// The joint space (see the module docs).
#[derive(Clone, Debug)]
pub struct CoDesignSpace {
    tasks: Vec<CoDesignTask>,
    names: Vec<String>,
    hardware: HardwareConfig,
    /// The joint decisions and each task's count of them, computed once
    /// (`None` when a task's space has no decisions).
    decisions: Option<(Vec<Decision>, Vec<usize>)>,
}

impl CoDesignSpace {
    /// A joint space of `tasks` (each network space must lower to layers) and
    /// the hardware ladders and budgets.
    pub fn new(tasks: Vec<CoDesignTask>, hardware: HardwareConfig) -> Result<Self> {
        hardware.validate()?;
        if tasks.is_empty() {
            return Err(NasError::InvalidValue {
                field: "tasks".into(),
                value: "[]".into(),
                allowed: "one or more tasks, each `{ name = \"...\", space = { kind = \"...\" } }`".into(),
            });
        }
        for (i, t) in tasks.iter().enumerate() {
            let ok = !t.name.is_empty() && t.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok || tasks[..i].iter().any(|o| o.name == t.name) {
                return Err(NasError::InvalidValue {
                    field: format!("tasks[{i}].name"),
                    value: t.name.clone(),
                    allowed: "a distinct name of letters, digits, `_` and `-`".into(),
                });
            }
            t.space.require(&[Capability::NetworkSpec], &format!("task `{}` of the codesign space", t.name), &[])?;
        }
        let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
        let decisions = tasks.iter().all(|t| t.space.has(Capability::Decisions)).then(|| {
            let mut all = Vec::new();
            let mut counts = Vec::new();
            for t in &tasks {
                let own = t.space.decisions();
                counts.push(own.len());
                all.extend(own.into_iter().map(|d| Decision {
                    name: format!("{}: {}", t.name, d.name),
                    group: "network".into(),
                    ..d
                }));
            }
            all.extend(hardware.decisions());
            for t in &names {
                let options = (0..hardware.max_subs).map(|i| format!("sub{i}")).collect();
                all.push(Decision::new(format!("{t} runs on"), options, "hardware"));
            }
            (all, counts)
        });
        Ok(CoDesignSpace { tasks, names, hardware, decisions })
    }

    /// The hardware ladders and budgets.
    pub fn hardware(&self) -> &HardwareConfig {
        &self.hardware
    }

    /// The task names.
    pub fn task_names(&self) -> &[String] {
        &self.names
    }

    /// The tasks.
    pub fn task_list(&self) -> &[CoDesignTask] {
        &self.tasks
    }

    /// Puts a joint architecture together, checking every part.
    pub fn compose(&self, nets: Vec<AnyArch>, design: AcceleratorDesign, mapping: Vec<usize>) -> Result<CoDesignArch> {
        let arch = CoDesignArch::new(&self.names, nets, design, mapping);
        self.validate(&arch)?;
        Ok(arch)
    }

    fn bad(&self, notation: &str, reason: String) -> NasError {
        NasError::InvalidArchitecture { space: "codesign".into(), notation: notation.into(), reason }
    }

    fn random_mapping(&self, subs: usize, rng: &mut dyn RngCore) -> Vec<usize> {
        (0..self.tasks.len()).map(|_| rng.random_range(0..subs)).collect()
    }

    fn all(&self, c: Capability) -> bool {
        self.tasks.iter().all(|t| t.space.has(c))
    }

    fn joint(&self, nets: Vec<AnyArch>, design: AcceleratorDesign, mapping: Vec<usize>) -> CoDesignArch {
        CoDesignArch::new(&self.names, nets, design, mapping)
    }
}

impl SearchSpace for CoDesignSpace {
    type Arch = CoDesignArch;

    fn name(&self) -> &str {
        "codesign"
    }

    fn sample(&self, rng: &mut dyn RngCore) -> CoDesignArch {
        let nets = self.tasks.iter().map(|t| t.space.sample(rng)).collect();
        let design = self.hardware.sample(rng);
        let mapping = self.random_mapping(design.subs.len(), rng);
        self.joint(nets, design, mapping)
    }

    fn validate(&self, arch: &CoDesignArch) -> Result<()> {
        if arch.nets.len() != self.tasks.len() || arch.mapping.len() != self.tasks.len() {
            return Err(self.bad(&arch.notation, format!("{} tasks expected", self.tasks.len())));
        }
        for (t, n) in self.tasks.iter().zip(&arch.nets) {
            t.space.validate(n).map_err(|e| self.bad(&arch.notation, format!("task `{}`: {e}", t.name)))?;
        }
        self.hardware.check(&arch.design).map_err(|r| self.bad(&arch.notation, r))?;
        if let Some((t, m)) = self.names.iter().zip(&arch.mapping).find(|(_, m)| **m >= arch.design.subs.len()) {
            return Err(self.bad(
                &arch.notation,
                format!(
                    "task `{t}` is mapped to sub-accelerator {m}, but the design has {} (every task needs one)",
                    arch.design.subs.len()
                ),
            ));
        }
        Ok(())
    }

    fn parse(&self, notation: &str) -> Result<CoDesignArch> {
        let parts: Vec<&str> = notation.split(SEPARATOR).collect();
        let n = self.tasks.len();
        let expected = format!(
            "{}{SEPARATOR}hw=DESIGN{SEPARATOR}map=SUB,...",
            self.names.iter().map(|t| format!("{t}=NETWORK")).collect::<Vec<_>>().join(SEPARATOR)
        );
        if parts.len() != n + 2 {
            return Err(self.bad(notation, format!("{} parts separated by `{SEPARATOR}` expected: {expected}", n + 2)));
        }
        let mut nets = Vec::with_capacity(n);
        for (t, part) in self.tasks.iter().zip(&parts) {
            let net = part
                .strip_prefix(&format!("{}=", t.name))
                .ok_or_else(|| self.bad(notation, format!("`{part}` should start with `{}=`: {expected}", t.name)))?;
            nets.push(t.space.parse(net).map_err(|e| self.bad(notation, format!("task `{}`: {e}", t.name)))?);
        }
        let hw = parts[n]
            .strip_prefix("hw=")
            .ok_or_else(|| self.bad(notation, format!("`{}` should start with `hw=`", parts[n])))?;
        let design: AcceleratorDesign = hw.parse().map_err(|e| self.bad(notation, format!("{e}")))?;
        let map = parts[n + 1]
            .strip_prefix("map=")
            .ok_or_else(|| self.bad(notation, format!("`{}` should start with `map=`", parts[n + 1])))?;
        let mapping = map
            .split(',')
            .map(|m| {
                m.trim()
                    .parse::<usize>()
                    .map_err(|_| self.bad(notation, format!("`{m}` is not a sub-accelerator index")))
            })
            .collect::<Result<Vec<_>>>()?;
        let arch = self.compose(nets, design, mapping)?;
        if arch.notation != notation {
            return Err(self.bad(notation, format!("not canonical; the canonical notation is `{}`", arch.notation)));
        }
        Ok(arch)
    }

    fn size(&self) -> SpaceSize {
        let mut log = self.hardware.log10_size() + self.tasks.len() as f64 * (self.hardware.max_subs as f64).log10();
        for t in &self.tasks {
            log += match t.space.size() {
                SpaceSize::Exact(n) => (n as f64).log10(),
                SpaceSize::Log10(l) => l,
            };
        }
        SpaceSize::Log10(log)
    }
}

impl Mutate for CoDesignSpace {
    /// Changes one part, chosen uniformly: a task's network (its space's
    /// mutation, or a new sample), the hardware (one parameter, or a
    /// sub-accelerator added or removed; tasks of a removed one are remapped), or
    /// one task's mapping (when there are several sub-accelerators).
    fn mutate(&self, arch: &CoDesignArch, rng: &mut dyn RngCore) -> CoDesignArch {
        for _ in 0..100 {
            let (mut nets, mut design, mut mapping) = (arch.nets.clone(), arch.design.clone(), arch.mapping.clone());
            let parts = self.tasks.len() + 1 + usize::from(design.subs.len() > 1);
            let k = rng.random_range(0..parts);
            if k < self.tasks.len() {
                let s = &self.tasks[k].space;
                nets[k] = if s.has(Capability::Mutate) { s.mutate(&nets[k], rng) } else { s.sample(rng) };
            } else if k == self.tasks.len() {
                design = self.hardware.mutate(&design, rng);
                for m in &mut mapping {
                    if *m >= design.subs.len() {
                        *m = rng.random_range(0..design.subs.len());
                    }
                }
            } else {
                let t = rng.random_range(0..mapping.len());
                let v = rng.random_range(0..design.subs.len() - 1);
                mapping[t] = if v >= mapping[t] { v + 1 } else { v };
            }
            let out = self.joint(nets, design, mapping);
            if out != *arch {
                return out;
            }
        }
        self.sample(rng)
    }
}

impl Crossover for CoDesignSpace {
    /// Each task's network from either parent (or their crossover, when its
    /// space has one); the hardware with its mapping from either parent, its
    /// parameters mixed sub-accelerator by sub-accelerator when both parents
    /// have as many (kept only when the mix stays within the budgets).
    fn crossover(&self, a: &CoDesignArch, b: &CoDesignArch, rng: &mut dyn RngCore) -> CoDesignArch {
        let nets = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.space.has(Capability::Crossover) && rng.random_bool(0.5) {
                    t.space.crossover(&a.nets[i], &b.nets[i], rng)
                } else if rng.random_bool(0.5) {
                    b.nets[i].clone()
                } else {
                    a.nets[i].clone()
                }
            })
            .collect();
        let (base, other) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
        let mut design = base.design.clone();
        if other.design.subs.len() == design.subs.len() {
            let hw = &self.hardware;
            let mixed = AcceleratorDesign {
                subs: design
                    .subs
                    .iter()
                    .zip(&other.design.subs)
                    .map(|(x, y)| {
                        let (gx, gy) = (hw.genes(x).expect("design of this space"), hw.genes(y).expect("design"));
                        hw.sub(&std::array::from_fn(|p| if rng.random_bool(0.5) { gy[p] } else { gx[p] }))
                    })
                    .collect(),
            };
            if hw.check(&mixed).is_ok() {
                design = mixed;
            }
        }
        self.joint(nets, design, base.mapping.clone())
    }
}

impl Encode for CoDesignSpace {
    fn encoding_len(&self) -> usize {
        self.tasks.iter().map(|t| t.space.encoding_len()).sum::<usize>()
            + self.hardware.encoding_len()
            + self.tasks.len() * self.hardware.max_subs
    }

    /// The tasks' encodings, the design's one-hot, and a one-hot of each
    /// task's sub-accelerator.
    fn encode(&self, arch: &CoDesignArch) -> Vec<f32> {
        let mut out: Vec<f32> = self.tasks.iter().zip(&arch.nets).flat_map(|(t, n)| t.space.encode(n)).collect();
        out.extend(self.hardware.encode(&arch.design));
        for &m in &arch.mapping {
            out.extend((0..self.hardware.max_subs).map(|i| if i == m { 1.0 } else { 0.0 }));
        }
        out
    }
}

impl Decisions for CoDesignSpace {
    /// Every task's decisions (group `network`), the design's (group
    /// `hardware`), and one `<task> runs on` decision per task (group
    /// `hardware`) whose index counts among the used sub-accelerators modulo
    /// their number, so every sequence within the budgets is a valid design.
    fn decisions(&self) -> Vec<Decision> {
        self.decisions.as_ref().map(|(d, _)| d.clone()).unwrap_or_default()
    }

    fn arch_from_decisions(&self, choices: &[usize]) -> Result<CoDesignArch> {
        let (decisions, counts) = self
            .decisions
            .as_ref()
            .ok_or_else(|| self.bad(&format!("{choices:?}"), "a task's space has no decisions".into()))?;
        check_choices("codesign", decisions, choices)?;
        let mut at = 0;
        let mut nets = Vec::with_capacity(self.tasks.len());
        for (t, &n) in self.tasks.iter().zip(counts) {
            nets.push(t.space.arch_from_decisions(&choices[at..at + n])?);
            at += n;
        }
        let hw = self.hardware.decision_count();
        let design = self.hardware.design_from(&choices[at..at + hw]);
        at += hw;
        let mapping = choices[at..].iter().map(|&m| m % design.subs.len()).collect();
        self.compose(nets, design, mapping)
    }

    fn decisions_of(&self, arch: &CoDesignArch) -> Vec<usize> {
        let mut out: Vec<usize> =
            self.tasks.iter().zip(&arch.nets).flat_map(|(t, n)| t.space.decisions_of(n)).collect();
        out.extend(self.hardware.decisions_of(&arch.design));
        out.extend(&arch.mapping);
        out
    }
}

impl DynCoDesign for CoDesignSpace {
    fn tasks(&self) -> Vec<CoDesignTask> {
        self.tasks.clone()
    }

    fn view(&self, arch: &AnyArch) -> Result<CoDesignView> {
        let a = arch
            .downcast_ref::<CoDesignArch>()
            .ok_or_else(|| self.bad(arch.notation_str(), "not an architecture of the codesign space".into()))?;
        Ok(CoDesignView { nets: a.nets.clone(), design: a.design.clone(), mapping: a.mapping.clone() })
    }
}

/// Capabilities follow the tasks' spaces: mutation, crossover and the
/// `codesign` view always; encodings and decisions when every task's space has
/// them.
impl Capabilities for CoDesignSpace {
    fn as_mutate(&self) -> Option<&dyn Mutate<Arch = Self::Arch>> {
        Some(self)
    }
    fn as_crossover(&self) -> Option<&dyn Crossover<Arch = Self::Arch>> {
        Some(self)
    }
    fn as_encode(&self) -> Option<&dyn Encode<Arch = Self::Arch>> {
        self.all(Capability::Encode).then_some(self as _)
    }
    fn as_decisions(&self) -> Option<&dyn Decisions<Arch = Self::Arch>> {
        self.all(Capability::Decisions).then_some(self as _)
    }
    fn as_codesign(&self) -> Option<&dyn DynCoDesign> {
        Some(self)
    }
}

/// The tasks of a space for tests and tools: `(name, space)` pairs.
pub fn tasks_of(pairs: Vec<(&str, DynSpace)>) -> Vec<CoDesignTask> {
    pairs.into_iter().map(|(n, s)| CoDesignTask { name: n.into(), space: s }).collect()
}
