//! A 10,000-trial NAS-Bench-201 table study (random search, batch 16) end to
//! end through the run directory's JSONL log (`hwnas run`) and through a trial
//! store (`hwnas run --storage`, the driver evaluating its own trials):
//! SQLite always, PostgreSQL when `HWNAS_TEST_POSTGRES` names a server. Table
//! lookups cost microseconds, so the difference is the store's per-trial cost.
//!
//! `cargo bench -p experiments --bench study_store`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, criterion_group, criterion_main};
use experiments::config::ExperimentConfig;
use experiments::runner::{RunOptions, run_new};
use experiments::study_cmd::{StudyTarget, run_in_store};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TRIALS: usize = 10_000;

fn config() -> ExperimentConfig {
    let text = format!(
        "name = \"bench-10k\"\nbudget = {TRIALS}\nbatch_size = 16\n[space]\nkind = \"nb201\"\n[strategy]\nkind = \"random\"\n\
         [[objectives]]\nmetric = \"accuracy\"\n[[objectives]]\nmetric = \"latency_ms\"\n\
         [[evaluators]]\nkind = \"table\"\naccuracy = \"cifar10_test_acc\"\ndevice = \"fpga\"\n[output]\npng = false\n"
    );
    ExperimentConfig::from_toml(&text, "bench").expect("valid bench config")
}

/// One study into a fresh run directory under `tmp`, through `store` (None: JSONL).
fn study(cfg: &ExperimentConfig, tmp: &Path, store: Option<&str>) -> Duration {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let registry = experiments::registry::builtin();
    let dir = tmp.join(format!("run-{n}"));
    let start = Instant::now();
    let summary = match store {
        None => run_new(cfg, &dir, &registry, &RunOptions { quiet: true, ..Default::default() }),
        Some(url) => {
            let target = StudyTarget {
                store: experiments::study::open_store(Some(url)).expect("store"),
                study: format!("bench-{}-{n}-{}", std::process::id(), trial_store::now_ms()),
                lease: Duration::from_secs(60),
                local: true,
            };
            run_in_store(cfg, &dir, &registry, &target, true)
        }
    }
    .expect("study");
    let took = start.elapsed();
    assert_eq!(summary.trials.len(), TRIALS);
    std::fs::remove_dir_all(&dir).expect("clean up");
    took
}

fn studies(c: &mut Criterion) {
    let cfg = config();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut paths: Vec<(&str, Option<String>)> =
        vec![("jsonl", None), ("sqlite", Some(format!("sqlite:{}", tmp.path().join("studies.db").display())))];
    if let Ok(url) = std::env::var("HWNAS_TEST_POSTGRES") {
        paths.push(("postgres", Some(url)));
    }
    let mut g = c.benchmark_group("table_study_10000_trials");
    g.sample_size(10);
    for (name, url) in &paths {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| study(&cfg, tmp.path(), url.as_deref())).sum())
        });
    }
    g.finish();
}

criterion_group!(benches, studies);
criterion_main!(benches);
