//! Costing 100,000 NB201 architectures from a latency table (lowering to layers
//! included, and lookups alone), against the alternatives: the analytical cost
//! model (no lookups) and one end-to-end measurement (what the table replaces).
//!
//! `cargo bench -p latency-lut --bench lut_cost`
//!
//! The table is the shipped `data/luts/nb201-c16-n5-3x32x32-b1-t1.json` (any table
//! of the default NB201 space prices the same number of lookups); when it is
//! missing, a quick one is measured first.

use criterion::{Criterion, criterion_main};
use latency_lut::lut::{BuildOptions, LatencyTable, SpaceId, build_table};
use latency_lut::{Protocol, measure_network};
use nas_core::{AnalyticalCost, CostModel, SearchSpace, ToNetworkSpec};
use rand::SeedableRng;
use search_spaces::nb201::Nb201Space;
use std::hint::black_box;
use std::path::Path;

const N: usize = 100_000;

fn table(space: &Nb201Space) -> LatencyTable {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/luts/nb201-c16-n5-3x32x32-b1-t1.json");
    LatencyTable::load(&shipped).unwrap_or_else(|_| {
        let opts = BuildOptions { protocol: Protocol::quick(), calibration_networks: 2, ..BuildOptions::default() };
        build_table(space, Some(space), SpaceId::new("nb201", space.config()), &opts, &nas_core::progress::NoProgress)
            .expect("builds")
    })
}

fn costing(c: &mut Criterion) {
    let space = Nb201Space::default();
    let table = table(&space);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let archs: Vec<_> = (0..N).map(|_| space.sample(&mut rng)).collect();
    let specs: Vec<_> = archs.iter().take(2_000).map(|a| space.network_spec(a)).collect();
    let mut g = c.benchmark_group("nb201_100k_archs");
    g.sample_size(10);
    g.bench_function("lut: lower + cost", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for a in &archs {
                total += table.predict_ms(&space.network_spec(a)).expect("covered");
            }
            black_box(total)
        })
    });
    g.bench_function("lut: cost pre-lowered networks", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for k in 0..N {
                total += table.predict_ms(&specs[k % specs.len()]).expect("covered");
            }
            black_box(total)
        })
    });
    g.bench_function("analytical: lower + cost", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for a in &archs {
                total += AnalyticalCost.cost(&space.network_spec(a)).expect("cost").len() as f64;
            }
            black_box(total)
        })
    });
    g.finish();
    let mut g = c.benchmark_group("nb201_one_arch");
    g.sample_size(10);
    g.bench_function("measured end to end (quick protocol)", |b| {
        b.iter(|| black_box(measure_network(&space, &archs[0], &Protocol::quick()).expect("measures").median_ms))
    });
    g.finish();
}

/// The generated group function lives in a private module so that it needs no
/// documentation.
mod group {
    use super::costing;
    use criterion::criterion_group;

    criterion_group!(benches, costing);
}

criterion_main!(group::benches);
