//! The kernels against burn's own operations, values and gradients, on random
//! shapes (the reference tests every custom op carries).

use super::*;
use crate::train::Backend as TrainBackend;
use burn::module::Module;
use burn::nn::BatchNormConfig;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f32 = 1e-5;

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 data")
}

/// Largest difference relative to the reference's largest magnitude (at least 1).
fn rel_err(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

#[derive(Debug, Clone)]
struct ConvCase {
    x: [usize; 4],
    c_out: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: PaddingConfig2d,
    dilation: [usize; 2],
    bias: bool,
    groups: usize,
}

fn random_conv_case(rng: &mut ChaCha8Rng) -> ConvCase {
    loop {
        let kernel = [rng.random_range(1..=5), rng.random_range(1..=5)];
        let padding = match rng.random_range(0..3) {
            0 => PaddingConfig2d::Valid,
            1 => PaddingConfig2d::Same,
            _ => PaddingConfig2d::Explicit(
                rng.random_range(0..3),
                rng.random_range(0..3),
                rng.random_range(0..3),
                rng.random_range(0..3),
            ),
        };
        let case = ConvCase {
            x: [rng.random_range(1..=5), rng.random_range(1..=6), rng.random_range(1..=13), rng.random_range(1..=13)],
            c_out: rng.random_range(1..=7),
            kernel,
            stride: [rng.random_range(1..=3), rng.random_range(1..=3)],
            padding,
            dilation: [rng.random_range(1..=2), rng.random_range(1..=2)],
            bias: rng.random_bool(0.7),
            groups: 1,
        };
        // Grouped (and depthwise) convolutions in about a third of the cases.
        let c_in = case.x[1];
        let divisors: Vec<usize> = (2..=c_in).filter(|g| c_in.is_multiple_of(*g)).collect();
        let case = match divisors.is_empty() || rng.random_bool(0.6) {
            true => case,
            false => {
                let groups = divisors[rng.random_range(0..divisors.len())];
                ConvCase { groups, c_out: groups * rng.random_range(1..=2), ..case }
            }
        };
        // burn's "same" padding is defined for stride 1 and no dilation only.
        if case.padding == PaddingConfig2d::Same && (case.stride != [1, 1] || case.dilation != [1, 1]) {
            continue;
        }
        let conv = Conv2dConfig::new([case.x[1], case.c_out], case.kernel).with_groups(case.groups);
        let options = conv_options(
            &conv
                .with_stride(case.stride)
                .with_padding(case.padding.clone())
                .with_dilation(case.dilation)
                .init(&Device::flex()),
            case.x[2],
            case.x[3],
        );
        let w = [case.c_out, case.x[1] / case.groups, kernel[0], kernel[1]];
        if ConvGeometry::new(case.x, w, options.stride, options.padding, options.dilation, case.groups).is_some() {
            return case;
        }
    }
}

/// Output, input, weight and bias gradients of `sum(out · probe)`.
fn conv_run(case: &ConvCase, hwnas: bool, seed: u64) -> [Vec<f32>; 4] {
    let device = TrainBackend::Flex.device().autodiff();
    let conv = crate::train::trainer::init_seeded(seed, &device, || {
        Conv2dConfig::new([case.x[1], case.c_out], case.kernel)
            .with_stride(case.stride)
            .with_padding(case.padding.clone())
            .with_dilation(case.dilation)
            .with_groups(case.groups)
            .with_bias(case.bias)
            .init(&device)
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = case.x.iter().product();
    let x_vals: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x = Tensor::<4>::from_data(TensorData::new(x_vals, case.x), &device).require_grad();
    let out = if hwnas { conv2d_hwnas(&conv, x.clone()) } else { conv.forward(x.clone()) };
    let probe_vals: Vec<f32> = (0..out.dims().iter().product::<usize>()).map(|_| rng.random_range(-1.0..1.0)).collect();
    let probe = Tensor::<4>::from_data(TensorData::new(probe_vals, out.dims()), &device);
    let grads = (out.clone() * probe).sum().backward();
    let dx = x.grad(&grads).map(to_vec).unwrap_or_default();
    let dw = conv.weight.grad(&grads).map(to_vec).unwrap_or_default();
    let db = conv.bias.as_ref().and_then(|b| b.grad(&grads)).map(to_vec).unwrap_or_default();
    [to_vec(out), dx, dw, db]
}

#[test]
fn conv2d_matches_burn_values_and_gradients_on_random_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    for i in 0..60 {
        let case = random_conv_case(&mut rng);
        // The same seed gives the same weights, input and probe on both paths.
        let want = conv_run(&case, false, 100 + i);
        let got = conv_run(&case, true, 100 + i);
        for (name, g, w) in [
            ("output", &got[0], &want[0]),
            ("dx", &got[1], &want[1]),
            ("dw", &got[2], &want[2]),
            ("db", &got[3], &want[3]),
        ] {
            let err = rel_err(g, w);
            assert!(err <= TOL, "case {i} {case:?}: {name} differs by {err:e} (> {TOL:e})");
        }
    }
}

#[test]
fn depthwise_conv2d_matches_burn() {
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([4, 4], [3, 3]).with_groups(4).with_padding(PaddingConfig2d::Same).init(&device);
    let x = Tensor::<4>::random([2, 4, 6, 6], Distribution::Uniform(-1.0, 1.0), &device);
    let err = rel_err(&to_vec(conv2d_hwnas(&conv, x.clone())), &to_vec(conv.forward(x)));
    assert!(err <= TOL, "{err}");
}

/// Output, running statistics and gradients (input, gamma, beta) of
/// `sum(bn(x) · probe)` after one training forward.
fn bn_run(shape: [usize; 4], hwnas: bool, seed: u64) -> [Vec<f32>; 6] {
    let device = Device::flex().autodiff();
    let mut bn = BatchNormConfig::new(shape[1]).init(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let gamma: Vec<f32> = (0..shape[1]).map(|_| rng.random_range(0.5..1.5)).collect();
    let beta: Vec<f32> = (0..shape[1]).map(|_| rng.random_range(-0.5..0.5)).collect();
    bn.gamma = burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(gamma, [shape[1]]), &device));
    bn.beta = burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(beta, [shape[1]]), &device));
    let n: usize = shape.iter().product();
    let x_vals: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0..3.0)).collect();
    let probe_vals: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x = Tensor::<4>::from_data(TensorData::new(x_vals, shape), &device).require_grad();
    let probe = Tensor::<4>::from_data(TensorData::new(probe_vals, shape), &device);
    let out = if hwnas { batch_norm_hwnas(&bn, x.clone()) } else { bn.forward(x.clone()) };
    let grads = (out.clone() * probe).sum().backward();
    [
        to_vec(out),
        to_vec(bn.running_mean.value()),
        to_vec(bn.running_var.value()),
        to_vec(x.grad(&grads).expect("dx")),
        to_vec(bn.gamma.grad(&grads).expect("dgamma")),
        to_vec(bn.beta.grad(&grads).expect("dbeta")),
    ]
}

#[test]
fn batch_norm_matches_burn_values_statistics_and_gradients_on_random_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for i in 0..25 {
        let shape =
            [rng.random_range(1..=6), rng.random_range(1..=9), rng.random_range(1..=11), rng.random_range(1..=11)];
        if shape[0] * shape[2] * shape[3] < 2 {
            continue; // a single value per channel has no variance to normalise by
        }
        let want = bn_run(shape, false, 300 + i);
        let got = bn_run(shape, true, 300 + i);
        for (k, name) in ["output", "running mean", "running var", "dx", "dgamma", "dbeta"].iter().enumerate() {
            let err = rel_err(&got[k], &want[k]);
            assert!(err <= TOL, "case {i} {shape:?}: {name} differs by {err:e} (> {TOL:e})");
        }
    }
}

#[test]
fn batch_norm_in_inference_is_burns() {
    let device = Device::flex();
    let bn = BatchNormConfig::new(3).init(&device);
    let x = Tensor::<4>::random([2, 3, 4, 4], Distribution::Uniform(-1.0, 1.0), &device);
    assert_eq!(to_vec(batch_norm_hwnas(&bn, x.clone())), to_vec(bn.forward(x)));
}

#[test]
fn kernel_path_is_per_thread_and_restored() {
    assert_eq!(kernel_path(), default_kernel_path());
    with_kernel_path(KernelPath::Burn, || {
        assert_eq!(kernel_path(), KernelPath::Burn);
        with_kernel_path(KernelPath::Hwnas, || assert_eq!(kernel_path(), KernelPath::Hwnas));
        assert_eq!(kernel_path(), KernelPath::Burn);
        std::thread::spawn(|| assert_eq!(kernel_path(), default_kernel_path())).join().expect("thread");
    });
    assert_eq!(kernel_path(), default_kernel_path());
    assert_eq!("burn".parse::<KernelPath>().expect("parse"), KernelPath::Burn);
    let err = "fast".parse::<KernelPath>().expect_err("unknown").to_string();
    assert!(err.contains("hwnas") && err.contains("burn"), "{err}");
}

#[test]
fn the_ndarray_backend_runs_burns_operations_through_the_extension() {
    #[allow(deprecated)]
    let device = Device::ndarray().autodiff();
    let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
    let x = Tensor::<4>::random([2, 2, 5, 5], Distribution::Uniform(-1.0, 1.0), &device);
    let err = rel_err(&to_vec(conv2d_hwnas(&conv, x.clone())), &to_vec(conv.forward(x)));
    assert!(err <= TOL, "{err}");
    let _ = conv.num_params();
}

#[test]
fn avg_pool2d_matches_burn_values_and_gradients_on_random_shapes() {
    use burn::nn::pool::AvgPool2dConfig;
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let mut checked = 0;
    while checked < 30 {
        let kernel = [rng.random_range(1..=4), rng.random_range(1..=4)];
        let padding = [rng.random_range(0..=kernel[0] / 2), rng.random_range(0..=kernel[1] / 2)];
        let stride = [rng.random_range(1..=3), rng.random_range(1..=3)];
        let shape =
            [rng.random_range(1..=3), rng.random_range(1..=4), rng.random_range(1..=12), rng.random_range(1..=12)];
        let cip = rng.random_bool(0.5);
        if PoolGeometry::new(1, [shape[2], shape[3]], kernel, stride, padding, cip).is_none() {
            continue;
        }
        checked += 1;
        let pool = AvgPool2dConfig::new(kernel)
            .with_strides(stride)
            .with_padding(PaddingConfig2d::Explicit(padding[0], padding[1], padding[0], padding[1]))
            .with_count_include_pad(cip)
            .init();
        let n: usize = shape.iter().product();
        let x_vals: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let run = |hwnas: bool| {
            let device = Device::flex().autodiff();
            let x = Tensor::<4>::from_data(TensorData::new(x_vals.clone(), shape), &device).require_grad();
            let out = if hwnas { avg_pool2d_hwnas(&pool, x.clone()) } else { pool.forward(x.clone()) };
            let probe_n: usize = out.dims().iter().product();
            let probe: Vec<f32> = (0..probe_n).map(|i| ((i * 31 % 17) as f32) / 8.0 - 1.0).collect();
            let probe = Tensor::<4>::from_data(TensorData::new(probe, out.dims()), &device);
            let grads = (out.clone() * probe).sum().backward();
            (to_vec(out), to_vec(x.grad(&grads).expect("dx")))
        };
        let (want, got) = (run(false), run(true));
        let (e_out, e_dx) = (rel_err(&got.0, &want.0), rel_err(&got.1, &want.1));
        assert!(
            e_out <= TOL && e_dx <= TOL,
            "{shape:?} k{kernel:?} s{stride:?} p{padding:?} cip {cip}: {e_out:e} {e_dx:e}"
        );
    }
}

#[test]
#[should_panic(expected = "the input has 1 channels, the convolution takes 3")]
fn a_convolution_given_the_wrong_channels_panics_as_burns_does() {
    let device = Device::flex();
    let conv = Conv2dConfig::new([3, 4], [3, 3]).init(&device);
    let _ = conv2d_hwnas(&conv, Tensor::<4>::zeros([1, 1, 5, 5], &device));
}

#[test]
#[should_panic(expected = "the layer has 3 channels")]
fn a_batch_norm_given_the_wrong_channels_panics_as_burns_does() {
    let device = Device::flex().autodiff();
    let bn = BatchNormConfig::new(3).init(&device);
    let _ = batch_norm_hwnas(&bn, Tensor::<4>::zeros([2, 2, 5, 5], &device));
}
