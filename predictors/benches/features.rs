//! Feature extraction per architecture (NAS-Bench-201): each encoding, the
//! layer features (lowering to a `NetworkSpec` included), and one prediction of a
//! saved latency predictor used as an evaluator (features + ridge).

use criterion::{Criterion, criterion_group, criterion_main};
use nas_core::{EncodingKind, EvalContext, Evaluator, Metric, SearchSpace};
use predictors::{FeatureConfig, Fit, FreeFeature, ModelConfig, PredictorEvaluator};
use rand::SeedableRng;
use search_spaces::nb201::Nb201Space;
use std::hint::black_box;
use std::sync::Arc;

fn features(c: &mut Criterion) {
    let space = Arc::new(Nb201Space::default());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let archs: Vec<_> = (0..100).map(|_| space.sample(&mut rng)).collect();
    let mut g = c.benchmark_group("features_100_cells");
    for encoding in [EncodingKind::OneHot, EncodingKind::Path, EncodingKind::PathStats] {
        let fc = FeatureConfig { encoding, free: vec![], cheap: vec![] };
        g.bench_function(encoding.name(), |b| {
            b.iter(|| archs.iter().map(|a| fc.features(space.as_ref(), a).expect("features").len()).sum::<usize>())
        });
    }
    for (name, free) in [("params_flops", FreeFeature::SCALAR.to_vec()), ("layers", vec![FreeFeature::Layers])] {
        let fc = FeatureConfig { encoding: EncodingKind::None, free, cheap: vec![] };
        g.bench_function(name, |b| {
            b.iter(|| archs.iter().map(|a| fc.features(space.as_ref(), a).expect("features").len()).sum::<usize>())
        });
    }
    let fc = FeatureConfig { encoding: EncodingKind::None, free: vec![FreeFeature::Layers], cheap: vec![] };
    let x: Vec<Vec<f64>> = archs.iter().map(|a| fc.features(space.as_ref(), a).expect("features")).collect();
    let y: Vec<f64> = x.iter().map(|r| r.iter().sum()).collect();
    let model = ModelConfig::by_name("ridge").expect("ridge").fit(&x, &y, 0).expect("fit");
    let eval = PredictorEvaluator::new(space.clone(), model, fc, Metric::LatencyMs, "bench");
    g.bench_function("predictor_evaluator_layers_ridge", |b| {
        b.iter(|| {
            archs
                .iter()
                .map(|a| eval.evaluate(a, &EvalContext::with_seed(0)).expect("evaluate")[&Metric::LatencyMs])
                .sum::<f64>()
        })
    });
    g.finish();
    black_box(());
}

#[allow(missing_docs)]
mod harness {
    use super::*;
    criterion_group!(benches, features);
}

use harness::benches;
criterion_main!(benches);
