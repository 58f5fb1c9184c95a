//! Benchmark tables of several training schedules as one multi-fidelity
//! evaluator (NAS-Bench-201 publishes accuracies after 12 and after 200 epochs).

use super::FidelitySupport;
use crate::arch::Architecture;
use crate::error::NasError;
use crate::evaluator::{EvalContext, EvalError, Evaluator};
use crate::metric::{Metric, MetricMap};
use std::sync::Arc;

/// The main table (every metric, after `epochs` of training) and tables of
/// shorter schedules, whose metrics replace the main table's at their budget.
pub struct MultiFidelityTable<A: Architecture> {
    main: Arc<dyn Evaluator<A>>,
    epochs: u32,
    low: Vec<(u32, Arc<dyn Evaluator<A>>)>,
}

impl<A: Architecture> MultiFidelityTable<A> {
    /// `main` holds results after `epochs`; each of `low` after fewer epochs.
    pub fn new(main: Arc<dyn Evaluator<A>>, epochs: u32, mut low: Vec<(u32, Arc<dyn Evaluator<A>>)>) -> Self {
        low.sort_by_key(|(e, _)| *e);
        MultiFidelityTable { main, epochs, low }
    }

    /// The budgets with results, increasing.
    pub fn budgets(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self.low.iter().map(|(e, _)| *e).collect();
        out.push(self.epochs);
        out
    }
}

impl<A: Architecture> Evaluator<A> for MultiFidelityTable<A> {
    fn name(&self) -> String {
        let low: Vec<String> = self.low.iter().map(|(e, t)| format!("{} at {e} epochs", t.name())).collect();
        format!("{} at {} epochs, {}", self.main.name(), self.epochs, low.join(", "))
    }

    fn provides(&self) -> Vec<Metric> {
        self.main.provides()
    }

    fn is_cheap(&self) -> bool {
        true
    }

    fn fidelity(&self) -> FidelitySupport {
        FidelitySupport::Discrete(self.budgets())
    }

    fn evaluate(&self, arch: &A, ctx: &EvalContext<'_>) -> Result<MetricMap, EvalError> {
        let mut out = self.main.evaluate(arch, ctx)?;
        match ctx.fidelity {
            None => Ok(out),
            Some(e) if e == self.epochs => Ok(out),
            Some(e) => match self.low.iter().find(|(l, _)| *l == e) {
                Some((_, t)) => {
                    out.extend(t.evaluate(arch, ctx)?);
                    Ok(out)
                }
                None => Err(EvalError::Fatal(NasError::InvalidValue {
                    field: "fidelity".into(),
                    value: format!("{e} epochs"),
                    allowed: format!(
                        "the budgets the tables hold: {}",
                        self.budgets().iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
                    ),
                })),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ToyArch, ToySpace};
    use crate::{SearchSpace, table::MetricTable, table::TableEvaluator};

    fn table(text: &str) -> Arc<MetricTable> {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).expect("write");
        Arc::new(MetricTable::load(&p, &ToySpace).expect("loads"))
    }

    #[test]
    fn each_budget_reads_its_table_and_latency_comes_from_the_main_one() {
        let main = table("arch,acc,x_ms\n0-1-2-3,90,2.5\n");
        let low = table("arch,acc12\n0-1-2-3,70\n");
        let m: Arc<dyn Evaluator<ToyArch>> = Arc::new(
            TableEvaluator::new(main, &[(Metric::Accuracy, "acc"), (Metric::LatencyMs, "x_ms")]).expect("main"),
        );
        let l: Arc<dyn Evaluator<ToyArch>> =
            Arc::new(TableEvaluator::new(low, &[(Metric::Accuracy, "acc12")]).expect("low"));
        let mf = MultiFidelityTable::new(m, 200, vec![(12, l)]);
        assert_eq!(mf.fidelity(), FidelitySupport::Discrete(vec![12, 200]));
        let a = ToySpace.parse("0-1-2-3").expect("arch");
        let at = |f: Option<u32>| mf.evaluate(&a, &EvalContext { seed: 0, progress: None, fidelity: f, weights: None });
        let full = at(None).expect("full");
        assert_eq!((full[&Metric::Accuracy], full[&Metric::LatencyMs]), (90.0, 2.5));
        assert_eq!(at(Some(200)).expect("200")[&Metric::Accuracy], 90.0);
        let short = at(Some(12)).expect("12");
        assert_eq!((short[&Metric::Accuracy], short[&Metric::LatencyMs]), (70.0, 2.5));
        let e = at(Some(50)).expect_err("no table at 50").to_string();
        assert!(e.contains("50 epochs") && e.contains("12, 200"), "{e}");
    }
}
