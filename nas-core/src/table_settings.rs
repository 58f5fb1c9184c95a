//! The `table` and `device` evaluators: benchmark tables as config components.
//!
//! `table` maps a CSV file's columns to metrics (`accuracy` = a column,
//! `device` = the `<device>_ms` column as `latency_ms`); `device` is the latency
//! column of one device of the shipped NAS-Bench-201 table. When a table covers
//! the whole space and every metric of the problem, the run knows the true Pareto
//! front and reports HV ratios against it.

use crate::error::{NasError, Result};
use crate::fidelity::MultiFidelityTable;
use crate::metric::{Metric, Problem};
use crate::registry::{BuiltEvaluator, EvaluatorContext, EvaluatorSettings, LatencySource};
use crate::space::{SearchSpace, SpaceSize};
use crate::table::{MetricTable, TableEvaluator};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The built-in tables: `builtin:<name>` and their file under the data folder.
pub const BUILTIN_TABLES: [(&str, &str); 2] = [
    ("builtin:nb201", "nb201/nb201_cifar_accuracy_and_latency.csv.gz"),
    ("builtin:nb201-12epoch", "nb201/nb201_12epoch_accuracy.csv.gz"),
];

/// The file of a table path: a built-in name under `data_dir`, or the path itself.
pub fn table_file(path: &str, data_dir: &Path) -> Result<PathBuf> {
    if !path.starts_with("builtin:") {
        return Ok(PathBuf::from(path));
    }
    BUILTIN_TABLES.iter().find(|(n, _)| *n == path).map(|(_, f)| data_dir.join(f)).ok_or_else(|| {
        NasError::InvalidValue {
            field: "path".into(),
            value: path.into(),
            allowed: format!(
                "a built-in table ({}) or a CSV file path",
                BUILTIN_TABLES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        }
    })
}

fn default_table() -> String {
    "builtin:nb201".into()
}

/// Settings of the `table` evaluator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    /// `builtin:nb201` (the shipped NAS-Bench-201 table) or a CSV path (relative
    /// paths are relative to the config file).
    #[serde(default = "default_table")]
    pub path: String,
    /// Column giving `accuracy` (e.g. `cifar10_test_acc`).
    #[serde(default)]
    pub accuracy: Option<String>,
    /// Device whose `<device>_ms` column gives `latency_ms` (e.g. `fpga`).
    #[serde(default)]
    pub device: Option<String>,
    /// How the accuracy column is written: `percent` (0..100, default) or
    /// `fraction` (0..1, multiplied by 100).
    #[serde(default)]
    pub accuracy_scale: AccuracyScale,
    /// What to do with rows whose used values are outside their metric's domain
    /// (empty, `nan`, a negative latency, an accuracy above 100...): `refuse`
    /// the table (default) or `skip` those rows (counted in a warning).
    #[serde(default)]
    pub on_invalid: OnInvalid,
    /// Epochs of training behind the table's accuracies (200 for the
    /// NAS-Bench-201 table); needed with `low_fidelity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u32>,
    /// Tables of shorter training schedules, for multi-fidelity schedulers
    /// (e.g. `[{ epochs = 12, path = "builtin:nb201-12epoch", accuracy =
    /// "cifar10_test_acc_12ep" }]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub low_fidelity: Vec<LowFidelityTable>,
}

/// A table of a shorter training schedule (its accuracy column replaces the
/// main table's at its budget).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowFidelityTable {
    /// Epochs of training behind it.
    pub epochs: u32,
    /// `builtin:nb201-12epoch` or a CSV path.
    pub path: String,
    /// Its accuracy column.
    pub accuracy: String,
}

/// How a table writes accuracies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyScale {
    /// Percent, 0..100.
    #[default]
    Percent,
    /// A fraction, 0..1.
    Fraction,
}

/// What happens to table rows with values outside their metric's domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    /// The table is refused, naming the file, line, column and value.
    #[default]
    Refuse,
    /// Those rows are left out, and counted in a warning.
    Skip,
}

/// The feasible Pareto front (minimisation form) of a whole table.
pub fn table_front(problem: &Problem, eval: &TableEvaluator) -> Vec<Vec<f64>> {
    let pts: Vec<Vec<f64>> = eval
        .table()
        .rows()
        .map(|(_, row)| eval.row_metrics(row))
        .filter(|m| problem.violation(m) == 0.0)
        .filter_map(|m| problem.min_vector(&m))
        .collect();
    crate::pareto::pareto_front_indices(&pts).into_iter().map(|i| pts[i].clone()).collect()
}

/// The metric-to-column mapping of `accuracy` / `device`, checked against the table.
fn mapping_of(table: &MetricTable, accuracy: Option<&str>, device: Option<&str>) -> Result<Vec<(Metric, String)>> {
    let mut out = Vec::new();
    if let Some(col) = accuracy {
        table.column(col).map_err(|_| NasError::InvalidValue {
            field: "accuracy".into(),
            value: col.into(),
            allowed: format!(
                "an accuracy column of {}: {}",
                table.path().display(),
                table.accuracy_columns().join(", ")
            ),
        })?;
        out.push((Metric::Accuracy, col.to_string()));
    }
    if let Some(dev) = device {
        let col = format!("{dev}_ms");
        table.column(&col).map_err(|_| NasError::InvalidValue {
            field: "device".into(),
            value: dev.into(),
            allowed: format!(
                "a device with a `_ms` column in {}: {}",
                table.path().display(),
                table.devices().join(", ")
            ),
        })?;
        out.push((Metric::LatencyMs, col));
    }
    Ok(out)
}

/// Builds the table evaluator of `mapping` after checking the values it uses
/// against their metrics' domains (refusing the table or leaving the rows out,
/// as `on_invalid` says), with its latency part as the cheap evaluator and the
/// true front when the table covers the space and the problem.
fn build_table(
    ctx: &EvaluatorContext<'_>,
    table: MetricTable,
    mapping: &[(Metric, String)],
    accuracy_scale: f64,
    on_invalid: OnInvalid,
) -> Result<BuiltEvaluator> {
    let pairs: Vec<(Metric, &str)> = mapping.iter().map(|(m, c)| (*m, c.as_str())).collect();
    let scaled = TableEvaluator::new(Arc::new(table.clone()), &pairs)?.with_scale(Metric::Accuracy, accuracy_scale);
    let invalid = table.invalid_cells(scaled.mapping());
    let mut warnings = Vec::new();
    let table = match (invalid.first(), on_invalid) {
        (None, _) => Arc::new(table),
        (Some(first), OnInvalid::Refuse) => {
            let more = match invalid.len() {
                1 => String::new(),
                n => format!(" ({} more such cells)", n - 1),
            };
            return Err(NasError::Format {
                path: table.path().into(),
                line: first.line,
                reason: format!(
                    "column `{}`: {} is outside the domain of {}: {}{more}; fix the table, or set \
                     on_invalid = \"skip\" to leave such rows out",
                    first.column,
                    if first.value.is_nan() { "an empty or nan cell".to_string() } else { first.value.to_string() },
                    first.metric,
                    first.metric.domain().describe()
                ),
            });
        }
        (Some(first), OnInvalid::Skip) => {
            let rows: std::collections::BTreeSet<usize> = invalid.iter().map(|c| c.row).collect();
            let kept = table.without_rows(&rows);
            if kept.is_empty() {
                return Err(NasError::Format {
                    path: table.path().into(),
                    line: first.line,
                    reason: format!("every row has a value outside its domain (first: {first})"),
                });
            }
            warnings.push(format!(
                "{}: skipped {} of {} rows with values outside their domain (first: {first})",
                table.path().display(),
                rows.len(),
                table.len()
            ));
            Arc::new(kept)
        }
    };
    let eval = TableEvaluator::new(table.clone(), &pairs)?.with_scale(Metric::Accuracy, accuracy_scale);
    let covers_space = ctx.space.size() == SpaceSize::Exact(table.len() as u128);
    let covers_metrics = ctx.problem.metrics().iter().all(|m| pairs.iter().any(|(p, _)| p == m));
    let true_front = (covers_space && covers_metrics).then(|| table_front(ctx.problem, &eval));
    // Guided strategies may query a table's latency freely, never its accuracy.
    let cheap = match pairs.iter().find(|(m, _)| *m == Metric::LatencyMs) {
        Some((m, c)) => Some(Arc::new(TableEvaluator::new(table.clone(), &[(*m, c)])?) as _),
        None => None,
    };
    Ok(BuiltEvaluator { evaluator: Arc::new(eval), cheap, true_front, warnings })
}

impl EvaluatorSettings for TableSettings {
    const NAME: &'static str = "table";
    const DESCRIPTION: &'static str = "metrics from a benchmark CSV (`arch` column in the space's notation)";

    fn validate(&self) -> Result<()> {
        if self.accuracy.is_none() && self.device.is_none() {
            return Err(NasError::InvalidValue {
                field: "accuracy".into(),
                value: "(missing)".into(),
                allowed: "a table evaluator needs `accuracy` (a column) and/or `device`".into(),
            });
        }
        table_file(&self.path, Path::new(""))?;
        if self.low_fidelity.is_empty() {
            return Ok(());
        }
        let Some(epochs) = self.epochs else {
            return Err(NasError::InvalidValue {
                field: "epochs".into(),
                value: "(missing)".into(),
                allowed: "the epochs of training behind the table's accuracies (e.g. 200), needed with \
                          `low_fidelity`"
                    .into(),
            });
        };
        if self.accuracy.is_none() {
            return Err(NasError::InvalidValue {
                field: "accuracy".into(),
                value: "(missing)".into(),
                allowed: "an accuracy column: `low_fidelity` tables replace it at their budget".into(),
            });
        }
        let mut seen = Vec::new();
        for (i, l) in self.low_fidelity.iter().enumerate() {
            if l.epochs == 0 || l.epochs >= epochs || seen.contains(&l.epochs) {
                return Err(NasError::InvalidValue {
                    field: format!("low_fidelity[{i}].epochs"),
                    value: l.epochs.to_string(),
                    allowed: format!("from 1 to {} (below `epochs`), each budget once", epochs - 1),
                });
            }
            seen.push(l.epochs);
            table_file(&l.path, Path::new("")).map_err(|e| match e {
                NasError::InvalidValue { value, allowed, .. } => {
                    NasError::InvalidValue { field: format!("low_fidelity[{i}].path"), value, allowed }
                }
                other => other,
            })?;
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        if self.accuracy.is_some() {
            out.push(Metric::Accuracy);
        }
        if self.device.is_some() {
            out.push(Metric::LatencyMs);
        }
        out
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut String| {
            if !p.starts_with("builtin:") && !Path::new(p.as_str()).is_absolute() {
                *p = base.join(p.as_str()).display().to_string();
            }
        };
        resolve(&mut self.path);
        for l in &mut self.low_fidelity {
            resolve(&mut l.path);
        }
    }

    fn for_reports(&self) -> bool {
        true
    }

    fn latency_source(&self) -> LatencySource {
        match &self.device {
            None => LatencySource::None,
            Some(d) => LatencySource::Elsewhere {
                reason: format!(
                    "latency_ms of this run comes from the `{d}` column of a benchmark table: that device is not \
                     this machine, so re-measuring here would compare different hardware"
                ),
            },
        }
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator> {
        let file = table_file(&self.path, ctx.data_dir)?;
        let table = MetricTable::load(&file, ctx.space)?;
        let mapping = mapping_of(&table, self.accuracy.as_deref(), self.device.as_deref())?;
        let scale = match self.accuracy_scale {
            AccuracyScale::Percent => 1.0,
            AccuracyScale::Fraction => 100.0,
        };
        let mut built = build_table(ctx, table, &mapping, scale, self.on_invalid)?;
        if let Some(epochs) = self.epochs {
            let mut low = Vec::new();
            for (i, l) in self.low_fidelity.iter().enumerate() {
                let file = table_file(&l.path, ctx.data_dir)?;
                let t = MetricTable::load(&file, ctx.space)?;
                let m = mapping_of(&t, Some(&l.accuracy), None)
                    .map_err(|e| prefix_field(e, &format!("low_fidelity[{i}]")))?;
                let part = build_table(ctx, t, &m, scale, self.on_invalid)?;
                built.warnings.extend(part.warnings);
                low.push((l.epochs, part.evaluator));
            }
            built.evaluator = Arc::new(MultiFidelityTable::new(built.evaluator, epochs, low));
        }
        Ok(built)
    }
}

/// `e` with its field named inside `section` (e.g. `low_fidelity[0].accuracy`).
fn prefix_field(e: NasError, section: &str) -> NasError {
    match e {
        NasError::InvalidValue { field, value, allowed } => {
            NasError::InvalidValue { field: format!("{section}.{field}"), value, allowed }
        }
        other => other,
    }
}

/// Settings of the `device` evaluator: `latency_ms` from one device column of the
/// built-in NAS-Bench-201 table (`eyeriss`, `fpga`, `pixel3`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    /// Device name (see `hwnas list`).
    pub name: String,
}

impl EvaluatorSettings for DeviceSettings {
    const NAME: &'static str = "device";
    const DESCRIPTION: &'static str = "latency_ms of one device column of the built-in NAS-Bench-201 table";

    fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(NasError::InvalidValue {
                field: "name".into(),
                value: "(empty)".into(),
                allowed: "a device, e.g. \"pixel3\" (see `hwnas list`)".into(),
            });
        }
        Ok(())
    }

    fn provides(&self) -> Vec<Metric> {
        vec![Metric::LatencyMs]
    }

    fn latency_source(&self) -> LatencySource {
        TableSettings {
            path: default_table(),
            accuracy: None,
            device: Some(self.name.clone()),
            accuracy_scale: AccuracyScale::Percent,
            on_invalid: OnInvalid::Refuse,
            epochs: None,
            low_fidelity: Vec::new(),
        }
        .latency_source()
    }

    fn build(&self, ctx: &EvaluatorContext<'_>) -> Result<BuiltEvaluator> {
        if ctx.space.name() != "nb201" {
            return Err(NasError::InvalidValue {
                field: "name".into(),
                value: self.name.clone(),
                allowed: format!(
                    "device tables cover the NAS-Bench-201 space only (this run searches `{}`); use a `lut`, \
                     `measured`, `systolic` or `predictor` evaluator",
                    ctx.space.name()
                ),
            });
        }
        let file = table_file(&default_table(), ctx.data_dir)?;
        let table = MetricTable::load(&file, ctx.space)?;
        let mapping = mapping_of(&table, None, Some(&self.name))?;
        build_table(ctx, table, &mapping, 1.0, OnInvalid::Refuse)
    }
}
