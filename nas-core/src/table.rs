//! Benchmark tables: metrics of architectures read from a CSV file.
//!
//! A table has an `arch` column (the space's native notation) and any number of
//! numeric columns. Accuracy columns end in `_acc` (percent), device latencies in
//! `_ms`, energies in `_mj`. The NAS-Bench-201 table shipped in `data/nb201/` is one
//! such file; users bring their own measurements in the same shape. Files may be
//! gzip-compressed (`.gz`).

use crate::arch::{ArchId, Architecture};
use crate::error::{NasError, Result};
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::metric::{Metric, MetricMap};
use crate::space::SearchSpace;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A metric table keyed by architecture id.
#[derive(Debug, Clone)]
pub struct MetricTable {
    path: PathBuf,
    columns: Vec<String>,
    rows: HashMap<ArchId, usize>,
    notations: Vec<String>,
    values: Vec<Vec<f64>>,
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| NasError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).map_err(|e| NasError::io(path, e))?;
        Ok(s)
    } else {
        String::from_utf8(bytes).map_err(|e| NasError::Format {
            path: path.into(),
            line: 0,
            reason: format!("not UTF-8 text: {e}"),
        })
    }
}

/// Splits one CSV line (double quotes protect commas; `""` escapes a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

impl MetricTable {
    /// Loads a CSV table, canonicalising each `arch` through `space` so that ids
    /// match the space's architectures. Every bad row is an error naming the file
    /// and line; empty cells become missing values.
    pub fn load<S: SearchSpace>(path: impl AsRef<Path>, space: &S) -> Result<Self> {
        let path = path.as_ref();
        let text = read_text(path)?;
        let fmt_err = |line: usize, reason: String| NasError::Format { path: path.into(), line, reason };
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| fmt_err(1, "empty file: expected a header line".into()))?;
        let header = split_csv(header);
        let arch_col = header
            .iter()
            .position(|h| h == "arch")
            .ok_or_else(|| fmt_err(1, format!("no `arch` column; columns are: {}", header.join(", "))))?;
        let columns: Vec<String> =
            header.iter().enumerate().filter(|(i, _)| *i != arch_col).map(|(_, h)| h.clone()).collect();
        let mut table =
            MetricTable { path: path.into(), columns, rows: HashMap::new(), notations: Vec::new(), values: Vec::new() };
        for (i, line) in lines {
            let lineno = i + 1;
            let cells = split_csv(line);
            if cells.len() != header.len() {
                return Err(fmt_err(lineno, format!("{} cells, header has {}", cells.len(), header.len())));
            }
            let arch = space.parse(&cells[arch_col]).map_err(|e| fmt_err(lineno, e.to_string()))?;
            let mut row = Vec::with_capacity(table.columns.len());
            for (c, cell) in cells.iter().enumerate() {
                if c == arch_col {
                    continue;
                }
                let v = if cell.is_empty() {
                    f64::NAN
                } else {
                    cell.parse::<f64>()
                        .map_err(|_| fmt_err(lineno, format!("column `{}`: `{cell}` is not a number", header[c])))?
                };
                row.push(v);
            }
            let id = arch.id();
            if table.rows.insert(id, table.values.len()).is_some() {
                return Err(fmt_err(lineno, format!("architecture `{}` appears twice", arch.notation())));
            }
            table.notations.push(arch.notation());
            table.values.push(row);
        }
        Ok(table)
    }

    /// The file the table came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Numeric column names (without `arch`).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of architectures.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Device names: the `<device>_ms` columns without the suffix.
    pub fn devices(&self) -> Vec<String> {
        self.columns.iter().filter_map(|c| c.strip_suffix("_ms")).map(String::from).collect()
    }

    /// Accuracy columns (`*_acc`).
    pub fn accuracy_columns(&self) -> Vec<String> {
        self.columns.iter().filter(|c| c.ends_with("_acc")).cloned().collect()
    }

    /// Index of a column; the error lists the columns there are.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| NasError::UnknownName {
            what: "table column",
            value: format!("{name} (in {})", self.path.display()),
            allowed: self.columns.join(", "),
        })
    }

    /// Value of a column for an architecture, if present and not empty.
    pub fn get(&self, id: ArchId, column: usize) -> Option<f64> {
        self.rows.get(&id).map(|&r| self.values[r][column]).filter(|v| !v.is_nan())
    }

    /// Iterates `(notation, row values)` in file order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &[f64])> {
        self.notations.iter().map(String::as_str).zip(self.values.iter().map(Vec::as_slice))
    }
}

/// Answers metrics from a [`MetricTable`] instantly.
#[derive(Debug, Clone)]
pub struct TableEvaluator {
    table: Arc<MetricTable>,
    mapping: Vec<(Metric, usize)>,
}

impl TableEvaluator {
    /// Maps table columns to metrics, e.g. `[(Accuracy, "cifar10_test_acc"), (LatencyMs, "fpga_ms")]`.
    pub fn new(table: Arc<MetricTable>, mapping: &[(Metric, &str)]) -> Result<Self> {
        let mapping = mapping.iter().map(|(m, c)| Ok((*m, table.column(c)?))).collect::<Result<_>>()?;
        Ok(TableEvaluator { table, mapping })
    }

    /// The table.
    pub fn table(&self) -> &Arc<MetricTable> {
        &self.table
    }

    /// Metric values of one table row (used to compute the true Pareto front).
    pub fn row_metrics(&self, row: &[f64]) -> MetricMap {
        self.mapping.iter().map(|(m, c)| (*m, row[*c])).filter(|(_, v)| !v.is_nan()).collect()
    }
}

impl<A: Architecture> Evaluator<A> for TableEvaluator {
    fn name(&self) -> String {
        format!("table({})", self.table.path.display())
    }
    fn provides(&self) -> Vec<Metric> {
        self.mapping.iter().map(|(m, _)| *m).collect()
    }
    fn is_cheap(&self) -> bool {
        true
    }
    fn evaluate(&self, arch: &A, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let id = arch.id();
        let mut out = MetricMap::new();
        for (m, c) in &self.mapping {
            match self.table.get(id, *c) {
                Some(v) => {
                    out.insert(*m, v);
                }
                None => {
                    return Err(EvalError::failed(format!(
                        "`{}` has no `{}` value in {}",
                        arch.notation(),
                        self.table.columns[*c],
                        self.table.path.display()
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_split_handles_quotes() {
        assert_eq!(split_csv("a, \"b,c\" ,\"d\"\"e\""), vec!["a", "b,c", "d\"e"]);
        assert_eq!(split_csv(""), vec![""]);
    }
}
