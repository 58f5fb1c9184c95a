//! Pricing joint network x accelerator architectures: 10,000 architectures of
//! the two-task NB201 co-design space (two networks, up to two
//! sub-accelerators) through the whole `codesign` path — taking the joint
//! architecture apart, lowering both networks, mapping every layer onto its
//! sub-accelerator (latency, utilisation, energy) and the area — as the
//! evaluator does (totals) and as the `codesign/` export does (per-layer
//! reports), and the systolic model alone on pre-lowered networks.
//!
//! `cargo bench -p latency-lut --bench codesign_cost`

use criterion::{Criterion, criterion_main};
use latency_lut::codesign::system_report;
use latency_lut::{AcceleratorModel, AreaModel, SystolicArray, SystolicConfig, TechnologyChoice};
use nas_core::hardware::CoDesignTask;
use nas_core::{AnyArch, CostModel, DynSpace, SearchSpace, ToNetworkSpec};
use rand::SeedableRng;
use search_spaces::Nb201Space;
use search_spaces::codesign::{CoDesignSpace, HardwareConfig};
use std::hint::black_box;

const N: usize = 10_000;

fn pricing(c: &mut Criterion) {
    let nb201 = || DynSpace::new(Nb201Space::default(), serde_json::json!({}));
    let tasks = vec![
        CoDesignTask { name: "cifar10".into(), space: nb201() },
        CoDesignTask { name: "cifar100".into(), space: nb201() },
    ];
    let space = CoDesignSpace::new(tasks, HardwareConfig::default()).expect("space");
    let model = AcceleratorModel::new(TechnologyChoice::default(), AreaModel::horowitz45(), 1).expect("model");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let archs: Vec<AnyArch> = (0..N).map(|_| AnyArch::new(space.sample(&mut rng))).collect();
    let net_space = Nb201Space::default();
    let specs: Vec<_> = (0..N).map(|_| net_space.network_spec(&net_space.sample(&mut rng))).collect();
    let array = SystolicArray::new(SystolicConfig::default()).expect("array");
    let mut g = c.benchmark_group("codesign_10k_archs");
    g.sample_size(10);
    g.bench_function("joint: view + lower 2 nets + map + area (the evaluator)", |b| {
        b.iter(|| {
            for a in &archs {
                let _ = black_box(system_report(&model, &space, a, false));
            }
        })
    });
    g.bench_function("joint with per-layer reports (codesign/ export)", |b| {
        b.iter(|| {
            for a in &archs {
                let _ = black_box(system_report(&model, &space, a, true));
            }
        })
    });
    g.bench_function("systolic: cost pre-lowered networks", |b| {
        b.iter(|| {
            for s in &specs {
                black_box(array.cost(s).expect("cost"));
            }
        })
    });
    g.finish();
}

fn benches() {
    use criterion::criterion_group;
    criterion_group!(benches, pricing);
    benches();
}

criterion_main!(benches);
