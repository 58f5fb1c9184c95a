//! Fit and predict time of every model at 100 and 1,000 training rows (64
//! features, the size of the NAS-Bench-201 adjacency + ops encoding).

use criterion::{Criterion, criterion_group, criterion_main};
use predictors::{Fit, ModelConfig, Predict};
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn data(n: usize, d: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| f64::from(rng.random_range(0..2u8))).collect()).collect();
    let y = x.iter().map(|r| r.iter().enumerate().map(|(i, v)| v * ((i % 7) as f64 - 3.0)).sum::<f64>()).collect();
    (x, y)
}

fn models(c: &mut Criterion) {
    let mut g = c.benchmark_group("predictors");
    g.sample_size(10);
    for n in [100usize, 1000] {
        let (x, y) = data(n, 64);
        let (xt, _) = data(1000, 64);
        for name in ModelConfig::NAMES {
            let cfg = ModelConfig::by_name(name).expect("known");
            g.bench_function(format!("fit/{name}/{n}"), |b| b.iter(|| black_box(cfg.fit(&x, &y, 1).expect("fit"))));
            let m = cfg.fit(&x, &y, 1).expect("fit");
            g.bench_function(format!("predict_1000/{name}/{n}"), |b| {
                b.iter(|| black_box(m.predict(&xt).expect("predict").mean.len()))
            });
        }
    }
    g.finish();
}

#[allow(missing_docs)]
mod harness {
    use super::*;
    criterion_group!(benches, models);
}

use harness::benches;
criterion_main!(benches);
