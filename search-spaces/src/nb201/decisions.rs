//! The NB201 cell as six categorical decisions (one op per edge), grouped by
//! the node the edge enters (`node1`, `node2`, `node3`).

use super::genotype::{EDGES, NUM_EDGES};
use super::{Nb201Arch, Nb201Op, Nb201Space};
use nas_core::decisions::{Decision, Decisions, check_choices, labels};

impl Decisions for Nb201Space {
    fn decisions(&self) -> Vec<Decision> {
        EDGES
            .iter()
            .map(|&(to, from)| {
                Decision::new(format!("edge {to}<-{from}"), labels(&Nb201Op::NAMES), format!("node{to}"))
            })
            .collect()
    }

    fn arch_from_decisions(&self, choices: &[usize]) -> nas_core::Result<Nb201Arch> {
        check_choices("nb201", &self.decisions(), choices)?;
        let mut ops = [Nb201Op::None; NUM_EDGES];
        for (slot, &c) in ops.iter_mut().zip(choices) {
            *slot = Nb201Op::ALL[c];
        }
        Ok(Nb201Arch::new(ops))
    }

    fn decisions_of(&self, arch: &Nb201Arch) -> Vec<usize> {
        arch.ops().iter().map(|o| o.index()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nb201::Nb201Config;
    use nas_core::SearchSpace;

    #[test]
    fn every_architecture_round_trips_through_its_decisions() {
        let space = Nb201Space::new(Nb201Config::default()).expect("space");
        let d = space.decisions();
        assert_eq!(d.len(), 6);
        assert_eq!(d[2].name, "edge 2<-1");
        assert_eq!(d[2].group, "node2");
        assert!(d.iter().all(|x| x.arity() == 5));
        let mut n = 0;
        for a in space.enumerate().expect("enumerates") {
            assert_eq!(space.arch_from_decisions(&space.decisions_of(&a)).expect("valid"), a);
            n += 1;
        }
        assert_eq!(n, 15625);
        assert!(space.arch_from_decisions(&[0, 0, 0, 0, 0, 5]).is_err());
        assert!(space.arch_from_decisions(&[0, 0, 0]).is_err());
    }
}
