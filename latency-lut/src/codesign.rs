//! The `codesign` evaluator: accuracy of each task's network (from a benchmark
//! table per task) and the latency, energy, area and PE utilisation of the
//! whole heterogeneous accelerator running them ([`crate::accel`]), for spaces
//! with the `codesign` capability.

use crate::accel::{AcceleratorModel, SystemReport};
use crate::area::AreaChoice;
use crate::energy::TechnologyChoice;
use nas_core::hardware::{CoDesignView, DynCoDesign};
use nas_core::registry::{BuiltEvaluator, EvaluatorContext, LatencySource};
use nas_core::table_settings::TableSettings;
use nas_core::{
    AnyArch, Capability, EvalContext, EvalError, Evaluator, EvaluatorSettings, Metric, MetricMap, NasError,
    NetworkSpec, SearchSpace, ToNetworkSpec,
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

fn one() -> usize {
    1
}

/// Settings of the `codesign` evaluator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoDesignSettings {
    /// One accuracy table per task, in the space's task order (each a `table`
    /// evaluator section without `kind`, e.g. `{ path = "builtin:nb201",
    /// accuracy = "cifar100_test_acc" }`); empty: no `accuracy`.
    #[serde(default)]
    pub tasks: Vec<TableSettings>,
    /// Weight of each task in `accuracy` (the weighted mean of the tasks'
    /// accuracies); default equal weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    /// Per-access energies (default `horowitz45`).
    #[serde(default)]
    pub technology: TechnologyChoice,
    /// Area constants (default `horowitz45`; see `latency_lut::area`).
    #[serde(default)]
    pub area: AreaChoice,
    /// Inputs per inference (default 1).
    #[serde(default = "one")]
    pub batch: usize,
    /// Hard area budget in mm²: larger designs are infeasible (failed trials
    /// with the reason). Use an `area_mm2 <= A` constraint for a spec the
    /// search should steer towards instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_area_mm2: Option<f64>,
}

impl Default for CoDesignSettings {
    fn default() -> Self {
        CoDesignSettings {
            tasks: Vec::new(),
            weights: Vec::new(),
            technology: TechnologyChoice::default(),
            area: AreaChoice::default(),
            batch: 1,
            max_area_mm2: None,
        }
    }
}

impl CoDesignSettings {
    /// The accelerator model of these settings (technology, area constants,
    /// batch).
    pub fn model(&self) -> nas_core::Result<AcceleratorModel> {
        Ok(AcceleratorModel::new(self.technology.clone(), self.area.resolve()?, self.batch)?)
    }
}

/// Prices a joint architecture: the system report (with per-layer reports
/// when `layers`), or why it is infeasible.
pub fn system_report(
    model: &AcceleratorModel,
    codesign: &dyn DynCoDesign,
    arch: &AnyArch,
    layers: bool,
) -> Result<(CoDesignView, SystemReport), EvalError> {
    let view = codesign.view(arch)?;
    let tasks = codesign.tasks();
    let nets: Vec<(String, NetworkSpec)> =
        tasks.iter().zip(&view.nets).map(|(t, n)| (t.name.clone(), t.space.network_spec(n))).collect();
    let report = if layers {
        model.system(&view.design, &view.mapping, &nets)
    } else {
        model.system_totals(&view.design, &view.mapping, &nets)
    }
    .map_err(|e| EvalError::Failed { reason: e.0 })?;
    Ok((view, report))
}

struct CoDesignEvaluator {
    model: AcceleratorModel,
    space: nas_core::DynSpace,
    tables: Vec<Arc<dyn Evaluator<AnyArch>>>,
    weights: Vec<f64>,
    max_area_mm2: Option<f64>,
    provides: Vec<Metric>,
}

impl Evaluator<AnyArch> for CoDesignEvaluator {
    fn name(&self) -> String {
        format!("codesign({} tasks, area {})", self.tables.len(), self.model.area().name)
    }
    fn provides(&self) -> Vec<Metric> {
        self.provides.clone()
    }
    fn is_cheap(&self) -> bool {
        true
    }
    fn evaluate(&self, arch: &AnyArch, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let codesign = self.space.codesign().ok_or_else(|| EvalError::Fatal(missing(&self.space)))?;
        let (view, report) = system_report(&self.model, codesign, arch, false)?;
        if let Some(max) = self.max_area_mm2.filter(|m| report.area_mm2 > *m) {
            return Err(EvalError::Failed {
                reason: format!("area {:.3} mm² is over the area budget of {max} mm²", report.area_mm2),
            });
        }
        let mut out = MetricMap::new();
        for m in [Metric::LatencyMs, Metric::EnergyMj, Metric::AreaMm2, Metric::PeUtilisation] {
            out.insert(m, report.metric(m).unwrap_or(f64::NAN));
        }
        if !self.tables.is_empty() {
            let mut acc = 0.0;
            for ((t, net), w) in self.tables.iter().zip(&view.nets).zip(&self.weights) {
                let a = t.evaluate(net, ctx)?;
                acc += w * a.get(&Metric::Accuracy).copied().unwrap_or(f64::NAN);
            }
            out.insert(Metric::Accuracy, acc);
        }
        Ok(out)
    }
}

fn missing(space: &nas_core::DynSpace) -> NasError {
    NasError::MissingCapability {
        space: space.name().to_string(),
        capability: Capability::CoDesign.describe().to_string(),
        user: "evaluator `codesign`".into(),
        alternatives: vec![],
    }
}

impl EvaluatorSettings for CoDesignSettings {
    const NAME: &'static str = "codesign";
    const DESCRIPTION: &'static str =
        "accuracy per task (tables) and latency, energy, area, PE utilisation of a heterogeneous accelerator";

    fn validate(&self) -> nas_core::Result<()> {
        self.model()?;
        for (i, t) in self.tasks.iter().enumerate() {
            if t.accuracy.is_none() || t.device.is_some() {
                return Err(NasError::InvalidValue {
                    field: format!("tasks[{i}].accuracy"),
                    value: t.accuracy.clone().unwrap_or_else(|| "(missing)".into()),
                    allowed: "an accuracy column of the task's table (and no `device`: the hardware is modelled)"
                        .into(),
                });
            }
            t.validate().map_err(|e| match e {
                NasError::InvalidValue { field, value, allowed } => {
                    NasError::InvalidValue { field: format!("tasks[{i}].{field}"), value, allowed }
                }
                other => other,
            })?;
        }
        if !self.weights.is_empty()
            && (self.weights.len() != self.tasks.len()
                || self.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
                || self.weights.iter().sum::<f64>() <= 0.0)
        {
            return Err(NasError::InvalidValue {
                field: "weights".into(),
                value: format!("{:?}", self.weights),
                allowed: format!("one finite weight >= 0 per task ({} tasks), not all zero", self.tasks.len()),
            });
        }
        if let Some(a) = self.max_area_mm2.filter(|a| !(a.is_finite() && *a > 0.0)) {
            return Err(NasError::InvalidValue {
                field: "max_area_mm2".into(),
                value: a.to_string(),
                allowed: "a positive area in mm²".into(),
            });
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        let mut m = vec![Metric::LatencyMs, Metric::EnergyMj, Metric::AreaMm2, Metric::PeUtilisation];
        if !self.tasks.is_empty() {
            m.insert(0, Metric::Accuracy);
        }
        m
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::CoDesign]
    }

    fn resolve_paths(&mut self, base: &Path) {
        for t in &mut self.tasks {
            t.resolve_paths(base);
        }
    }

    fn for_reports(&self) -> bool {
        true
    }

    fn latency_source(&self) -> LatencySource {
        LatencySource::Modelled { source: "codesign (systolic sub-accelerators)".into() }
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> nas_core::Result<BuiltEvaluator> {
        let codesign = ctx.space.codesign().ok_or_else(|| missing(ctx.space))?;
        let tasks = codesign.tasks();
        if !self.tasks.is_empty() && self.tasks.len() != tasks.len() {
            return Err(NasError::InvalidValue {
                field: "tasks".into(),
                value: format!("{} tables", self.tasks.len()),
                allowed: format!(
                    "one table per task of the space ({}: {})",
                    tasks.len(),
                    tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let mut tables = Vec::new();
        let mut warnings = Vec::new();
        for (i, (settings, task)) in self.tasks.iter().zip(&tasks).enumerate() {
            let sub = EvaluatorContext { space: &task.space, problem: ctx.problem, data: None, data_dir: ctx.data_dir };
            let built = settings.build(&sub).map_err(|e| match e {
                NasError::InvalidValue { field, value, allowed } => {
                    NasError::InvalidValue { field: format!("tasks[{i}].{field}"), value, allowed }
                }
                other => other,
            })?;
            warnings.extend(built.warnings.into_iter().map(|w| format!("task `{}`: {w}", task.name)));
            tables.push(built.evaluator);
        }
        let n = tables.len().max(1) as f64;
        let weights = if self.weights.is_empty() {
            vec![1.0 / n; tables.len()]
        } else {
            let sum: f64 = self.weights.iter().sum();
            self.weights.iter().map(|w| w / sum).collect()
        };
        let evaluator = CoDesignEvaluator {
            model: self.model()?,
            space: ctx.space.clone(),
            tables,
            weights,
            max_area_mm2: self.max_area_mm2,
            provides: self.provides(),
        };
        let mut built = BuiltEvaluator::new(Arc::new(evaluator));
        built.warnings = warnings;
        Ok(built)
    }
}
