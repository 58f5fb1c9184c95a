//! The store's own cost per trial: everything a study does with one trial
//! besides evaluating it — submitted in a batch of 16 by the driver, claimed
//! by a worker, finished with its metrics, its outcome read back by the
//! driver, and recorded as told — against SQLite (a file in a temporary
//! folder) and, when `HWNAS_TEST_POSTGRES` names a server, PostgreSQL.
//!
//! `cargo bench -p trial-store --bench overhead`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::{ArchId, Metric, MetricMap, Trial, TrialStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use trial_store::{EvalRequest, NewStudy, Outcome, RetryPolicy, StorageUrl, TrialStore};

const BATCH: usize = 16;

/// Runs `n` trials through the store's whole life cycle in a fresh study.
fn trials_through(store: &dyn TrialStore, n: u64) -> Duration {
    static STUDY: AtomicU64 = AtomicU64::new(0);
    let name =
        format!("bench-{}-{}-{}", std::process::id(), trial_store::now_ms(), STUDY.fetch_add(1, Ordering::SeqCst));
    let study = store
        .create_study(&NewStudy { name, config: "name = \"bench\"".into(), seed: 0, provenance: serde_json::json!({}) })
        .expect("study");
    let lease = Duration::from_secs(60);
    let start = Instant::now();
    let mut index = 0usize;
    let mut next = 0u64;
    while next < n {
        let reqs: Vec<EvalRequest> = (next..(next + BATCH as u64).min(n))
            .map(|i| EvalRequest { arch_id: ArchId(i + 1), arch: format!("arch-{i}"), seed: i })
            .collect();
        next += reqs.len() as u64;
        store.submit(study.id, &reqs).expect("submit");
        for r in &reqs {
            let claim = store.claim(study.id, "bench", lease, None).expect("claim").expect("pending");
            let metrics = MetricMap::from([(Metric::Accuracy, 0.5), (Metric::LatencyMs, 1.25)]);
            let outcome = Outcome::Ok { metrics: metrics.clone(), eval_seconds: 0.01, worker: "bench".into() };
            assert!(store.finish(&claim, &outcome).expect("finish"));
            assert!(store.outcome(study.id, r.arch_id).expect("outcome").is_some());
            let trial = Trial {
                index,
                arch_id: r.arch_id,
                arch: r.arch.clone(),
                status: TrialStatus::Ok,
                reason: None,
                metrics,
                seed: r.seed,
                eval_seconds: 0.01,
                worker: None,
                extra: Default::default(),
            };
            store.record(study.id, &trial).expect("record");
            index += 1;
        }
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut stores: Vec<(&str, Arc<dyn TrialStore>)> = Vec::new();
    let sqlite = StorageUrl::Sqlite { path: tmp.path().join("bench.db") };
    stores.push(("sqlite", trial_store::open(&sqlite, RetryPolicy::default()).expect("sqlite")));
    if let Ok(url) = std::env::var("HWNAS_TEST_POSTGRES") {
        let pg = StorageUrl::parse(&url).expect("HWNAS_TEST_POSTGRES");
        stores.push(("postgres", trial_store::open(&pg, RetryPolicy::default()).expect("postgres")));
    } else {
        eprintln!("(PostgreSQL skipped: set HWNAS_TEST_POSTGRES=postgres://user:pw@host:port/db)");
    }
    let mut g = c.benchmark_group("store_overhead_per_trial");
    g.sample_size(20);
    for (name, store) in &stores {
        g.bench_function(*name, |b| b.iter_custom(|iters| trials_through(store.as_ref(), iters)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
