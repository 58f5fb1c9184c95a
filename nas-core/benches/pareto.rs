//! Benchmarks of the Pareto tools: non-dominated sorting and hypervolume.

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use nas_core::pareto::{fast_non_dominated_sort, hypervolume, hypervolume_wfg};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` points uniform in `[0, 1)^d`.
fn uniform(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| (0..d).map(|_| rng.random::<f64>()).collect()).collect()
}

/// `n` mutually non-dominated points on the unit sphere's positive orthant
/// (the hardest case for hypervolume: nothing can be discarded).
fn sphere_front(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..d).map(|_| rng.random::<f64>() + 1e-6).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn bench_sort(c: &mut Criterion) {
    let mut g = c.benchmark_group("non_dominated_sort");
    g.sample_size(10);
    for d in [2, 3] {
        let pts = uniform(10_000, d, 1);
        g.bench_function(format!("{d}d_10000_uniform"), |b| {
            b.iter(|| fast_non_dominated_sort(black_box(&pts)));
        });
    }
    g.finish();
}

fn bench_hv(c: &mut Criterion) {
    let mut g = c.benchmark_group("hypervolume");
    g.sample_size(10);
    let r2 = [1.1, 1.1];
    let front2 = sphere_front(10_000, 2, 2);
    g.bench_function("2d_10000_front", |b| {
        b.iter(|| hypervolume(black_box(&front2), &r2).expect("valid input"));
    });
    let r3 = [1.1, 1.1, 1.1];
    for n in [1_000, 10_000] {
        let front3 = sphere_front(n, 3, 3);
        g.bench_function(format!("3d_{n}_front"), |b| {
            b.iter(|| hypervolume(black_box(&front3), &r3).expect("valid input"));
        });
    }
    let r4 = [1.1; 4];
    let front4 = sphere_front(200, 4, 4);
    g.bench_function("4d_200_front_wfg", |b| {
        b.iter(|| hypervolume(black_box(&front4), &r4).expect("valid input"));
    });
    g.bench_function("4d_200_front_wfg_pure", |b| {
        b.iter(|| hypervolume_wfg(black_box(&front4), &r4).expect("valid input"));
    });
    let uni4 = uniform(200, 4, 5);
    g.bench_function("4d_200_uniform_wfg", |b| {
        b.iter(|| hypervolume(black_box(&uni4), &r4).expect("valid input"));
    });
    g.finish();
}

/// The generated group function lives in a private module so that it needs
/// no documentation.
mod group {
    use super::{bench_hv, bench_sort};
    use criterion::criterion_group;

    criterion_group!(benches, bench_sort, bench_hv);
}

criterion_main!(group::benches);
