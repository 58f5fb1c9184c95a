//! The `plain_cnn` space component.

use super::config::PlainCnnConfig;
use super::space::PlainCnnSpace;
use nas_core::registry::{InputShape, SpaceSettings};

nas_core::capabilities!(PlainCnnSpace: mutate, network_spec, train);

impl SpaceSettings for PlainCnnConfig {
    const NAME: &'static str = "plain_cnn";
    const DESCRIPTION: &'static str =
        "plain CNNs (conv-BN-ReLU stacks with pools, no skips) grown by Net2Wider / Net2Deeper (EAS)";
    type Space = PlainCnnSpace;

    fn with_input(&self, shape: InputShape) -> Self {
        PlainCnnConfig { input_chw: shape.chw, num_classes: shape.classes, ..self.clone() }
    }

    fn build(&self) -> nas_core::Result<PlainCnnSpace> {
        PlainCnnSpace::new(self.clone())
    }
}
