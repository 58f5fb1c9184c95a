//! The built-in registry: every space, strategy, evaluator, cost model and
//! dataset `hwnas` knows, declared once (see `nas_core::registry` and the recipes
//! in ARCHITECTURE.md). Adding a component is one line here plus its own file.

use nas_core::registry::{DatasetEntry, Registry};
use nas_core::train::loaders;
use std::path::{Path, PathBuf};

/// The folder holding the shipped data (`HWNAS_DATA_DIR` overrides it).
pub fn data_dir() -> PathBuf {
    std::env::var_os("HWNAS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("data"))
}

/// The shipped NAS-Bench-201 table.
pub fn builtin_nb201_table() -> PathBuf {
    data_dir().join("nb201").join("nb201_cifar_accuracy_and_latency.csv.gz")
}

fn need(path: Option<&Path>) -> nas_core::Result<&Path> {
    path.ok_or_else(|| nas_core::NasError::Setting { field: "path".into(), message: "missing".into() })
}

/// The datasets of the `train` evaluator.
pub const DATASETS: [DatasetEntry; 5] = [
    DatasetEntry {
        name: "mnist10k",
        description: "10,000 MNIST digits, 28x28 grey (shipped)",
        needs_path: false,
        load: |_, dir| loaders::load_builtin("mnist10k", dir),
    },
    DatasetEntry {
        name: "digits",
        description: "1,797 UCI handwritten digits, 8x8 grey (shipped)",
        needs_path: false,
        load: |_, dir| loaders::load_builtin("digits", dir),
    },
    DatasetEntry {
        name: "mnist_idx",
        description: "MNIST in its idx format (`path` = folder of the idx files)",
        needs_path: true,
        load: |p, _| loaders::load_mnist(need(p)?, true),
    },
    DatasetEntry {
        name: "cifar10",
        description: "CIFAR-10 binary batches (`path` = folder of data_batch_*.bin)",
        needs_path: true,
        load: |p, _| loaders::load_cifar10(need(p)?, true),
    },
    DatasetEntry {
        name: "image_folder",
        description: "PNG/JPEG images in one folder per class (`path` = the root)",
        needs_path: true,
        load: |p, _| loaders::load_image_folder(need(p)?, loaders::ImageFolderOptions::default()),
    },
];

/// Every built-in component.
pub fn builtin() -> Registry {
    let mut r = Registry::new();
    // Spaces.
    r.add_space::<search_spaces::Nb201Config>();
    r.add_space::<search_spaces::DartsConfig>();
    r.add_space::<search_spaces::plain_cnn::PlainCnnConfig>();
    r.add_composite_space::<search_spaces::codesign::CoDesignConfig>();
    // Strategies.
    r.add_strategy::<nas_core::strategy::RandomSearchConfig>();
    r.add_strategy::<nas_core::strategy::RegularizedEvolutionConfig>();
    r.add_strategy::<nas_core::strategy::Nsga2Config>();
    r.add_strategy::<nas_core::strategy::LocalSearchConfig>();
    r.add_strategy::<predictors::strategy::BananasConfig>();
    r.add_strategy::<predictors::strategy::LinasConfig>();
    r.add_strategy::<nas_core::strategy::rl::ReinforceConfig>();
    r.add_strategy::<nas_core::strategy::rl::MarlConfig>();
    r.add_strategy::<search_spaces::plain_cnn::eas::EasSettings>();
    r.add_strategy::<search_spaces::codesign::SuccessiveSettings>();
    r.add_strategy::<nas_core::differentiable::strategy::DartsSettings>();
    r.add_strategy::<nas_core::differentiable::strategy::PcDartsSettings>();
    r.add_strategy::<nas_core::differentiable::strategy::GdasSettings>();
    r.add_strategy::<nas_core::differentiable::strategy::ProxylessSettings>();
    // Evaluators and cost models.
    r.add_evaluator::<nas_core::table_settings::TableSettings>();
    r.add_evaluator::<nas_core::train::evaluator::TrainSettings>();
    r.add_evaluator::<nas_core::train::zero_cost_evaluator::ZeroCostSettings>();
    r.add_cost_model::<nas_core::AnalyticalSettings>();
    r.add_evaluator::<latency_lut::LutSettings>();
    r.add_evaluator::<latency_lut::MeasuredSettings>();
    r.add_cost_model::<latency_lut::EnergySettings>();
    r.add_cost_model::<latency_lut::SystolicConfig>();
    r.add_evaluator::<latency_lut::CoDesignSettings>();
    r.add_evaluator::<nas_core::table_settings::DeviceSettings>();
    r.add_evaluator::<predictors::evaluator::PredictorSettings>();
    // Datasets.
    for d in DATASETS {
        r.add_dataset(d);
    }
    r
}
