//! One epoch of 4 supernet steps (each an architecture step and a weight step,
//! batch 64) per differentiable method, on the shipped configs' NB201 supernet
//! (C = 8, one cell per stage, 1x28x28 inputs, 10 classes). One iteration
//! builds the supernet from its seed and runs the 4 steps; the Hessian probe is
//! off, so a step costs what it costs in a search.
//!
//! `cargo bench -p search-spaces --bench supernet_step`
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::differentiable::{DifferentiableSettings, GuardSettings, Method, SeedJob, run_seed};
use nas_core::train::ImageDataset;
use search_spaces::nb201::{Nb201Config, Nb201Space};
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn images(n: usize) -> ImageDataset {
    let pixels: Vec<f32> = (0..n * 784).map(|i| ((i * 7919 % 251) as f32) / 251.0).collect();
    let labels: Vec<u32> = (0..n).map(|i| (i % 10) as u32).collect();
    ImageDataset::new("bench", [1, 28, 28], 10, pixels, labels).expect("dataset")
}

fn steps(c: &mut Criterion) {
    let space =
        Nb201Space::new(Nb201Config { channels: 8, cells_per_stage: 1, input_chw: [1, 28, 28], num_classes: 10 })
            .expect("space");
    let (train, val) = (images(256), images(256));
    let settings = DifferentiableSettings {
        epochs: 1,
        max_train_samples: None,
        guard: GuardSettings { hessian_iterations: 0, ..Default::default() },
        ..Default::default()
    };
    let mut group = c.benchmark_group("supernet_epoch_4_steps_b64_nb201_c8");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    for (name, method) in [
        ("darts", Method::Darts { second_order: false }),
        ("darts_2nd_order", Method::Darts { second_order: true }),
        ("pc_darts_k4", Method::PcDarts { k: 4 }),
        ("gdas", Method::Gdas { tau_max: 10.0, tau_min: 0.1 }),
        ("proxyless_1_path", Method::Proxyless { paths: 1 }),
        ("proxyless_2_paths", Method::Proxyless { paths: 2 }),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let log = |_: &str| {};
                let job = SeedJob {
                    method,
                    settings: &settings,
                    seed: 0,
                    train: &train,
                    val: &val,
                    cost: None,
                    dir: None,
                    log: &log,
                };
                let mut out = None;
                rayon::scope(|_| out = Some(run_seed(&space, &job).expect("search")));
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
