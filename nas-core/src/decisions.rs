//! Architectures as sequences of categorical decisions: the view policy-gradient
//! controllers (REINFORCE, multi-agent RL) search in.
//!
//! A space with the `decisions` capability lists its decisions in a fixed order
//! ([`Decisions::decisions`]: a name, the option labels and the group the
//! decision belongs to), builds an architecture from one index per decision
//! ([`Decisions::arch_from_decisions`]) and gives the indices of an architecture
//! back ([`Decisions::decisions_of`]). Several index sequences may give the same
//! architecture (e.g. the two inputs of a DARTS node in either order); a
//! sequence may also be refused (`Err`) when the space has rules the decisions
//! cannot express, and controllers treat such a sample as a failed one.
//!
//! Groups are the natural split of the decisions among agents: a cell or stage
//! of the network, or network vs hardware parameters in a joint space.

use crate::error::{NasError, Result};
use crate::space::SearchSpace;
use serde::{Deserialize, Serialize};

/// One categorical decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What is decided (`edge 2<-0`, `normal node 1 input a`, ...).
    pub name: String,
    /// The label of each option (at least one).
    pub options: Vec<String>,
    /// The group (cell, stage, network or hardware part) it belongs to.
    pub group: String,
}

impl Decision {
    /// A decision named `name` with `options`, in `group`.
    pub fn new(name: impl Into<String>, options: Vec<String>, group: impl Into<String>) -> Self {
        Decision { name: name.into(), options, group: group.into() }
    }

    /// Number of options.
    pub fn arity(&self) -> usize {
        self.options.len()
    }
}

/// Spaces whose architectures are sequences of categorical decisions (see the
/// module docs).
pub trait Decisions: SearchSpace {
    /// The decisions, in the order a controller takes them.
    fn decisions(&self) -> Vec<Decision>;

    /// The architecture of one option index per decision; `Err`
    /// ([`NasError::InvalidArchitecture`]) when the indices are out of range or
    /// break a rule of the space.
    fn arch_from_decisions(&self, choices: &[usize]) -> Result<Self::Arch>;

    /// One option index per decision that gives `arch` back.
    fn decisions_of(&self, arch: &Self::Arch) -> Vec<usize>;
}

/// Checks `choices` against `decisions` (one in-range index per decision);
/// `space` names the space in the error.
pub fn check_choices(space: &str, decisions: &[Decision], choices: &[usize]) -> Result<()> {
    let bad = |reason: String| NasError::InvalidArchitecture {
        space: space.to_string(),
        notation: format!("{choices:?}"),
        reason,
    };
    if choices.len() != decisions.len() {
        return Err(bad(format!("{} decisions expected, {} given", decisions.len(), choices.len())));
    }
    for (d, &c) in decisions.iter().zip(choices) {
        if c >= d.arity() {
            return Err(bad(format!("decision `{}` has {} options, index {c} given", d.name, d.arity())));
        }
    }
    Ok(())
}

/// The groups of `decisions` in order of first appearance: each group's name
/// and the indices of its decisions.
pub fn groups_of(decisions: &[Decision]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, d) in decisions.iter().enumerate() {
        match out.iter_mut().find(|(g, _)| *g == d.group) {
            Some((_, idx)) => idx.push(i),
            None => out.push((d.group.clone(), vec![i])),
        }
    }
    out
}

/// Option labels `names` as owned strings.
pub fn labels(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_first_appearance_order_and_checks_name_the_decision() {
        let d = vec![
            Decision::new("a", labels(&["x", "y"]), "g2"),
            Decision::new("b", labels(&["x"]), "g1"),
            Decision::new("c", labels(&["x", "y", "z"]), "g2"),
        ];
        assert_eq!(groups_of(&d), vec![("g2".to_string(), vec![0, 2]), ("g1".to_string(), vec![1])]);
        check_choices("s", &d, &[1, 0, 2]).expect("valid");
        let err = check_choices("s", &d, &[1, 0, 3]).expect_err("out of range").to_string();
        assert!(err.contains("decision `c` has 3 options"), "{err}");
        assert!(check_choices("s", &d, &[1, 0]).is_err());
    }
}
