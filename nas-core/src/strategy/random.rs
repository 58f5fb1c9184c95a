//! Uniform random search without repeats.
//!
//! Small spaces (an exact [`SpaceSize`] of at most
//! [`RandomSearchConfig::max_enumerate`] architectures that the space can
//! [`enumerate`](SearchSpace::enumerate)) are drawn *without replacement* from a
//! lazily shuffled enumeration (an incremental Fisher–Yates shuffle), so a budget
//! equal to the space size evaluates the whole space. Larger spaces use rejection
//! sampling: each proposal redraws up to [`RandomSearchConfig::max_attempts`] times
//! until it finds an architecture not proposed (or told) before, and the ask
//! returns fewer proposals when that fails.

use super::{Evaluated, SearchStrategy, check_at_least, invalid};
use crate::arch::{ArchId, Architecture};
use crate::space::{SearchSpace, SpaceSize};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Settings of [`RandomSearch`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomSearchConfig {
    /// Largest exact space size that is enumerated and drawn without replacement
    /// (default 1,000,000; at most 100,000,000).
    pub max_enumerate: u64,
    /// Draws per proposal in rejection-sampling mode before giving up (default 1,000).
    pub max_attempts: usize,
}

impl Default for RandomSearchConfig {
    fn default() -> Self {
        RandomSearchConfig { max_enumerate: 1_000_000, max_attempts: 1_000 }
    }
}

impl RandomSearchConfig {
    /// Largest accepted [`max_enumerate`](Self::max_enumerate).
    pub const MAX_ENUMERATE_LIMIT: u64 = 100_000_000;

    /// Checks the values.
    pub fn validate(&self) -> crate::Result<()> {
        if self.max_enumerate > Self::MAX_ENUMERATE_LIMIT {
            return Err(invalid(
                "max_enumerate",
                self.max_enumerate,
                &format!("an integer <= {}", Self::MAX_ENUMERATE_LIMIT),
            ));
        }
        check_at_least("max_attempts", self.max_attempts, 1)
    }

    /// Builds the strategy (see [`RandomSearch::new`]).
    pub fn init<A: Architecture>(self) -> RandomSearch<A> {
        RandomSearch::new(self)
    }
}

/// How proposals are drawn; decided on the first ask.
#[derive(Debug)]
enum Mode<A> {
    Undecided,
    /// Incremental Fisher–Yates over the enumeration: `pool[..cursor]` is drawn.
    Enumerated {
        pool: Vec<A>,
        cursor: usize,
    },
    Rejection,
}

/// Uniform random search that never proposes an architecture twice (see the
/// module docs).
#[derive(Debug)]
pub struct RandomSearch<A: Architecture> {
    config: RandomSearchConfig,
    mode: Mode<A>,
    /// Ids proposed or told so far.
    seen: BTreeSet<ArchId>,
}

impl<A: Architecture> RandomSearch<A> {
    /// A random search with `config`. Values are not validated here (call
    /// [`RandomSearchConfig::validate`]); `max_attempts` 0 is read as 1.
    pub fn new(config: RandomSearchConfig) -> Self {
        RandomSearch { config, mode: Mode::Undecided, seen: BTreeSet::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &RandomSearchConfig {
        &self.config
    }
}

impl<A: Architecture> Default for RandomSearch<A> {
    fn default() -> Self {
        Self::new(RandomSearchConfig::default())
    }
}

impl<A: Architecture, S: SearchSpace<Arch = A>> SearchStrategy<S> for RandomSearch<A> {
    fn name(&self) -> &'static str {
        "random"
    }

    fn ask(&mut self, space: &S, n: usize, rng: &mut dyn RngCore) -> Vec<A> {
        if matches!(self.mode, Mode::Undecided) {
            let small = matches!(space.size(), SpaceSize::Exact(k) if k <= u128::from(self.config.max_enumerate));
            self.mode = match space.enumerate().filter(|_| small) {
                Some(all) => Mode::Enumerated { pool: all.collect(), cursor: 0 },
                None => Mode::Rejection,
            };
        }
        let mut out = Vec::with_capacity(n);
        match &mut self.mode {
            Mode::Enumerated { pool, cursor } => {
                while out.len() < n && *cursor < pool.len() {
                    let j = rng.random_range(*cursor..pool.len());
                    pool.swap(*cursor, j);
                    let a = &pool[*cursor];
                    *cursor += 1;
                    if self.seen.insert(a.id()) {
                        out.push(a.clone());
                    }
                }
            }
            Mode::Rejection | Mode::Undecided => {
                let attempts = self.config.max_attempts.max(1);
                while out.len() < n {
                    match super::sample_novel(space, rng, &self.seen, attempts) {
                        Some(a) => {
                            self.seen.insert(a.id());
                            out.push(a);
                        }
                        None => break,
                    }
                }
            }
        }
        out
    }

    fn tell(&mut self, _space: &S, results: &[Evaluated<A>]) {
        for r in results {
            self.seen.insert(r.id);
        }
    }
}

impl crate::registry::StrategySettings for RandomSearchConfig {
    const NAME: &'static str = "random";
    const DESCRIPTION: &'static str = "uniform random search without repeats (enumerates small spaces)";
    fn validate(&self) -> crate::Result<()> {
        RandomSearchConfig::validate(self)
    }
    fn needs(&self) -> Vec<crate::Capability> {
        vec![]
    }
    fn build(
        &self,
        _ctx: &crate::registry::StrategyContext<'_>,
    ) -> crate::Result<Box<dyn SearchStrategy<crate::DynSpace>>> {
        Ok(Box::new(self.clone().init::<crate::AnyArch>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    fn strategy() -> RandomSearch<ToyArch> {
        RandomSearchConfig::default().init()
    }

    #[test]
    fn full_budget_evaluates_the_whole_space_once_and_finds_the_true_front() {
        let space = ToySpace;
        let eval = ToyEval::new();
        let problem = toy_problem();
        let trials = run_toy(&space, &eval, &problem, &mut strategy(), 625, 3);
        assert_eq!(trials.len(), 625);
        assert_eq!(eval.calls(), 625);
        let ids: BTreeSet<_> = trials.iter().map(|t| t.arch_id).collect();
        assert_eq!(ids.len(), 625);
        assert_eq!(trials_front(&trials, &problem), true_front(&space, &problem));
        let constrained = toy_constrained_problem();
        let trials = run_toy(&space, &ToyEval::new(), &constrained, &mut strategy(), 625, 4);
        assert_eq!(trials_front(&trials, &constrained), true_front(&space, &constrained));
        // Nothing is left: one more ask proposes nothing.
        let mut s = strategy();
        let again = run_toy(&space, &eval, &problem, &mut s, 700, 3);
        assert_eq!(again.len(), 625);
    }

    #[test]
    fn rejection_mode_never_repeats_and_returns_fewer_when_exhausted() {
        let space = ToySpace;
        let config = RandomSearchConfig { max_enumerate: 10, max_attempts: 200 };
        config.validate().expect("valid");
        let mut s: RandomSearch<ToyArch> = config.init();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut ids = BTreeSet::new();
        let mut total = 0;
        for _ in 0..200 {
            let batch = SearchStrategy::<ToySpace>::ask(&mut s, &space, 8, &mut rng);
            total += batch.len();
            for a in &batch {
                assert!(ids.insert(a.id()), "repeated {}", a.notation());
            }
            if batch.is_empty() {
                break;
            }
        }
        assert_eq!(total, ids.len());
        assert!(total > 550 && total <= 625, "{total}");
    }

    #[test]
    fn config_validation_and_serde() {
        let c: RandomSearchConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(c, RandomSearchConfig::default());
        assert!(serde_json::from_str::<RandomSearchConfig>("{\"bogus\": 1}").is_err());
        let bad = RandomSearchConfig { max_attempts: 0, ..Default::default() };
        assert!(matches!(bad.validate(), Err(crate::NasError::InvalidValue { field, .. }) if field == "max_attempts"));
        let bad = RandomSearchConfig { max_enumerate: u64::MAX, ..Default::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn common_contract() {
        check_contract(strategy, 60);
    }

    #[test]
    fn tolerates_failures_truncation_and_foreign_results() {
        check_robustness(strategy);
    }
}
