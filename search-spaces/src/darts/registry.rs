//! The DARTS space as a registry component: its capabilities and its config
//! section (`[space] kind = "darts"`, the fields of [`DartsConfig`]).

use super::{DartsConfig, DartsSpace};
use nas_core::registry::{InputShape, SpaceSettings};

nas_core::capabilities!(DartsSpace: mutate, crossover, neighbors, encode, multi_encode, network_spec, train, supernet, decisions);

impl SpaceSettings for DartsConfig {
    const NAME: &'static str = "darts";
    const DESCRIPTION: &'static str = "DARTS normal + reduction cells in the DARTS evaluation network";
    type Space = DartsSpace;

    fn with_input(&self, shape: InputShape) -> Self {
        DartsConfig { input_chw: shape.chw, num_classes: shape.classes, ..self.clone() }
    }

    fn build(&self) -> nas_core::Result<DartsSpace> {
        DartsSpace::new(self.clone())
    }
}
