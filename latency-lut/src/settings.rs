//! The hardware evaluators as registry components: `lut`, `measured`, `energy`
//! and `systolic` (see `nas_core::registry`).

use crate::LutError;
use crate::energy::{EnergyModel, TechnologyChoice};
use crate::fingerprint::DeviceFingerprint;
use crate::lut::{CoverageOptions, LatencyTable, LutLatency, SpaceId};
use crate::measure::Protocol;
use crate::measured::MeasuredLatency;
use crate::systolic::{SystolicArray, SystolicConfig};
use nas_core::registry::{BuiltEvaluator, EvaluatorContext, LatencySource};
use nas_core::{
    Capability, CostEvaluator, CostModel, CostModelSettings, DynSpace, EvaluatorSettings, Metric, NasError, SearchSpace,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = base.join(&*p);
    }
}

/// Settings of the `lut` evaluator: `latency_ms` from a latency table measured
/// on this machine (`hwnas lut build`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LutSettings {
    /// The table file (relative paths are relative to the config file).
    pub path: PathBuf,
    /// Batch size the table must have been measured at (default: any).
    #[serde(default)]
    pub batch: Option<usize>,
}

/// Loads a table for a search of `space` and checks it: same space (name and
/// settings: every layer of the space present), batch (when given). Returns the
/// table and the warnings about a different measuring machine or setup.
pub fn load_lut_for(
    path: &Path,
    space: &DynSpace,
    batch: Option<usize>,
) -> Result<(Arc<LatencyTable>, Vec<String>), LutError> {
    let table = LatencyTable::load(path).map_err(|e| {
        if path.exists() {
            e
        } else {
            LutError::Backend(format!(
                "{}: no such latency table; build it with `hwnas lut build --config <this config> --out {}` (this \
                 config's space is {})",
                path.display(),
                path.display(),
                space.name()
            ))
        }
    })?;
    if table.space.name != space.name() {
        return Err(LutError::SpaceMismatch {
            path: path.into(),
            found: table.space.describe(),
            expected: space.name().into(),
        });
    }
    if let Some(b) = batch
        && b != table.batch
    {
        return Err(LutError::BatchMismatch { path: path.into(), found: table.batch, expected: b });
    }
    if let Err(e) = table.check_covers(space, &CoverageOptions::default()) {
        return Err(LutError::Backend(format!(
            "{}: latency table was built for space {}, which is not this config's {} space ({e})",
            path.display(),
            table.space.describe(),
            SpaceId::new(space.name(), space.settings()).describe()
        )));
    }
    let here = DeviceFingerprint::current(&table.protocol);
    let diffs = table.device.differences(&here);
    let mut warnings = Vec::new();
    if !diffs.is_empty() {
        warnings.push(format!(
            "{} was measured on another machine or setup: {}; its latencies may not hold here",
            path.display(),
            diffs.join("; ")
        ));
    }
    if let Some(w) = table.stability.as_ref().and_then(|s| s.warning(&path.display().to_string())) {
        warnings.push(w);
    }
    Ok((Arc::new(table), warnings))
}

impl EvaluatorSettings for LutSettings {
    const NAME: &'static str = "lut";
    const DESCRIPTION: &'static str = "latency_ms from a latency table measured on this machine (`hwnas lut build`)";

    fn validate(&self) -> nas_core::Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(NasError::InvalidValue {
                field: "path".into(),
                value: "(empty)".into(),
                allowed: "the table file written by `hwnas lut build`".into(),
            });
        }
        if self.batch == Some(0) {
            return Err(NasError::InvalidValue {
                field: "batch".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::NetworkSpec]
    }

    fn resolve_paths(&mut self, base: &Path) {
        resolve(base, &mut self.path);
    }

    fn latency_source(&self) -> LatencySource {
        LatencySource::ThisMachine {
            source: format!("lut({})", self.path.display()),
            batch: self.batch.unwrap_or(1),
            threads: 1,
            lut: Some(self.path.clone()),
        }
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> nas_core::Result<BuiltEvaluator> {
        let (table, warnings) = load_lut_for(&self.path, ctx.space, self.batch)?;
        let model = Arc::new(LutLatency::new(table));
        let mut built = BuiltEvaluator::new(Arc::new(CostEvaluator::new(Arc::new(ctx.space.clone()), model)));
        built.warnings = warnings;
        Ok(built)
    }
}

fn one() -> usize {
    1
}

/// Settings of the `measured` evaluator: `latency_ms` measured end to end with
/// burn on this machine (slow, exact).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredSettings {
    /// Inputs per forward pass.
    #[serde(default = "one")]
    pub batch: usize,
    /// Threads of the timing (1 is the most reproducible).
    #[serde(default = "one")]
    pub threads: usize,
}

impl MeasuredSettings {
    /// The timing protocol of these settings.
    pub fn protocol(&self) -> Protocol {
        Protocol { batch: self.batch, threads: self.threads, ..Protocol::default() }
    }
}

impl EvaluatorSettings for MeasuredSettings {
    const NAME: &'static str = "measured";
    const DESCRIPTION: &'static str = "latency_ms measured end to end with burn on this machine (slow, exact)";

    fn validate(&self) -> nas_core::Result<()> {
        // The protocol names its fields `protocol.<field>`; here they are the section's own.
        self.protocol().validate().map_err(|e| match NasError::from(e) {
            NasError::InvalidValue { field, value, allowed } => NasError::InvalidValue {
                field: field.strip_prefix("protocol.").unwrap_or(&field).to_string(),
                value,
                allowed,
            },
            other => other,
        })
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Train]
    }

    fn latency_source(&self) -> LatencySource {
        LatencySource::ThisMachine {
            source: format!("measured(batch {}, {} thread(s))", self.batch, self.threads),
            batch: self.batch,
            threads: self.threads,
            lut: None,
        }
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> nas_core::Result<BuiltEvaluator> {
        Ok(BuiltEvaluator::new(Arc::new(MeasuredLatency::new(ctx.space.clone(), self.protocol())?)))
    }
}

fn default_buffer_kib() -> f64 {
    512.0
}

/// Settings of the `energy` evaluator: `energy_mj` from the analytical model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergySettings {
    /// `horowitz45` (default), `eyeriss65`, or a table of energies.
    #[serde(default)]
    pub technology: TechnologyChoice,
    /// On-chip buffer in KiB.
    #[serde(default = "default_buffer_kib")]
    pub buffer_kib: f64,
    /// Inputs per inference.
    #[serde(default = "one")]
    pub batch: usize,
}

impl CostModelSettings for EnergySettings {
    const NAME: &'static str = "energy";
    const DESCRIPTION: &'static str = "energy_mj from MACs and memory traffic per level (Horowitz 2014, Eyeriss 2016)";
    fn model(&self) -> nas_core::Result<Arc<dyn CostModel>> {
        Ok(Arc::new(EnergyModel::new(self.technology.resolve()?, self.buffer_kib, self.batch)?))
    }
}

impl CostModelSettings for SystolicConfig {
    const NAME: &'static str = "systolic";
    const DESCRIPTION: &'static str =
        "latency_ms, energy_mj and/or pe_utilisation of a systolic array (ws, os, rs dataflows)";
    fn model(&self) -> nas_core::Result<Arc<dyn CostModel>> {
        Ok(Arc::new(SystolicArray::new(self.clone())?))
    }
    fn latency_source(&self) -> LatencySource {
        match SystolicArray::new(self.clone()) {
            Ok(a) if a.provides().contains(&Metric::LatencyMs) => LatencySource::Modelled { source: a.name() },
            _ => LatencySource::None,
        }
    }
}
