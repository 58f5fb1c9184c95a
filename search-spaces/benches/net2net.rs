//! Net2Wider and Net2Deeper on the weights of a mid-size plain CNN
//! (`c3x32-c3x32-p-c3x64-c3x64-p`, 1x28x28, ~65k parameters), and a child
//! built from inherited weights (transform + burn network), the per-child
//! overhead EAS adds before training.
//!
//! `cargo bench -p search-spaces --bench net2net`
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::SearchSpace;
use nas_core::train::init_seeded;
use rand::SeedableRng;
use search_spaces::plain_cnn::morph::{deepen, transform, widen};
use search_spaces::plain_cnn::{PlainCnnConfig, PlainCnnNet, PlainCnnSpace, Transform};
use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn net2net(c: &mut Criterion) {
    let device = burn::tensor::Device::flex();
    let space = PlainCnnSpace::new(PlainCnnConfig::default()).expect("space");
    let arch = space.parse("c3x32-c3x32-p-c3x64-c3x64-p").expect("valid");
    let net = init_seeded(1, &device, || PlainCnnNet::new(&arch, 1, 10, &device));
    let w = net.weights();
    let mut g = c.benchmark_group("net2net_c32c32c64c64");
    g.sample_size(30);
    g.bench_function("widen_conv1_32_to_48", |b| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        b.iter(|| black_box(widen(&w, 1, 48, &mut rng)))
    });
    g.bench_function("deepen_after_conv2_k3", |b| b.iter(|| black_box(deepen(&w, 2, 3))));
    g.bench_function("child_network_from_inherited_weights", |b| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        b.iter(|| {
            let (child, cw) = transform(&space, &arch, &w, Transform::Widen { layer: 2 }, &mut rng).expect("fits");
            black_box(PlainCnnNet::from_weights(&child, &cw, &device))
        })
    });
    g.finish();
}

criterion_group!(benches, net2net);
criterion_main!(benches);
