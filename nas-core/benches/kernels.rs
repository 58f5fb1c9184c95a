//! Each of hwnas's kernels against burn's own operation, on the shapes the
//! reference CNN (batch 64, 32x32x3) and the built-in default's NB201 cells
//! (batch 64, 8 channels at 28x28, 16 at 14x14) train with: forward alone (no
//! autodiff) and forward + backward (the gradient of the sum).
//!
//! `cargo bench -p nas-core --bench kernels`; `HWNAS_BENCH_THREADS=n` runs on a
//! pool of `n` threads (default: all cores).
#![allow(missing_docs)]

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::kernels::{self, KernelPath};
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

enum Op {
    Conv(Conv2d),
    Bn(BatchNorm),
    Pool(AvgPool2d),
}

impl Op {
    fn run(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Op::Conv(c) => kernels::conv2d(c, x),
            Op::Bn(b) => kernels::batch_norm(b, x),
            Op::Pool(p) => kernels::avg_pool2d(p, x),
        }
    }
}

fn cases(device: &Device) -> Vec<(&'static str, [usize; 4], Op)> {
    let conv = |ci, co, k, s| {
        Conv2dConfig::new([ci, co], [k, k])
            .with_stride([s, s])
            .with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2))
            .init(device)
    };
    let depthwise = |c, k, dilation: usize| {
        let pad = dilation * (k - 1) / 2;
        Conv2dConfig::new([c, c], [k, k])
            .with_groups(c)
            .with_dilation([dilation, dilation])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .init(device)
    };
    let pool3 = AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init();
    vec![
        ("conv3x3_3to16_32px", [64, 3, 32, 32], Op::Conv(conv(3, 16, 3, 1))),
        ("conv3x3s2_16to32_32px", [64, 16, 32, 32], Op::Conv(conv(16, 32, 3, 2))),
        ("conv3x3_8to8_28px", [64, 8, 28, 28], Op::Conv(conv(8, 8, 3, 1))),
        ("conv1x1_16to16_14px", [64, 16, 14, 14], Op::Conv(conv(16, 16, 1, 1))),
        ("dwconv3x3_16_14px", [64, 16, 14, 14], Op::Conv(depthwise(16, 3, 1))),
        ("dwconv5x5_dil2_4_8px", [32, 4, 8, 8], Op::Conv(depthwise(4, 5, 2))),
        ("conv1x1_4to4_8px", [32, 4, 8, 8], Op::Conv(conv(4, 4, 1, 1))),
        ("bn_16_32px", [64, 16, 32, 32], Op::Bn(BatchNormConfig::new(16).init(device))),
        ("bn_8_28px", [64, 8, 28, 28], Op::Bn(BatchNormConfig::new(8).init(device))),
        ("avgpool3x3_8_28px", [64, 8, 28, 28], Op::Pool(pool3)),
    ]
}

fn kernels_vs_burn(c: &mut Criterion) {
    let threads: Option<usize> = std::env::var("HWNAS_BENCH_THREADS").ok().and_then(|s| s.parse().ok());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.unwrap_or(0)).build().expect("thread pool");
    for autodiff in [false, true] {
        let device = if autodiff { Device::flex().autodiff() } else { Device::flex() };
        let mut group = c.benchmark_group(if autodiff { "forward_backward" } else { "forward" });
        group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
        for (name, shape, op) in cases(&device) {
            // Batch norm's kernel is its training form: measure it where it runs.
            if !autodiff && matches!(op, Op::Bn(_)) {
                continue;
            }
            let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let op = match op {
                Op::Conv(c) => Op::Conv(c.to_device(&device)),
                other => other,
            };
            for path in KernelPath::ALL {
                group.bench_function(format!("{name}/{path}"), |b| {
                    b.iter(|| {
                        pool.install(|| {
                            kernels::with_kernel_path(path, || {
                                let input = if autodiff { x.clone().require_grad() } else { x.clone() };
                                let y = op.run(input);
                                if autodiff {
                                    drop(y.sum().backward());
                                } else {
                                    drop(y.into_data());
                                }
                            })
                        })
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, kernels_vs_burn);
criterion_main!(benches);
