//! The shared strategy contract (nas-core's `testing` feature) for BANANAS and
//! LINAS: built through the registry on a toy space with exactly the
//! capabilities they declare, they never re-propose, use the full budget, are
//! deterministic per seed and thread count, resume exactly and survive
//! truncated batches, failures and foreign results.

use super::{BananasConfig, LinasConfig};
use crate::features::{FeatureConfig, FreeFeature};
use crate::model::ModelConfig;
use nas_core::EncodingKind;
use nas_core::testing::check_strategy;

/// One-hot features (the toy space's encoding) plus params and FLOPs, so the
/// layer description is used too; a ridge model keeps the test fast.
fn features() -> FeatureConfig {
    FeatureConfig { encoding: EncodingKind::OneHot, free: FreeFeature::SCALAR.to_vec(), cheap: Vec::new() }
}

#[test]
fn bananas_passes_the_strategy_contract() {
    let c = BananasConfig {
        n_init: 8,
        features: features(),
        model: ModelConfig::Ridge(Default::default()),
        ..Default::default()
    };
    check_strategy(c, 40);
}

#[test]
fn linas_passes_the_strategy_contract() {
    let c = LinasConfig {
        n_init: 8,
        population_size: 16,
        generations: 5,
        features: features(),
        model: ModelConfig::Ridge(Default::default()),
        ..Default::default()
    };
    check_strategy(c, 40);
}

#[test]
fn linas_without_free_features_needs_no_layer_description() {
    let f = FeatureConfig { free: Vec::new(), ..features() };
    let c = LinasConfig { n_init: 8, population_size: 16, generations: 5, features: f, ..Default::default() };
    assert_eq!(
        nas_core::StrategySettings::needs(&c),
        vec![nas_core::Capability::Mutate, nas_core::Capability::Crossover, nas_core::Capability::MultiEncode]
    );
    check_strategy(c, 40);
}
