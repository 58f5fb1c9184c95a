//! Policy-gradient search: REINFORCE controllers (Williams 1992) as in
//! NASNet / ENAS (an autoregressive LSTM) and TuNAS (independent categorical
//! distributions), and its multi-agent form (one agent per group of decisions,
//! a shared reward), over any space with the `decisions` capability.
//!
//! - [`policy`]: the two policies, in burn.
//! - [`reward`]: Pareto rank, hypervolume contribution, MnasNet's scalarised
//!   reward with a soft or hard target.
//! - [`baseline`]: the moving-average baseline and advantage scale.
//! - [`controller`]: the ask/tell strategy ([`PolicyGradient`]).
//! - [`settings`]: the `reinforce` and `marl` components.

pub mod baseline;
pub mod controller;
pub mod policy;
pub mod reward;
pub mod settings;

pub use controller::{PolicyGradient, PolicySnapshot, UpdateRecord};
pub use reward::{LimitMode, Reward, RewardConfig};
pub use settings::{BaselineKind, ControllerConfig, Grouping, MarlConfig, PolicyKind, ReinforceConfig};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capability;
    use crate::metric::{Metric, Objective, Problem};
    use crate::space::SearchSpace;
    use crate::strategy::RandomSearch;
    use crate::testing::*;

    fn categorical() -> ControllerConfig {
        ControllerConfig::default()
    }

    fn lstm() -> ControllerConfig {
        ControllerConfig { policy: PolicyKind::Lstm, ..ControllerConfig::default() }
    }

    fn make(config: ControllerConfig, kind: &'static str, problem: &Problem) -> PolicyGradient<ToyArch> {
        let reward = config.reward.resolve(problem).expect("resolves");
        PolicyGradient::new(kind, config, reward, &ToySpace, None, true).expect("builds")
    }

    #[test]
    fn reinforce_and_marl_meet_the_strategy_contract() {
        crate::testing::check_strategy(ReinforceConfig::default(), 40);
        crate::testing::check_strategy(ReinforceConfig(lstm()), 40);
        crate::testing::check_strategy(MarlConfig::default(), 40);
        let critic = ControllerConfig { baseline: BaselineKind::Critic, ..categorical() };
        crate::testing::check_strategy(
            MarlConfig(ControllerConfig { grouping: Some(Grouping::Decision), ..critic }),
            40,
        );
        assert_eq!(
            <ReinforceConfig as crate::StrategySettings>::needs(&ReinforceConfig::default()),
            vec![Capability::Decisions]
        );
    }

    #[test]
    fn settings_are_checked_with_field_names() {
        let bad = ControllerConfig { learning_rate: Some(0.0), ..ControllerConfig::default() };
        assert!(bad.validate("reinforce").expect_err("lr").to_string().contains("learning_rate"));
        ControllerConfig::default().validate("marl").expect("marl defaults to the space's groups");
        let single = ControllerConfig { grouping: Some(Grouping::Single), ..ControllerConfig::default() };
        let err = single.validate("marl").expect_err("single marl").to_string();
        assert!(err.contains("grouping"), "{err}");
        let c: ReinforceConfig =
            serde_json::from_str(r#"{"policy": "lstm", "reward": {"kind": "mnas", "mode": "hard"}}"#).expect("parses");
        assert_eq!(c.0.policy, PolicyKind::Lstm);
        assert_eq!(c.0.learning_rate(), 0.01);
        assert!(matches!(c.0.reward, RewardConfig::Mnas { mode: LimitMode::Hard, .. }));
        assert!(serde_json::from_str::<ReinforceConfig>(r#"{"polcy": "lstm"}"#).is_err());
        assert!(serde_json::from_str::<ReinforceConfig>(r#"{"reward": {"kind": "rank", "w": 1}}"#).is_err());
    }

    #[test]
    fn agents_follow_the_grouping_and_explicit_groups_are_checked() {
        let p = toy_problem();
        assert_eq!(make(ControllerConfig::default(), "reinforce", &p).agents(), vec![("all".into(), vec![0, 1, 2, 3])]);
        let space = ControllerConfig { grouping: Some(Grouping::Space), ..ControllerConfig::default() };
        assert_eq!(make(space, "marl", &p).agents(), vec![("front".into(), vec![0, 1]), ("back".into(), vec![2, 3])]);
        let each = ControllerConfig { grouping: Some(Grouping::Decision), ..ControllerConfig::default() };
        assert_eq!(make(each, "marl", &p).agents().len(), 4);
        let explicit =
            ControllerConfig { groups: vec![vec!["back".into(), "front".into()]], ..ControllerConfig::default() };
        assert_eq!(make(explicit, "marl", &p).agents(), vec![("back+front".into(), vec![0, 1, 2, 3])]);
        let reward = RewardConfig::Rank {}.resolve(&p).expect("ok");
        for groups in [vec![vec!["front".to_string()]], vec![vec!["front".into(), "middle".into()]]] {
            let c = ControllerConfig { groups, ..ControllerConfig::default() };
            let err = PolicyGradient::<ToyArch>::new("marl", c, reward.clone(), &ToySpace, None, true)
                .expect_err("bad groups")
                .to_string();
            assert!(err.contains("strategy.groups"), "{err}");
        }
    }

    #[test]
    fn the_policy_learns_a_single_objective_optimum() {
        // Accuracy only: the controller should concentrate on the best toy
        // architecture, so its last updates' mean reward beats the first's.
        let problem = Problem::new(vec![Objective::natural(Metric::Accuracy)], vec![]);
        for config in [categorical(), lstm()] {
            let mut s = make(config.clone(), "reinforce", &problem);
            let trials = run_toy(&ToySpace, &ToyEval::new(), &problem, &mut s, 200, 3);
            let h = s.history();
            let early = h[..3].iter().map(|u| u.reward_mean).sum::<f64>() / 3.0;
            let late = h[h.len() - 3..].iter().map(|u| u.reward_mean).sum::<f64>() / 3.0;
            assert!(late > early + 0.2, "{:?}: reward {early:.3} -> {late:.3}", config.policy);
            let best = trials.iter().filter_map(|t| t.metrics.get(&Metric::Accuracy)).fold(0.0f64, |a, &b| a.max(b));
            let optimum =
                ToySpace.enumerate().expect("enumerates").map(|a| toy_objectives(&a).0).fold(0.0f64, f64::max);
            assert_eq!(best, optimum, "{:?}", config.policy);
            // Later batches repeat good architectures: repeats are rewarded, not re-evaluated.
            assert!(h.iter().map(|u| u.repeats).sum::<usize>() > 0);
        }
    }

    #[test]
    fn beats_random_search_on_the_toy_front() {
        let problem = toy_problem();
        let random = mean_hv_ratio(RandomSearch::<ToyArch>::default, &problem, 100, 10);
        let rl = mean_hv_ratio(|| make(categorical(), "reinforce", &problem), &problem, 100, 10);
        let lstm = mean_hv_ratio(|| make(lstm(), "reinforce", &problem), &problem, 100, 10);
        eprintln!("toy HV ratio at 100 evals: random {random:.4}, reinforce categorical {rl:.4}, lstm {lstm:.4}");
        assert!(rl >= random + 0.01, "categorical {rl:.4} vs random {random:.4}");
        assert!(lstm >= random + 0.01, "lstm {lstm:.4} vs random {random:.4}");
    }

    #[test]
    fn failed_trials_get_the_worst_reward_and_do_not_stop_the_controller() {
        let problem = toy_problem();
        let mut s = make(categorical(), "reinforce", &problem);
        let trials = run_toy(&ToySpace, &ToyEval::with_failures(), &problem, &mut s, 120, 5);
        assert_eq!(trials.len(), 120);
        assert!(s.history().iter().map(|u| u.failed).sum::<usize>() > 0);
        assert!(s.history().iter().all(|u| u.reward_mean.is_finite() && u.entropies.iter().all(|e| e.is_finite())));
    }
}
