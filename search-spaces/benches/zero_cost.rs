//! Zero-cost proxies of one NB201 network (every edge `nor_conv_3x3`, the
//! heaviest cell) per proxy: at the benchmark's size (C = 16, N = 5, 3x32x32,
//! 64 random images) and at the quickstart's (C = 8, N = 1, 1x28x28). One
//! iteration builds the network from its seed and scores it.
//!
//! `cargo bench -p search-spaces --bench zero_cost`
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::train::DynTrainable;
use nas_core::train::zero_cost::{Proxy, proxy_batch};
use search_spaces::nb201::{Nb201Arch, Nb201Config, Nb201Space};
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ARCH: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";

fn proxies(c: &mut Criterion) {
    let device = burn::tensor::Device::flex();
    let arch = Nb201Arch::parse(ARCH).expect("valid");
    let sizes = [
        ("c16n5_32x32", Nb201Config::default()),
        ("c8n1_28x28", Nb201Config { channels: 8, cells_per_stage: 1, input_chw: [1, 28, 28], num_classes: 10 }),
    ];
    let mut group = c.benchmark_group("zero_cost_nb201_conv3x3_b64");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    for (name, cfg) in sizes {
        let space = Nb201Space::new(cfg.clone()).expect("space");
        let batch = proxy_batch(None, cfg.input_chw, cfg.num_classes, 64, 0);
        for proxy in Proxy::ALL {
            group.bench_function(format!("{name}/{}", proxy.name()), |b| {
                b.iter(|| {
                    let mut out = None;
                    // On a pool worker, as in a search.
                    rayon::scope(|_| out = Some(space.zero_cost(&arch, &batch, &[proxy], &device, 1)));
                    out
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, proxies);
criterion_main!(benches);
