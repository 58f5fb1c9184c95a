//! The NAS-Bench-201 space as a registry component: its capabilities and its
//! config section (`[space] kind = "nb201"`, the fields of [`Nb201Config`]).

use super::{Nb201Config, Nb201Space};
use nas_core::registry::{InputShape, SpaceSettings};

nas_core::capabilities!(Nb201Space: mutate, crossover, neighbors, encode, multi_encode, network_spec, train, supernet, decisions);

impl SpaceSettings for Nb201Config {
    const NAME: &'static str = "nb201";
    const DESCRIPTION: &'static str = "NAS-Bench-201 cells (15,625) in the benchmark's macro network";
    type Space = Nb201Space;

    fn with_input(&self, shape: InputShape) -> Self {
        Nb201Config { input_chw: shape.chw, num_classes: shape.classes, ..self.clone() }
    }

    fn build(&self) -> nas_core::Result<Nb201Space> {
        Nb201Space::new(self.clone())
    }
}
