//! Training throughput of the reference CNN (32x32x3 inputs, batch 64, Adam) on the
//! flex and ndarray backends. One iteration is one training step of 64 images;
//! criterion reports elements (images) per second.
//!
//! `cargo bench -p nas-core --bench train`; `HWNAS_BENCH_THREADS=n` pins the
//! kernels to a private pool of `n` threads.
//!
//! The bench runs on mimalloc: burn allocates and frees multi-megabyte activation
//! and gradient buffers every step, and glibc's malloc returns them to the kernel
//! (mmap / madvise) only to page-fault them back in on the next step, which costs
//! 30-40% of a flex step. Binaries that train should use the same allocator.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nas_core::train::backend::ThroughputBench;
use nas_core::train::{Backend, ThroughputConfig, measure_throughput};
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 64;

fn train_step(c: &mut Criterion) {
    let threads: Option<usize> = std::env::var("HWNAS_BENCH_THREADS").ok().and_then(|s| s.parse().ok());
    // One line per backend with the forward / backward / optimiser split.
    for backend in Backend::ALL {
        let cfg = ThroughputConfig { threads, steps: 5, ..ThroughputConfig::default() };
        match measure_throughput(backend, &cfg) {
            Ok(t) => eprintln!("{t}"),
            Err(e) => eprintln!("{backend}: {e}"),
        }
    }
    let pool = threads.map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("thread pool"));
    let mut group = c.benchmark_group("train_step_refcnn_32x32_b64");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    for backend in Backend::ALL {
        let time = if backend == Backend::Flex { 8 } else { 20 };
        group.measurement_time(Duration::from_secs(time));
        group.bench_function(backend.name(), |b| {
            let mut bench = ThroughputBench::new(backend, BATCH, 32);
            // Each step runs on a pool worker, as in the trainer: kernels called from
            // a non-pool thread pay a cross-thread wake-up for every parallel op.
            b.iter(|| match &pool {
                Some(p) => p.install(|| bench.step()),
                None => {
                    let mut t = (0.0, 0.0, 0.0);
                    rayon::scope(|_| t = bench.step());
                    t
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
