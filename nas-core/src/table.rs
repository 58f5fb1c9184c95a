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
    /// The file line of each row (1-based; the header is line 1).
    lines: Vec<usize>,
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| NasError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(|e| NasError::io(path, e))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// A cell of a table whose value is outside its metric's domain.
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidCell {
    /// Row index in the table.
    pub row: usize,
    /// File line (1-based; the header is line 1).
    pub line: usize,
    /// Column name.
    pub column: String,
    /// The value (`NaN` for an empty or `nan` cell), before any scaling.
    pub value: f64,
    /// The metric the column gives.
    pub metric: Metric,
}

impl std::fmt::Display for InvalidCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.value.is_nan() { "empty or nan".to_string() } else { self.value.to_string() };
        write!(
            f,
            "line {}, column `{}`: {value} is outside the domain of {}: {}",
            self.line,
            self.column,
            self.metric,
            self.metric.domain().describe()
        )
    }
}

impl MetricTable {
    /// Loads a CSV table (optionally gzip-compressed), canonicalising each
    /// `arch` through `space` so that ids match the space's architectures. A
    /// malformed row, a repeated architecture, a table without an `arch` column
    /// and a table without rows are errors naming the file and line; empty cells
    /// (and `nan`) become missing values, which [`MetricTable::invalid_cells`]
    /// reports for the columns a run uses.
    pub fn load<S: SearchSpace>(path: impl AsRef<Path>, space: &S) -> Result<Self> {
        let path = path.as_ref();
        Self::from_bytes(&read_bytes(path)?, path, space)
    }

    /// Parses the (uncompressed) bytes of a CSV table as [`MetricTable::load`]
    /// does; `path` names the source in errors.
    pub fn from_bytes<S: SearchSpace>(bytes: &[u8], path: &Path, space: &S) -> Result<Self> {
        let fmt_err = |line: usize, reason: String| NasError::Format { path: path.into(), line, reason };
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| fmt_err(1, format!("unreadable header: {e}")))?
            .iter()
            .map(String::from)
            .collect();
        if header.iter().all(|h| h.is_empty()) {
            return Err(fmt_err(1, "empty file: expected a header line".into()));
        }
        let arch_col = header
            .iter()
            .position(|h| h == "arch")
            .ok_or_else(|| fmt_err(1, format!("no `arch` column; columns are: {}", header.join(", "))))?;
        let columns: Vec<String> =
            header.iter().enumerate().filter(|(i, _)| *i != arch_col).map(|(_, h)| h.clone()).collect();
        let mut table = MetricTable {
            path: path.into(),
            columns,
            rows: HashMap::new(),
            notations: Vec::new(),
            values: Vec::new(),
            lines: Vec::new(),
        };
        // The csv reader does not count blank lines, so lines come from byte
        // offsets, counted on from the previous record (records come in order).
        let mut counted = (0usize, 1usize);
        let mut line_at = |pos: Option<&csv::Position>| {
            pos.map_or(0, |p| {
                // The reader's position may sit before blank lines it skipped.
                let mut at = (p.byte() as usize).min(bytes.len());
                while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
                    at += 1;
                }
                if at < counted.0 {
                    counted = (0, 1);
                }
                counted.1 += bytes[counted.0..at].iter().filter(|&&b| b == b'\n').count();
                counted.0 = at;
                counted.1
            })
        };
        for record in reader.records() {
            let record = record.map_err(|e| fmt_err(line_at(e.position()), format!("unreadable row: {e}")))?;
            let lineno = line_at(record.position());
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() != header.len() {
                return Err(fmt_err(lineno, format!("{} cells, header has {}", record.len(), header.len())));
            }
            let arch = space.parse(&record[arch_col]).map_err(|e| fmt_err(lineno, e.to_string()))?;
            let mut row = Vec::with_capacity(table.columns.len());
            for (c, cell) in record.iter().enumerate() {
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
            table.lines.push(lineno);
        }
        if table.values.is_empty() {
            return Err(fmt_err(2, "the table has a header but no rows".into()));
        }
        Ok(table)
    }

    /// The cells of `mapping`'s columns (metric, column index, scale applied to
    /// the value first) whose values are outside their metric's domain, in file
    /// order.
    pub fn invalid_cells(&self, mapping: &[(Metric, usize, f64)]) -> Vec<InvalidCell> {
        let mut out = Vec::new();
        for (r, row) in self.values.iter().enumerate() {
            for &(metric, c, scale) in mapping {
                if !metric.domain().contains(row[c] * scale) {
                    out.push(InvalidCell {
                        row: r,
                        line: self.lines[r],
                        column: self.columns[c].clone(),
                        value: row[c],
                        metric,
                    });
                }
            }
        }
        out
    }

    /// The table without the given rows (indices into [`MetricTable::rows`]).
    pub fn without_rows(&self, drop: &std::collections::BTreeSet<usize>) -> Self {
        let keep: Vec<usize> = (0..self.values.len()).filter(|r| !drop.contains(r)).collect();
        let notations: Vec<String> = keep.iter().map(|&r| self.notations[r].clone()).collect();
        let rows = notations.iter().enumerate().map(|(k, n)| (ArchId::of(n), k)).collect();
        MetricTable {
            path: self.path.clone(),
            columns: self.columns.clone(),
            rows,
            notations,
            values: keep.iter().map(|&r| self.values[r].clone()).collect(),
            lines: keep.iter().map(|&r| self.lines[r]).collect(),
        }
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
    /// Metric, column, factor applied to the column's values.
    mapping: Vec<(Metric, usize, f64)>,
}

impl TableEvaluator {
    /// Maps table columns to metrics, e.g. `[(Accuracy, "cifar10_test_acc"), (LatencyMs, "fpga_ms")]`.
    pub fn new(table: Arc<MetricTable>, mapping: &[(Metric, &str)]) -> Result<Self> {
        let mapping = mapping.iter().map(|(m, c)| Ok((*m, table.column(c)?, 1.0))).collect::<Result<_>>()?;
        Ok(TableEvaluator { table, mapping })
    }

    /// Multiplies the values of `metric`'s column by `factor` (e.g. 100 for an
    /// accuracy column stored as a fraction).
    pub fn with_scale(mut self, metric: Metric, factor: f64) -> Self {
        for m in &mut self.mapping {
            if m.0 == metric {
                m.2 = factor;
            }
        }
        self
    }

    /// The mapping: metric, column index, factor.
    pub fn mapping(&self) -> &[(Metric, usize, f64)] {
        &self.mapping
    }

    /// The table.
    pub fn table(&self) -> &Arc<MetricTable> {
        &self.table
    }

    /// Metric values of one table row (used to compute the true Pareto front).
    pub fn row_metrics(&self, row: &[f64]) -> MetricMap {
        self.mapping.iter().map(|(m, c, k)| (*m, row[*c] * k)).filter(|(_, v)| !v.is_nan()).collect()
    }
}

impl<A: Architecture> Evaluator<A> for TableEvaluator {
    fn name(&self) -> String {
        format!("table({})", self.table.path.display())
    }
    fn provides(&self) -> Vec<Metric> {
        self.mapping.iter().map(|(m, _, _)| *m).collect()
    }
    fn is_cheap(&self) -> bool {
        true
    }
    fn fidelity(&self) -> crate::fidelity::FidelitySupport {
        // A table of one training schedule: its accuracies are of that budget
        // only (see `fidelity::MultiFidelityTable` for several schedules).
        if self.mapping.iter().any(|(m, _, _)| m.depends_on_training()) {
            crate::fidelity::FidelitySupport::Fixed
        } else {
            crate::fidelity::FidelitySupport::Independent
        }
    }
    fn evaluate(&self, arch: &A, _ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let id = arch.id();
        let mut out = MetricMap::new();
        for (m, c, k) in &self.mapping {
            match self.table.get(id, *c) {
                Some(v) => {
                    out.insert(*m, v * k);
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
    use crate::testing::ToySpace;

    fn load(text: &str) -> Result<MetricTable> {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).expect("write");
        MetricTable::load(&p, &ToySpace)
    }

    #[test]
    fn quotes_lines_and_missing_cells() {
        let t = load("arch,\"acc\", x_ms \n\"0-1-2-3\",90.5,1\n\n1-1-1-1,,2\n").expect("loads");
        assert_eq!(t.columns(), ["acc", "x_ms"]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.lines, vec![2, 4]);
        let id = ToySpace.parse("0-1-2-3").expect("arch").id();
        assert_eq!(t.get(id, 0), Some(90.5));
        assert_eq!(t.get(ToySpace.parse("1-1-1-1").expect("arch").id(), 0), None);
    }

    #[test]
    fn bad_tables_name_the_file_and_line() {
        let e = load("arch,acc\n").expect_err("no rows").to_string();
        assert!(e.contains("t.csv") && e.contains("no rows"), "{e}");
        let e = load("arch,acc\n0-0-0-0,1\n0-0-0-0,2\n").expect_err("twice").to_string();
        assert!(e.contains(":3:") && e.contains("twice"), "{e}");
        let e = load("arch,acc\n0-0-0-0,1,2\n").expect_err("cells").to_string();
        assert!(e.contains(":2:") && e.contains("3 cells"), "{e}");
        let e = load("arch,acc\n0-0-0-0,fast\n").expect_err("number").to_string();
        assert!(e.contains("`fast` is not a number"), "{e}");
        let e = load("name,acc\n").expect_err("no arch").to_string();
        assert!(e.contains("no `arch` column"), "{e}");
    }

    #[test]
    fn cells_outside_their_domain_are_found_and_rows_can_be_dropped() {
        let t = load("arch,acc,x_ms\n0-0-0-0,nan,1\n0-0-0-1,50,-2\n0-0-0-2,101,0.5\n0-0-0-3,99,0.2\n").expect("loads");
        let bad = t.invalid_cells(&[(Metric::Accuracy, 0, 1.0), (Metric::LatencyMs, 1, 1.0)]);
        let found: Vec<(usize, &str)> = bad.iter().map(|c| (c.line, c.column.as_str())).collect();
        assert_eq!(found, vec![(2, "acc"), (3, "x_ms"), (4, "acc")]);
        let msg = bad[1].to_string();
        assert!(msg.contains("line 3, column `x_ms`: -2 is outside the domain of latency_ms"), "{msg}");
        // An accuracy stored as a fraction is in [0, 100] once scaled.
        let f = load("arch,acc\n0-0-0-0,0.5\n0-0-0-1,1.0\n").expect("loads");
        assert!(f.invalid_cells(&[(Metric::Accuracy, 0, 100.0)]).is_empty());
        let kept = t.without_rows(&bad.iter().map(|c| c.row).collect());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.lines, vec![5]);
        assert_eq!(kept.get(ToySpace.parse("0-0-0-3").expect("arch").id(), 1), Some(0.2));
        assert_eq!(kept.get(ToySpace.parse("0-0-0-1").expect("arch").id(), 1), None);
    }
}
